"""Re-authentication before sensitive actions: connecting a channel, changing roles, an emergency post.

    from civicpost.reauth import require_recent_auth

    @login_required
    @require_recent_auth
    def token_create(request): ...

    @login_required
    @require_POST
    @require_recent_auth(load=_managed_channel)  # _managed_channel(request, channel_id) -> Channel
    def channel_disconnect(request, channel): ...

Who may is decided before the password is asked: `check(request, *url_args, **url_kwargs)` (the view then
gets the URL's arguments) or `load(...)` (the view gets what it returns instead: the object it acts on) runs
first, and its Http404 / PermissionDenied reaches the user as it is. Someone who may not never sees a password
prompt, which would tell them the object exists and ask for a password for nothing. `allow_get=True` leaves
a GET (reading the form) without the password; the check still runs.

A sign-in or re-authentication within ACCOUNT_REAUTHENTICATION_TIMEOUT (5 minutes) is enough; otherwise
allauth's `reauthentication_required` asks for the password (or the authenticator app / security key) and
then replays the request, a POST included: it resolves the path again and calls the URL's view, this gate
with its check included, so the check runs again after the password. A session signed in through SSO whose
account has no password and no authenticator is sent back through its identity provider, asked to sign in
again (OpenID Connect `prompt=login`).
Off when settings.CIVICPOST_REQUIRE_REAUTH is False (the test settings; tests that check it switch it on).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, overload

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


View = Callable[..., HttpResponse]


def _recent_auth_gate(
    view_func: View, *, check: Callable[..., object] | None, load: Callable[..., object] | None, allow_get: bool
) -> View:
    guarded = reauthentication_required(view_func)

    @wraps(view_func)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if load is not None:
            args, kwargs = (load(request, *args, **kwargs),), {}
        elif check is not None:
            check(request, *args, **kwargs)
        if (
            (allow_get and request.method == "GET")
            or not getattr(settings, "CIVICPOST_REQUIRE_REAUTH", True)
            or recently_authenticated(request)
        ):
            return view_func(request, *args, **kwargs)
        if request.user.is_authenticated and not _has_own_credentials(request.user):
            response = _sso_reauthentication(request)
            if response is not None:
                return response
        return guarded(request, *args, **kwargs)

    return wrapper


@overload
def require_recent_auth(view_func: View, /) -> View: ...


@overload
def require_recent_auth(
    *, check: Callable[..., object] | None = None, load: Callable[..., object] | None = None, allow_get: bool = False
) -> Callable[[View], View]: ...


def require_recent_auth(
    view_func: View | None = None,
    /,
    *,
    check: Callable[..., object] | None = None,
    load: Callable[..., object] | None = None,
    allow_get: bool = False,
) -> View | Callable[[View], View]:
    """View decorator: the user must have proved who they are in the last few minutes. With `check` or
    `load`, who may is decided first (see the module's docstring)."""
    if check is not None and load is not None:
        raise TypeError("require_recent_auth takes check or load, not both.")

    def decorate(view: View) -> View:
        return _recent_auth_gate(view, check=check, load=load, allow_get=allow_get)

    return decorate if view_func is None else decorate(view_func)
