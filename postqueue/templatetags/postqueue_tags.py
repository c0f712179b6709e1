"""The queue panel on the post page: "add to queue" and "repeat in free slots" (scheduler's post page includes
it by name, so scheduler imports nothing of this app)."""

from __future__ import annotations

from typing import Any

from django import template

from departments.selectors import user_can_edit_for
from postqueue.forms import EvergreenForm
from postqueue.selectors import evergreen_for_post
from postqueue.services import QUEUEABLE_STATUSES
from scheduler.models import PostStatus

register = template.Library()


@register.inclusion_tag("postqueue/_post_panel.html", takes_context=True)
def postqueue_post_panel(context: dict[str, Any], post: Any) -> dict[str, Any]:
    user = context["request"].user
    may_edit = user_can_edit_for(user=user, department_id=post.department_id)
    evergreen = evergreen_for_post(post=post) if may_edit else None
    can_repeat = may_edit and post.status in (PostStatus.APPROVED, PostStatus.PUBLISHED)
    initial = {"min_interval_days": evergreen.min_interval_days} if evergreen else None
    return {
        "post": post,
        "can_queue": may_edit and post.status in QUEUEABLE_STATUSES,
        "can_repeat": can_repeat,
        "evergreen": evergreen,
        "form": EvergreenForm(initial=initial) if can_repeat else None,
        "csrf_token": context.get("csrf_token"),
        "viewer_zone": context.get("viewer_zone"),
    }
