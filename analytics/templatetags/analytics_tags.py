"""The "Figures" link of the main navigation: the city's figures for communications managers and viewers,
the first department's for its members."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from departments.selectors import memberships_for_user, user_sees_every_department

register = template.Library()


@register.inclusion_tag("analytics/_nav.html", takes_context=True)
def analytics_nav(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"url": ""}
    if user_sees_every_department(user=user):
        url = reverse("analytics:city_figures")
    else:
        memberships = memberships_for_user(user=user)
        url = reverse("analytics:department_figures", args=[memberships[0].department_id]) if memberships else ""
    view_name = getattr(getattr(request, "resolver_match", None), "view_name", "")
    return {"url": url, "current": view_name in ("analytics:city_figures", "analytics:department_figures")}
