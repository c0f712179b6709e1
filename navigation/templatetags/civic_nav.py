"""`{% main_navigation %}`: the header's navigation grouped by task (navigation.groups)."""

from __future__ import annotations

from typing import Any

from django import template

from navigation.groups import main_navigation as navigation_groups

register = template.Library()


@register.inclusion_tag("includes/main_nav.html", takes_context=True)
def main_navigation(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"groups": []}
    approval_count = context.get("nav_approval_count")
    if callable(approval_count):  # scheduler.context_processors.navigation counts on demand
        approval_count = approval_count()
    groups = navigation_groups(
        request,
        can_post=bool(context.get("nav_can_post")),
        can_approve=bool(context.get("nav_can_approve")),
        approval_count=approval_count,
    )
    current = getattr(getattr(request, "resolver_match", None), "view_name", "")
    return {
        "groups": groups,
        "dashboard_current": current == "scheduler:dashboard",
        "security_current": current == "accounts:security",
    }
