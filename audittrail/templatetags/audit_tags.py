"""The audit trail's link in the main navigation, for those who may read it."""

from __future__ import annotations

from typing import Any

from django import template

from audittrail.selectors import user_may_open_audit_trail

register = template.Library()


@register.inclusion_tag("audit/_nav.html", takes_context=True)
def audit_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    return {
        "show": user_may_open_audit_trail(user=user),
        "current": getattr(getattr(request, "resolver_match", None), "view_name", ""),
    }
