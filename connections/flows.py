"""The platform side of connecting a channel: where to send the admin, how to turn what comes back into
credentials. No database writes here except through the services it is handed; no secret is logged.

Each flow ends in a ConnectedAccount, which services.channel_connect stores on a Channel (credentials
encrypted by the model field, never in allauth's SocialToken).

- X: OAuth 2.0 authorization code with PKCE (S256), confidential client when a secret is set.
  https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
- Facebook Page and Instagram (Facebook Login): the login dialog with PKCE, code exchange, long-lived user
  token, then the admin picks the Page (scheduler.adapters.facebook.adapter / instagram helpers).
- Threads: the Threads authorization window, code exchange, 60-day token (scheduler.adapters.threads.adapter).
- Mastodon: one OAuth app per instance (connections.models.MastodonApp), instance URL through the SSRF guard.
- Bluesky: handle + app password, verified by logging in; the session string is stored so publishing
  never has to log in again (createSession is limited to 30 per 5 minutes).
- Webhook: URL (SSRF guard) + a generated Standard Webhooks secret, shown once.
- City website feed: nothing to connect.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from scheduler.adapters.base import AdapterError
from scheduler.adapters.http import http_session, platform_base_url
from scheduler.adapters.ssrf import UnsafeURL, check_public_url

OAUTH_PLATFORMS = ("x", "facebook", "instagram", "threads", "mastodon")
FORM_PLATFORMS = ("bluesky", "webhook", "feed")
CONNECTABLE_PLATFORMS = OAUTH_PLATFORMS + FORM_PLATFORMS
# Meta's flows end on a page where the admin picks which Page (or its Instagram account) to connect.
META_PLATFORMS = ("facebook", "instagram")

# X: https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code
X_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
X_API_HOST = "https://api.x.com"
X_TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 - a URL path  # nosec B105  # a URL path, not a secret
X_ME_PATH = "/2/users/me"
# offline.access for a refresh token; media.write for v2 media upload (platforms.md §2.2).
X_SCOPES = ("tweet.read", "tweet.write", "users.read", "offline.access", "media.write")


class ConnectError(Exception):
    """Connecting did not work; `message` says why in plain words for the admin (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ConnectedAccount:
    """What a finished flow hands to services.channel_connect."""

    platform: str
    display_name: str
    account_handle: str = ""
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    token_expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class OAuthStart:
    """Where to send the admin, and what the callback will need (kept in the session, never logged)."""

    authorize_url: str
    pending: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class PageChoice:
    """A Facebook Page (or the Instagram account linked to it) the admin may pick."""

    id: str
    name: str
    detail: str = ""
    usable: bool = True


def redirect_uri(platform: str) -> str:
    """Returns the callback URL registered with the platform: SITE_URL + the callback path."""
    return f"{settings.SITE_URL}{reverse('connections:callback', kwargs={'platform': platform})}"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def pkce_pair() -> tuple[str, str]:
    """Returns (code_verifier, code_challenge) for PKCE with S256 (RFC 7636 §4.1-4.2)."""
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _require_settings(*names: str, product: str) -> None:
    if not all(getattr(settings, name, "") for name in names):
        raise ConnectError(
            _("CivicPost's %(product)s app is not set up yet (%(names)s). Ask the city's IT team.")
            % {"product": product, "names": ", ".join(names)}
        )


def _expires_at_from(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- X ---------------------------------------------------------------------------------------------------


def _x_auth() -> tuple[str, str] | None:
    client_id = getattr(settings, "CIVICPOST_X_CLIENT_ID", "")
    client_secret = getattr(settings, "CIVICPOST_X_CLIENT_SECRET", "")
    # Confidential clients authenticate with HTTP Basic; public (PKCE-only) clients only send client_id.
    return (client_id, client_secret) if client_secret else None


def x_start(*, state: str) -> OAuthStart:
    _require_settings("CIVICPOST_X_CLIENT_ID", product="X")
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": settings.CIVICPOST_X_CLIENT_ID,
        "redirect_uri": redirect_uri("x"),
        "scope": " ".join(X_SCOPES),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return OAuthStart(f"{X_AUTHORIZE_URL}?{urlencode(query)}", {"code_verifier": verifier})


def x_finish(*, code: str, pending: dict[str, Any]) -> ConnectedAccount:
    """Exchanges the code (POST /2/oauth2/token) and reads the account (GET /2/users/me)."""
    _require_settings("CIVICPOST_X_CLIENT_ID", product="X")
    base = platform_base_url("x", X_API_HOST)
    session = http_session()
    try:
        response = session.post(
            f"{base}{X_TOKEN_PATH}",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri("x"),
                "code_verifier": pending.get("code_verifier", ""),
                "client_id": settings.CIVICPOST_X_CLIENT_ID,
            },
            auth=_x_auth(),
        )
        if response.status_code != 200:
            raise ConnectError(
                _("X did not accept the sign-in (HTTP %(status)s). Please try again.")
                % {"status": response.status_code}
            )
        token = response.json()
        me = session.get(f"{base}{X_ME_PATH}", headers={"Authorization": f"Bearer {token['access_token']}"})
        if me.status_code != 200:
            raise ConnectError(
                _("X signed you in but would not show the account (HTTP %(status)s).") % {"status": me.status_code}
            )
        user = me.json()["data"]
    except (requests.RequestException, ValueError, KeyError) as error:
        raise ConnectError(
            _("Could not complete the sign-in with X (%(error)s).") % {"error": type(error).__name__}
        ) from error
    expires_at = None
    if token.get("expires_in"):
        expires_at = timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))
    credentials = {
        "access_token": token["access_token"],
        "refresh_token": token.get("refresh_token", ""),
        "expires_at": expires_at.astimezone(dt.UTC).isoformat() if expires_at else "",
        "scopes": token.get("scope", " ".join(X_SCOPES)),
        "x_user_id": str(user["id"]),
        "username": user.get("username", ""),
    }
    return ConnectedAccount(
        platform="x",
        display_name=f"@{user.get('username')}" if user.get("username") else str(user["id"]),
        account_handle=user.get("username", ""),
        credentials=credentials,
        options={"x_user_id": str(user["id"]), "username": user.get("username", "")},
        token_expires_at=expires_at,
    )


# --- Facebook Page and Instagram (Meta) ----------------------------------------------------------------------


def meta_start(*, platform: str, state: str) -> OAuthStart:
    from scheduler.adapters.facebook import adapter as facebook
    from scheduler.adapters.instagram import adapter as instagram

    _require_settings("CIVICPOST_META_APP_ID", "CIVICPOST_META_APP_SECRET", product="Meta (Facebook)")
    verifier, challenge = pkce_pair()
    scopes = instagram.INSTAGRAM_SCOPES if platform == "instagram" else facebook.FACEBOOK_SCOPES
    url = facebook.authorization_url(
        redirect_uri=redirect_uri(platform), state=state, code_challenge=challenge, scopes=scopes
    )
    return OAuthStart(url, {"code_verifier": verifier})


@dataclass(frozen=True)
class MetaUserToken:
    """A long-lived (about 60 days) Facebook user token, only used to list the admin's Pages."""

    access_token: str = field(repr=False)
    expires_at: dt.datetime | None = None


def meta_finish(*, platform: str, code: str, pending: dict[str, Any]) -> MetaUserToken:
    from scheduler.adapters.facebook import adapter as facebook

    _require_settings("CIVICPOST_META_APP_ID", "CIVICPOST_META_APP_SECRET", product="Meta (Facebook)")
    try:
        short = facebook.exchange_code(
            code=code, redirect_uri=redirect_uri(platform), code_verifier=pending.get("code_verifier", "")
        )
        long_lived = facebook.exchange_long_lived_user_token(user_token=short.access_token)
    except AdapterError as error:
        raise ConnectError(
            _("Facebook did not accept the sign-in: %(message)s") % {"message": error.message}
        ) from error
    return MetaUserToken(access_token=long_lived.access_token, expires_at=long_lived.expires_at)


def meta_choices(*, platform: str, user_token: str) -> list[PageChoice]:
    """Returns the Pages (Facebook) or the Instagram accounts linked to them (Instagram) to pick from."""
    from scheduler.adapters.facebook import adapter as facebook
    from scheduler.adapters.instagram import adapter as instagram

    try:
        pages = facebook.list_pages(user_token=user_token)
    except AdapterError as error:
        raise ConnectError(_("Facebook would not list your Pages: %(message)s") % {"message": error.message}) from error
    choices = []
    for page in pages:
        if platform == "facebook":
            detail = "" if page.can_publish else _("You cannot publish on this Page (ask for the Create content task).")
            choices.append(PageChoice(id=page.id, name=page.name, detail=detail, usable=page.can_publish))
            continue
        try:
            account = instagram.instagram_account_for_page(page_id=page.id, page_token=page.access_token)
        except AdapterError:
            account = None
        if account is None:
            choices.append(
                PageChoice(
                    id=page.id, name=page.name, detail=_("No Instagram professional account is linked."), usable=False
                )
            )
        else:
            choices.append(
                PageChoice(
                    id=page.id, name=f"@{account.username}" if account.username else account.id, detail=page.name
                )
            )
    return choices


def meta_account(*, platform: str, user_token: str, page_id: str) -> ConnectedAccount:
    """Returns the account for the Page the admin picked (looked up again, never taken from the form)."""
    from scheduler.adapters.facebook import adapter as facebook
    from scheduler.adapters.instagram import adapter as instagram

    try:
        pages = {page.id: page for page in facebook.list_pages(user_token=user_token)}
    except AdapterError as error:
        raise ConnectError(_("Facebook would not list your Pages: %(message)s") % {"message": error.message}) from error
    page = pages.get(str(page_id))
    if page is None:
        raise ConnectError(_("That Page is not one you manage. Pick one from the list."))
    if platform == "facebook":
        if not page.can_publish:
            raise ConnectError(_("You cannot publish on this Page (ask for the Create content task)."))
        fields = page.channel_fields()
        # Page tokens read with a long-lived user token do not expire.
        return ConnectedAccount(
            platform="facebook",
            display_name=fields["display_name"],
            credentials=fields["credentials"],
            options=fields["options"],
        )
    try:
        account = instagram.instagram_account_for_page(page_id=page.id, page_token=page.access_token)
    except AdapterError as error:
        raise ConnectError(_("Instagram did not answer: %(message)s") % {"message": error.message}) from error
    if account is None:
        raise ConnectError(_("No Instagram professional account is linked to this Page."))
    fields = account.channel_fields(access_token=page.access_token, page_id=page.id)
    return ConnectedAccount(
        platform="instagram",
        display_name=fields["display_name"],
        account_handle=fields["account_handle"],
        credentials=fields["credentials"],
        options=fields["options"],
    )


# --- Threads ---------------------------------------------------------------------------------------------


def threads_start(*, state: str) -> OAuthStart:
    from scheduler.adapters.threads import adapter as threads

    _require_settings("CIVICPOST_THREADS_APP_ID", "CIVICPOST_THREADS_APP_SECRET", product="Threads")
    return OAuthStart(threads.authorization_url(redirect_uri=redirect_uri("threads"), state=state))


def threads_finish(*, code: str, pending: dict[str, Any]) -> ConnectedAccount:
    from scheduler.adapters.threads import adapter as threads

    _require_settings("CIVICPOST_THREADS_APP_ID", "CIVICPOST_THREADS_APP_SECRET", product="Threads")
    try:
        short = threads.exchange_code(code=code, redirect_uri=redirect_uri("threads"))
        token = threads.exchange_long_lived_token(short_lived_token=short.access_token)
        profile = threads.profile(access_token=token.access_token)
    except AdapterError as error:
        raise ConnectError(_("Threads did not accept the sign-in: %(message)s") % {"message": error.message}) from error
    fields = threads.threads_channel_fields(token=token, account=profile)
    return ConnectedAccount(
        platform="threads",
        display_name=fields["display_name"],
        account_handle=fields["account_handle"],
        credentials=fields["credentials"],
        options=fields["options"],
        token_expires_at=fields["token_expires_at"],
    )


# --- Mastodon --------------------------------------------------------------------------------------------


def check_instance_url(url: str) -> str:
    """Returns the normalised instance URL (scheme + host only) if CivicPost may connect to it.
    Raises ConnectError with the SSRF guard's plain message otherwise."""
    try:
        checked = check_public_url(url)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    parts = urlsplit(checked)
    return f"{parts.scheme}://{parts.netloc}"


def mastodon_start(*, state: str, instance_url: str, app_for: Callable[..., Any]) -> OAuthStart:
    """`app_for(instance_url=, redirect_uri=)` returns the (cached or new) MastodonApp of the instance."""
    from scheduler.adapters.mastodon import adapter as mastodon

    instance_url = check_instance_url(instance_url)
    app = app_for(instance_url=instance_url, redirect_uri=redirect_uri("mastodon"))
    try:
        url = mastodon.authorization_url(
            instance_url, app.client_id, app.client_secret, redirect_uri("mastodon"), state
        )
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    except Exception as error:  # noqa: BLE001 - any library failure: tell the admin, log nothing secret
        raise ConnectError(
            _("%(instance)s did not answer like a Mastodon server (%(error)s).")
            % {"instance": instance_url, "error": type(error).__name__}
        ) from error
    return OAuthStart(url, {"instance_url": instance_url, "app_id": app.pk})


def mastodon_register(*, instance_url: str, redirect_uri: str) -> tuple[str, str]:
    """Registers CivicPost on an instance. Returns (client_id, client_secret); raises ConnectError."""
    from scheduler.adapters.mastodon import adapter as mastodon

    try:
        return mastodon.register_app(instance_url, redirect_uri)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    except AdapterError as error:
        raise ConnectError(error.message) from error


def mastodon_finish(*, code: str, pending: dict[str, Any], app: Any) -> ConnectedAccount:
    from scheduler.adapters.mastodon import adapter as mastodon

    instance_url = pending["instance_url"]
    try:
        credentials = mastodon.exchange_code(
            instance_url, app.client_id, app.client_secret, code, redirect_uri("mastodon")
        )
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    except AdapterError as error:
        raise ConnectError(error.message) from error
    host = urlsplit(instance_url).hostname or instance_url
    acct = str(credentials.get("acct", ""))
    handle = acct if "@" in acct else f"{acct}@{host}"
    return ConnectedAccount(
        platform="mastodon",
        display_name=f"@{handle}",
        account_handle=handle,
        credentials=credentials,
        options={"instance_url": instance_url, "account_id": str(credentials.get("account_id", ""))},
    )


# --- Bluesky ---------------------------------------------------------------------------------------------


def bluesky_connect(*, handle: str, app_password: str, service_url: str = "") -> ConnectedAccount:
    """Logs in once with the app password to prove it works, and keeps the session for publishing
    (scheduler.adapters.bluesky.adapter.connect_with_app_password). Raises ConnectError."""
    from scheduler.adapters.bluesky import adapter as bluesky

    pds_url = check_instance_url(service_url) if service_url.strip() else None
    try:
        credentials = bluesky.connect_with_app_password(handle, app_password, pds_url)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    except AdapterError as error:
        raise ConnectError(error.message) from error
    options: dict[str, Any] = {"did": credentials["did"]}
    if pds_url:
        options["pds_url"] = pds_url
    return ConnectedAccount(
        platform="bluesky",
        display_name=f"@{credentials['handle']}",
        account_handle=credentials["handle"],
        credentials=credentials,
        options=options,
    )


# --- Webhook and the city feed -------------------------------------------------------------------------------


def webhook_account(*, url: str, payload_format: str, display_name: str) -> tuple[ConnectedAccount, str]:
    """Returns the account and its new signing secret (to show once). Raises ConnectError for a URL the
    SSRF guard refuses."""
    from scheduler.adapters.webhook import adapter as webhook

    try:
        checked = check_public_url(url)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    secret = webhook.generate_secret()
    host = urlsplit(checked).hostname or ""
    account = ConnectedAccount(
        platform="webhook",
        display_name=display_name or host,
        account_handle=host,
        # The URL goes with the secrets: Slack, Discord and Teams URLs carry their own secret in the path.
        credentials={"url": checked, "secret": secret},
        options={"format": payload_format, "host": host},
    )
    return account, secret


def feed_account(*, display_name: str) -> ConnectedAccount:
    return ConnectedAccount(platform="feed", display_name=display_name)


def account_identity(platform: str, options: dict[str, Any]) -> str:
    """Returns what identifies the remote account (Page id, user id, ...), or "" where any target may
    replace the old one (webhook, feed). Reconnecting must not silently move a channel to another account."""
    keys = {
        "facebook": ("page_id",),
        "instagram": ("ig_user_id",),
        "threads": ("threads_user_id",),
        "x": ("x_user_id",),
        "mastodon": ("instance_url", "account_id"),
        "bluesky": ("did",),
    }.get(platform, ())
    values = [str(options.get(key) or "") for key in keys]
    return "|".join(values) if any(values) else ""
