"""Account & security: two-step verification, sessions, password. Thin views over allauth's pages."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.mfa import user_has_mfa, user_requires_mfa
from civicpost.forms import safe_next_path
from civicpost.http import AuthenticatedHttpRequest


def _safe_next(request: AuthenticatedHttpRequest) -> str:
    """The `next` path to go back to, or "" (only ever a path on this site: see safe_next_path)."""
    return safe_next_path(request, request.GET.get("next"))


@login_required
@require_GET
def security(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What protects the account, and links to change it."""
    user = request.user
    types = set(Authenticator.objects.filter(user_id=user.pk).values_list("type", flat=True))
    sessions = UserSession.objects.purge_and_list(user)
    context = {
        "has_totp": Authenticator.Type.TOTP in types,
        "has_webauthn": Authenticator.Type.WEBAUTHN in types,
        "has_recovery_codes": Authenticator.Type.RECOVERY_CODES in types,
        "mfa_required": user_requires_mfa(user=user),
        "session_count": len(sessions),
        "other_session_count": sum(1 for session in sessions if not session.is_current()),
        "has_password": user.has_usable_password(),
        "emails": EmailAddress.objects.filter(user=user).order_by("-primary", "email"),
    }
    return render(request, "accounts/security.html", context)


@login_required
@require_GET
def mfa_required(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where MFARequiredMiddleware sends approvers and admins who have no second step yet."""
    next_url = _safe_next(request)
    if user_has_mfa(user=request.user):
        return HttpResponseRedirect(next_url or reverse("scheduler:dashboard"))
    return render(request, "accounts/mfa_required.html", {"next": next_url})
