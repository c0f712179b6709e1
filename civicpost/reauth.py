"""Re-authentication before sensitive actions: connecting a channel, changing roles, an emergency post.

    from civicpost.reauth import require_recent_auth

    @login_required
    @require_recent_auth
    def connect_platform(request, ...): ...

A sign-in or re-authentication within ACCOUNT_REAUTHENTICATION_TIMEOUT (5 minutes) is enough; otherwise
allauth's `reauthentication_required` asks for the password (or the authenticator app / security key) and
then replays the request, a POST included. A session signed in through SSO whose account has no password and
no authenticator is sent back through its identity provider, asked to sign in again (OpenID Connect
`prompt=login`).
Off when settings.CIVICPOST_REQUIRE_REAUTH is False (the test settings; tests that check it switch it on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account import app_settings as account_settings
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.decorators import reauthentication_required
from allauth.account.internal.flows.login import get_authentication_records
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

# What counts as proving who you are; "socialaccount" is a sign-in through the city's identity provider.
AUTHENTICATION_METHODS = frozenset({"password", "mfa", "socialaccount", "code", "passkey"})
# allauth's re-authentication methods that ask for something the user holds (not an e-mailed code): when
# an SSO account has none of them, its identity provider asks instead.
OWN_CREDENTIAL_METHODS = frozenset({"reauthenticate", "mfa_reauthenticate", "mfa_reauthenticate:webauthn"})


def recently_authenticated(request: HttpRequest, *, within: float | None = None) -> bool:
    """Returns True when this session signed in or re-authenticated within `within` seconds
    (default: ACCOUNT_REAUTHENTICATION_TIMEOUT)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    window = account_settings.REAUTHENTICATION_TIMEOUT if within is None else within
    now = time.time()
    return any(
        record.get("method") in AUTHENTICATION_METHODS and now - float(record.get("at", 0)) < window
        for record in get_authentication_records(request, user)
    )


def _sso_reauthentication(request: HttpRequest) -> HttpResponse | None:
    """For an account without a password or authenticator: its identity provider's sign-in page, forced
    to ask again, coming back to this page. None when the session did not sign in through SSO."""
    records = [r for r in get_authentication_records(request, request.user) if r.get("method") == "socialaccount"]
    if not records:
        return None
    try:
        provider = get_social_adapter().get_provider(request, records[-1]["provider"])
    except (SocialApp.DoesNotExist, KeyError):
        return None
    kwargs: dict[str, str] = {"process": "login", "next": request.get_full_path()}
    if provider.id == "openid_connect":
        kwargs["auth_params"] = "prompt=login"
    return redirect(provider.get_login_url(request, **kwargs))


def _has_own_credentials(user: Any) -> bool:
    """A password, an authenticator app or a security key: what allauth can ask for on its own page."""
    methods = {method["id"] for method in get_account_adapter().get_reauthentication_methods(user)}
    return bool(methods & OWN_CREDENTIAL_METHODS)


def require_recent_auth(view_func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """View decorator: the user must have proved who they are in the last few minutes."""
    guarded = reauthentication_required(view_func)

    @wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(settings, "CIVICPOST_REQUIRE_REAUTH", True) or recently_authenticated(request):
            return view_func(request, *args, **kwargs)
        if request.user.is_authenticated and not _has_own_credentials(request.user):
            response = _sso_reauthentication(request)
            if response is not None:
                return response
        return guarded(request, *args, **kwargs)

    return wrapper
