"""Google OAuth 2.0 for web server apps and Google's JSON error format, shared by the YouTube and Google
Business Profile adapters. Not a platform: it has no adapter and no registry line.

OAuth 2.0 (https://developers.google.com/identity/protocols/oauth2/web-server):
    GET  https://accounts.google.com/o/oauth2/v2/auth ?client_id &redirect_uri &response_type=code &scope
         &state &access_type=offline (a refresh token) &prompt=consent (a refresh token on every reconnect)
         &include_granted_scopes=true &code_challenge &code_challenge_method=S256 (PKCE, supported)
    POST https://oauth2.googleapis.com/token  grant_type=authorization_code, code, redirect_uri, client_id,
         client_secret, code_verifier -> {"access_token", "expires_in" (3599), "refresh_token", "scope",
         "token_type": "Bearer"}
    POST the same with grant_type=refresh_token -> {"access_token", "expires_in", "scope"}; a revoked or
         expired refresh token answers 400 {"error": "invalid_grant"} (-> AuthExpired). Refresh tokens of an
         app left in "Testing" publishing status expire after 7 days: publish the Google Cloud app.

Errors (https://cloud.google.com/apis/design/errors and each API's error page):
    {"error": {"code": 403, "message": "…", "status": "PERMISSION_DENIED",
               "errors": [{"domain": "youtube.quota", "reason": "quotaExceeded", "message": "…"}]}}
    401 UNAUTHENTICATED                   renew the access token once, then AuthExpired
    403 quotaExceeded / dailyLimitExceeded  RateLimited until the quota resets (midnight Pacific Time)
    403 rateLimitExceeded / userRateLimitExceeded, 429 RESOURCE_EXHAUSTED  RateLimited (Retry-After or 60 s)
    403 accessNotConfigured / SERVICE_DISABLED  PublishError(permanent): the API is not enabled or not
                                          granted to CivicPost's Google Cloud project (IT must act)
    other 403 PERMISSION_DENIED           AuthExpired: the person who connected lost access; reconnect
    400 INVALID_ARGUMENT, 404, 409, …     PublishError(permanent)
    5xx                                   OutcomeUnknown for a call that creates something, else temporary
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    OutcomeUnknown,
    PlatformAdapter,
    PublishError,
    RateLimited,
    parse_expires_at,
)
from scheduler.adapters.http import TimeoutSession, http_session, platform_base_url, request_never_sent

AUTHORIZE_URL = "https://accounts.google.com/o/oauth2/v2/auth"
OAUTH_HOST = "https://oauth2.googleapis.com"
TOKEN_PATH = "/token"  # noqa: S105  # nosec B105  # a URL path, not a secret
GOOGLE_SETTINGS = ("CIVICPOST_GOOGLE_CLIENT_ID", "CIVICPOST_GOOGLE_CLIENT_SECRET")
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=2)
DEFAULT_RATE_LIMIT_WAIT = 60.0
PACIFIC = ZoneInfo("America/Los_Angeles")
QUOTA_REASONS = ("quotaExceeded", "dailyLimitExceeded")
RATE_REASONS = ("rateLimitExceeded", "userRateLimitExceeded")
NOT_ENABLED_REASONS = ("accessNotConfigured", "SERVICE_DISABLED", "API_DISABLED")


def seconds_until_quota_reset(now: dt.datetime | None = None) -> float:
    """Seconds until the next midnight Pacific Time, when Google's daily quotas reset."""
    local = (now or timezone.now()).astimezone(PACIFIC)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), tzinfo=PACIFIC)
    return max(60.0, (midnight - local).total_seconds())


def quota_day(now: dt.datetime | None = None) -> str:
    """The Pacific Time date a quota unit counts against."""
    return (now or timezone.now()).astimezone(PACIFIC).date().isoformat()


def authorization_url(*, scopes: tuple[str, ...], redirect_uri: str, state: str, code_challenge: str) -> str:
    query = {
        "client_id": settings.CIVICPOST_GOOGLE_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": " ".join(scopes),
        "state": state,
        "access_type": "offline",
        "prompt": "consent",
        "include_granted_scopes": "true",
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{AUTHORIZE_URL}?{urlencode(query)}"


def token_credentials(token: Mapping[str, Any], *, previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Returns what a channel stores from a token answer (the refresh token is kept when not re-sent)."""
    credentials = dict(previous or {})
    credentials["access_token"] = str(token["access_token"])
    if token.get("expires_in"):
        # Not "expires_at": the channel's token expiry is for tokens a person must renew. Google's hour-long
        # access token is renewed on use with the refresh token, which does not expire.
        credentials["access_expires_at"] = (timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))).isoformat()
    if token.get("refresh_token"):
        credentials["refresh_token"] = str(token["refresh_token"])
    if token.get("scope"):
        credentials["scopes"] = str(token["scope"])
    return credentials


def _token_call(data: dict[str, str], *, session: requests.Session | None = None) -> requests.Response:
    session = session or http_session()
    return session.post(
        f"{platform_base_url('google_oauth', OAUTH_HOST)}{TOKEN_PATH}",
        data={
            **data,
            "client_id": settings.CIVICPOST_GOOGLE_CLIENT_ID,
            "client_secret": settings.CIVICPOST_GOOGLE_CLIENT_SECRET,
        },
    )


def exchange_code(*, code: str, redirect_uri: str, code_verifier: str) -> dict[str, Any]:
    """Returns the credentials for the callback's code. Raises AdapterError."""
    try:
        response = _token_call(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )
    except requests.RequestException as error:
        raise PublishError(f"Could not reach Google ({type(error).__name__}).", permanent=False) from error
    if response.status_code != 200:
        raise PublishError(
            f"Google did not accept the sign-in (HTTP {response.status_code}).", permanent=True, raw=raw_of(response)
        )
    token = response.json()
    if not token.get("refresh_token"):
        raise PublishError(
            "Google gave no refresh token; remove CivicPost's access in the Google account and try again.",
            permanent=True,
        )
    return token_credentials(token)


def raw_of(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    return {"status": response.status_code, "body": body}


def error_parts(response: requests.Response) -> tuple[str, str, list[str]]:
    """Returns (message, status, reasons) of a Google error body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300], "", []
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return str(error or ""), "", []
    reasons = [str(item.get("reason") or "") for item in error.get("errors") or [] if isinstance(item, dict)]
    for detail in error.get("details") or []:
        if isinstance(detail, dict) and detail.get("reason"):
            reasons.append(str(detail["reason"]))
    return str(error.get("message") or ""), str(error.get("status") or ""), reasons


def classify(response: requests.Response, *, label: str, creates: bool) -> AdapterError:
    """Maps a Google API error answer onto the error vocabulary (see the module docstring)."""
    status = response.status_code
    message, state, reasons = error_parts(response)
    raw = raw_of(response)
    if status == 401:
        return AuthExpired(
            f"Google no longer accepts CivicPost's sign-in for this {label} channel; "
            "a department admin must reconnect it.",
            code="google_unauthorized",
            raw=raw,
        )
    if any(reason in QUOTA_REASONS for reason in reasons):
        return RateLimited(
            f"{label}: the daily Google API quota is used up; CivicPost tries again after midnight Pacific Time.",
            retry_after=seconds_until_quota_reset(),
            code="google_quota_exceeded",
            raw=raw,
        )
    if status == 429 or state == "RESOURCE_EXHAUSTED" or any(reason in RATE_REASONS for reason in reasons):
        retry = response.headers.get("Retry-After", "")
        return RateLimited(
            f"{label} asked us to slow down.",
            retry_after=float(retry) if retry.isdigit() else DEFAULT_RATE_LIMIT_WAIT,
            code="google_rate_limited",
            raw=raw,
        )
    if status == 403:
        if any(reason in NOT_ENABLED_REASONS for reason in reasons):
            return PublishError(
                f"The {label} API is not enabled for CivicPost's Google Cloud project, or Google has not granted it "
                f"access; the city's IT team must act. ({message})",
                permanent=True,
                code="google_api_not_enabled",
                raw=raw,
            )
        return AuthExpired(
            f"{label} refused: the person who connected this channel no longer has access to it; "
            f"reconnect. ({message})",
            code="google_forbidden",
            raw=raw,
        )
    if status >= 500:
        if creates:
            return OutcomeUnknown(
                f"{label} answered with a server error ({status}); it may have been applied.", raw=raw
            )
        return PublishError(f"{label} answered with a server error ({status}).", permanent=False, raw=raw)
    return PublishError(
        f"{label} refused the request ({status}): {message}", permanent=True, code=f"google_http_{status}", raw=raw
    )


def connection_error(error: requests.RequestException, *, label: str, creates: bool) -> AdapterError:
    if request_never_sent(error):
        return PublishError(
            f"Could not connect to {label} ({type(error).__name__}); nothing was sent.", permanent=False
        )
    if creates:
        return OutcomeUnknown(f"The connection to {label} broke while sending ({type(error).__name__}).")
    return PublishError(f"The connection to {label} broke ({type(error).__name__}).", permanent=False)


class GoogleAPI:
    """Bearer calls for one channel: renews the access token before it runs out and once after a 401, and
    hands renewed credentials to the adapter (`adapter._renewed_credentials`)."""

    def __init__(self, adapter: PlatformAdapter, *, label: str, session: TimeoutSession | None = None) -> None:
        self.adapter = adapter
        self.label = label
        self.session = session or http_session()

    @property
    def credentials(self) -> dict[str, Any]:
        return self.adapter.account.credentials

    def refresh(self) -> None:
        """Renews the access token. Raises AuthExpired when Google refuses, PublishError when unreachable."""
        refresh_token = str(self.credentials.get("refresh_token") or "")
        if not refresh_token:
            raise AuthExpired(f"No Google refresh token is stored; reconnect the {self.label} channel.")
        try:
            response = _token_call(
                {"grant_type": "refresh_token", "refresh_token": refresh_token}, session=self.session
            )
        except requests.RequestException as error:
            raise PublishError(
                f"Could not reach Google to renew the sign-in ({type(error).__name__}).", permanent=False
            ) from error
        if response.status_code >= 500:
            raise PublishError("Google could not renew the sign-in right now.", permanent=False, raw=raw_of(response))
        if response.status_code != 200:
            # 400 invalid_grant: revoked, expired (7 days for apps in Testing) or the password changed.
            raise AuthExpired(
                f"Google refused to renew the sign-in; a department admin must reconnect the {self.label} channel.",
                code="google_refresh_refused",
                raw=raw_of(response),
            )
        self.adapter._renewed_credentials(token_credentials(response.json(), previous=self.credentials))

    def _refresh_if_expiring(self) -> None:
        expires_at = parse_expires_at(self.credentials.get("access_expires_at"))
        if not self.credentials.get("access_token") or (
            expires_at is not None and expires_at - TOKEN_REFRESH_MARGIN <= timezone.now()
        ):
            self.refresh()

    def request(
        self, method: str, url: str, *, creates: bool = False, ok: tuple[int, ...] = (), **kwargs: Any
    ) -> requests.Response:
        """Sends one call. Returns a 2xx response (or one whose status is in `ok`); raises an AdapterError."""
        self._refresh_if_expiring()
        extra = kwargs.pop("headers", {})
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self.credentials['access_token']}", **extra}
            try:
                response = self.session.request(method, url, headers=headers, **kwargs)
            except requests.RequestException as error:
                raise connection_error(error, label=self.label, creates=creates) from error
            if response.status_code == 401 and attempt == 0:
                self.refresh()  # Google applied nothing on a 401: renewing and repeating is safe.
                continue
            if 200 <= response.status_code < 300 or response.status_code in ok:
                return response
            raise classify(response, label=self.label, creates=creates)
        raise AssertionError("unreachable")  # pragma: no cover


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {"value": json.dumps(body)}
