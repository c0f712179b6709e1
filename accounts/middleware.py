"""Sign-in policy that allauth leaves to the project: MFA set-up before anything else for approvers and
admins, an absolute limit on how long one sign-in lasts (the idle limit is SESSION_COOKIE_AGE), and the
interface language a signed-in person chose."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, resolve_url
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseClientRedirect

from accounts.mfa import signed_in_by_sso, user_has_mfa, user_requires_mfa
from accounts.receivers import SIGNED_IN_AT_SESSION_KEY
from civicpost.session_keys import LANGUAGE_SESSION_KEY
from people.selectors import supported_language, user_language_choice

# Pages a user without MFA may still reach: setting MFA up (allauth asks for the password again
# first), signing out, and the page that explains why.
ALLOWED_URL_NAMES = frozenset(
    {
        "account_logout",
        "account_reauthenticate",
        "account_request_reauthentication_code",
        "account_confirm_reauthentication_code",
    }
)
ALLOWED_URL_PREFIXES = ("mfa_",)
ALLOWED_NAMESPACES = frozenset({"accounts", "monitoring"})


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        # An htmx fragment request would swap the whole page into a fragment: make the browser go.
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _is_api(request: HttpRequest) -> bool:
    """A call to the REST API (/api/v1/…) from the app's own pages: it reads JSON, not a sign-in page. The
    API's documentation page (/api/docs/) is a page like any other."""
    match = request.resolver_match
    return match is not None and "api" in match.namespaces and match.url_name != "docs"


def _mfa_problem(request: HttpRequest, setup_url: str) -> JsonResponse:
    """The API's answer when the session's person must set up MFA first: an RFC 9457 problem (the shape of
    api.problems, written out here: nothing imports the API) naming the page that sets it up."""
    return JsonResponse(
        {
            "type": "urn:civicpost:problem:mfa-required",
            "title": _("Two-step verification is needed."),
            "status": 403,
            "detail": _("Set up two-step verification before using CivicPost, then try again."),
            "mfa_setup_url": request.build_absolute_uri(setup_url),
        },
        status=403,
        content_type="application/problem+json",
    )


def _is_allowed(request: HttpRequest) -> bool:
    match = request.resolver_match
    if match is None:
        return True
    if ALLOWED_NAMESPACES.intersection(match.namespaces):
        return True
    name = match.url_name or ""
    return name in ALLOWED_URL_NAMES or name.startswith(ALLOWED_URL_PREFIXES)


class MFARequiredMiddleware:
    """Sends a signed-in approver, department admin or staff user without an authenticator app or security
    key to the MFA set-up page, whatever they asked for. allauth has no setting that forces enrolment.

    Off when settings.CIVICPOST_REQUIRE_MFA is False (the test settings; a local demo). A session signed in
    through SSO is left to the identity provider's own MFA when settings.CIVICPOST_MFA_TRUST_SSO is True."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        if not getattr(settings, "CIVICPOST_REQUIRE_MFA", True):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or _is_allowed(request):
            return None
        if not user_requires_mfa(user=user) or user_has_mfa(user=user):
            return None
        if getattr(settings, "CIVICPOST_MFA_TRUST_SSO", True) and signed_in_by_sso(request):
            return None
        url = reverse("accounts:mfa_required")
        if _is_api(request):
            return _mfa_problem(request, url)
        if request.method == "GET" and not getattr(request, "htmx", False):
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        return _redirect(request, url)


class SessionLimitMiddleware:
    """Signs a user out when their sign-in is older than settings.CIVICPOST_SESSION_MAX_SECONDS, however
    active they were (0 switches the limit off). The idle limit is Django's SESSION_COOKIE_AGE, renewed on
    every request (SESSION_SAVE_EVERY_REQUEST)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = getattr(settings, "CIVICPOST_SESSION_MAX_SECONDS", 0)
        user = getattr(request, "user", None)
        if limit and user is not None and user.is_authenticated:
            now = int(time.time())
            signed_in_at = request.session.setdefault(SIGNED_IN_AT_SESSION_KEY, now)
            if now - int(signed_in_at) > limit:
                logout(request)
                messages.info(
                    request,
                    _("For your security a sign-in lasts at most %(hours)s hours. Please sign in again.")
                    % {"hours": max(1, round(limit / 3600))},
                )
                login_url = resolve_url(settings.LOGIN_URL)
                if request.method == "GET":
                    login_url = f"{login_url}?{urlencode({'next': request.get_full_path()})}"
                return _redirect(request, login_url)
        return self.get_response(request)


class UserLanguageMiddleware:
    """Shows a signed-in person's pages in the language they chose on their account page; without a choice
    LocaleMiddleware's pick (the language cookie, else the browser's Accept-Language, else English) stands.
    Runs after AuthenticationMiddleware; LocaleMiddleware's response half then sets Content-Language.

    The choice is copied into the session at sign-in (accounts.receivers) so a request costs no query; a
    session from before this existed reads it once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if LANGUAGE_SESSION_KEY not in request.session:
                request.session[LANGUAGE_SESSION_KEY] = user_language_choice(user=user)
            language = supported_language(request.session.get(LANGUAGE_SESSION_KEY))
            if language:
                translation.activate(language)
                request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
