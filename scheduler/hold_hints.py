"""What the shared calendar shows of governance: a "held" hint on each post a crisis hold (or a per-post
hold) keeps from going out. Emergency posts carry `is_emergency` (scheduler.selectors.posts_visible_to)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from scheduler.models import PostHold, PostStatus
from scheduler.selectors import active_crisis_holds
from scheduler.templatetags.civic_time import format_in_zone


def add_hold_hints(entries: Iterable[Any], hint_class: type, zone: zoneinfo.ZoneInfo | None = None) -> None:
    """Appends a hint of kind "hold" to every calendar entry whose approved, non-emergency post is held.
    Two queries (open per-post holds, active crisis holds) whatever the number of entries; none of the
    post ids is sent as a parameter."""
    entries = [
        e for e in entries if e.post.status == PostStatus.APPROVED and not getattr(e.post, "is_emergency", False)
    ]
    if not entries:
        return
    kept = {hold.post_id: hold for hold in PostHold.objects.filter(released_at__isnull=True)}
    holds = active_crisis_holds()
    city_wide = next((h for h in holds if h.city_wide), None)
    by_department = {d.pk: h for h in holds if not h.city_wide for d in h.departments.all()}
    for entry in entries:
        post = entry.post
        if post.pk in kept:
            entry.hints.append(hint_class("hold", _("kept on hold until someone releases it.")))
            continue
        hold = city_wide or by_department.get(post.department_id)
        if hold is not None:
            name = hold.started_by.get_full_name() or hold.started_by.email
            text = _("crisis hold by %(name)s since %(when)s (%(reason)s); it goes out only when the hold ends.") % {
                "name": name,
                "when": format_in_zone(hold.started_at, zone or post.department.zone),
                "reason": hold.reason,
            }
            entry.hints.append(hint_class("hold", text))
