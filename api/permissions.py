"""What a token may do (its scopes). Who may see or change which object is not decided here: the
selectors and rules of the apps below (scheduler.selectors, scheduler.rules, medialibrary.selectors)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.models import ApiToken, TokenScope


def required_scope(request: Request, view: Any) -> str:
    """The scope an action needs: the view's `scopes` {action: scope}, else read for safe methods and
    draft for the rest."""
    action = getattr(view, "action", None) or request.method.lower()
    scopes: dict[str, str] = getattr(view, "scopes", {})
    if action in scopes:
        return scopes[action]
    return TokenScope.READ if request.method in ("GET", "HEAD", "OPTIONS") else TokenScope.DRAFT


class HasTokenScope(BasePermission):
    """A token must carry the scope the action needs (403 otherwise). A signed-in browser session is the
    person themself: scopes do not narrow it."""

    message = _("This token may not do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return True
        scope = required_scope(request, view)
        if token.has_scope(scope):
            return True
        self.message = _("This token does not have the “%(scope)s” scope this needs.") % {"scope": scope}
        return False
