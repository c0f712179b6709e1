"""The archive's link in the main navigation, for the records officer."""

from __future__ import annotations

from typing import Any

from django import template

from archive.rules import can_use_archive

register = template.Library()


@register.inclusion_tag("archive/_nav.html", takes_context=True)
def archive_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    view_name = getattr(getattr(request, "resolver_match", None), "view_name", "") or ""
    return {"show": can_use_archive(user), "current": view_name.startswith("archive:")}
