"""Governance on every page: the crisis-hold banner, and the
panel of the post page (emergency mark, hold, approval steps and who may act)."""

from __future__ import annotations

from typing import Any

from django import template

from departments.selectors import viewer_zone_for_request
from governance import rules
from governance.selectors import emergency_alert_for_post
from scheduler import rules as post_rules
from scheduler.approvals import approval_progress
from scheduler.selectors import active_crisis_holds, hold_messages_for_posts

register = template.Library()


@register.inclusion_tag("governance/_crisis_banner.html", takes_context=True)
def crisis_banner(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"holds": []}
    return {
        "holds": active_crisis_holds(),
        "can_crisis": rules.can_start_crisis_hold(user),
        "viewer_zone": viewer_zone_for_request(request),
    }


@register.inclusion_tag("governance/_post_panel.html", takes_context=True)
def governance_post_panel(context: template.Context, post: Any) -> dict[str, Any]:
    """The post page's governance panel. A fixed number of queries."""
    request = context.get("request")
    user = getattr(request, "user", None)
    progress = approval_progress(post)
    zone = viewer_zone_for_request(request) if request is not None else post.department.zone
    return {
        "post": post,
        "progress": progress,
        "show_steps": post.status in ("submitted", "approved", "published") or len(progress) > 1,
        "multi_step": len(progress) > 1,
        "hold_message": hold_messages_for_posts([post], zone=zone).get(post.pk, ""),
        "alert": emergency_alert_for_post(post) if post_rules.post_is_emergency(post) else None,
        "user": user,
        "viewer_zone": zone,
    }


@register.filter
def is_emergency(post: Any) -> bool:
    return post_rules.post_is_emergency(post)
