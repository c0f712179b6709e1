"""Account & security: two-step verification, sessions, password, interface language. Thin views over
allauth's pages and people's settings."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import LanguageForm
from accounts.mfa import user_has_mfa, user_requires_mfa
from civicpost.fields import safe_next_path
from civicpost.http import AuthenticatedHttpRequest
from civicpost.session_keys import LANGUAGE_SESSION_KEY
from people.selectors import user_language_choice
from people.services import user_language_set


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
        "language_form": LanguageForm(initial={"language": user_language_choice(user=user)}),
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


@login_required
@require_POST
def language(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Stores the interface language the person chose (or "" to follow the browser) and shows it at once."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the languages in the list."))
        return HttpResponseRedirect(reverse("accounts:security"))
    code = form.cleaned_data["language"]
    user_language_set(user=request.user, language=code)
    request.session[LANGUAGE_SESSION_KEY] = code
    # The rest of this request, and the message below, in the new language.
    translation.activate(code or translation.get_language_from_request(request))
    messages.success(request, _("Language saved."))
    response = HttpResponseRedirect(reverse("accounts:security"))
    # After signing out, the sign-in page keeps the same language on this browser.
    if code:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            code,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
    return response
