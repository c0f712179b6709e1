"""Nextdoor for public agencies, through Nextdoor's Publish API (part of "Sharing APIs").

ACCESS: the Publish API is application-gated. A city (or CivicPost's host) applies at
https://developer.nextdoor.com/ ("apply for access"; every application is reviewed by Nextdoor's Partnerships
team), which issues a client id and secret (CIVICPOST_NEXTDOOR_CLIENT_ID / _SECRET). The account that signs
in must be a verified Nextdoor *public agency* account (agency staff), or GET /me/ carries no agency_id and
the connect flow refuses it. Nextdoor's full reference pages sit behind that application; what follows is
built against the shapes found in the public parts of the documentation, marked [docs], and in public
integrations (the UK Department for Transport's create-disruptions-data, which publishes agency posts),
marked [3p]. Verified offline only, against a fake built from these shapes.

Authorization — https://developer.nextdoor.com/reference/sharing-get-authorization-code [docs]
    GET https://www.nextdoor.com/v3/authorize/?scope=...&client_id=...&redirect_uri=...(&state=...)
    scopes: openid (always), post:write (create/delete), post:read (read own posts), profile:read (/me),
    agency.boundary:read ("creating geo-targetted agency posts").
Token — https://developer.nextdoor.com/reference/sharing-get-access-token [docs]
    POST https://auth.nextdoor.com/v2/token, HTTP Basic client_id:client_secret, form
    grant_type=authorization_code&code=...&redirect_uri=...
    -> {"token_type": "Bearer", "access_token": "...", "id_token": "...", "expires_in": 31536000
        (, "refresh_token": "..." where Nextdoor issues one)}
Renewal — "Please refresh the access_token before it expires" [docs, Postman collection]; the refresh request is
    not on the public pages, so `refresh_credentials` sends the standard OAuth 2.0 refresh (RFC 6749 §6) to the
    same token endpoint with the same client authentication:
    POST https://auth.nextdoor.com/v2/token, HTTP Basic client_id:client_secret, form
    grant_type=refresh_token&refresh_token=... -> the token answer above (a new refresh_token replaces the old).
    [unverified until a city has access.] connections' periodic refresher calls it for tokens that expire within
    7 days; without a stored refresh token it says "reconnect before <date>" until the token runs out, then the
    channel needs reconnecting (a year after connecting).
Me — GET https://nextdoor.com/external/api/partner/v1/me/ [3p]
    -> {"id", "first_name", "last_name", "agency_id", "agency_name", "agency_url_at_nextdoor", "agency_city",
        "agency_state", ...}; agency_id / agency_name only for agency accounts.
Agency boundaries — GET .../agency/boundary/?enable_pagination=true(&after=<cursor>) [3p]
    -> {"result": [{"name", "group_id", "geometry_id", "type"}], "cursor": str|null, "has_next_page": bool}
    The group_ids of a post target neighbourhoods of the agency's service area; no group_ids: the whole area.
Create a post — POST .../post/create/ (JSON) — https://developer.nextdoor.com/reference/sharing-data-types [docs]
    {"body_text": str (required, at most 8,192 bytes/characters), "media_attachments": [public URLs, at most 10;
     images .gif .jpe .jpg .jpeg .png .tif .tiff .webp up to 10 MB; videos up to 500 MB],
     "smartlink_url": url (scraped for a link preview), "group_ids": [group_id, ...] (agency targeting [3p])}
    -> 200 {"result": "success", "share_link": "https://nextdoor.com/p/<share id>"} [3p]
Your posts — GET .../post/ ("the most recent posts of the account", https://developer.nextdoor.com/reference/
    get-your-posts) [3p]: items like the Post object of the data types page (body, creation_date, id, ...).
Delete — DELETE .../post/?id=<post id> -> {"message": "Post deleted successfully"} [3p]
    (https://developer.nextdoor.com/reference/delete-a-post); "the post id as listed by Get your posts", which
    may differ from the share id of the link: delete looks it up there first.

Errors [docs: the Share API collection, https://documenter.gw.postman.com/view/metadata/2s93K1qKws]
    400 bad input            -> PublishError(permanent) with Nextdoor's error_description
    401 unauthorized         -> AuthExpired (reconnect)
    403 lack of scope        -> AuthExpired (reconnect, granting the scopes)
    429 (not documented)     -> RateLimited(Retry-After, else 60 s)
    500 "please retry"       -> on create: OutcomeUnknown (it may have been applied), reconciled; elsewhere a
                                temporary PublishError
    connection refused / DNS / connect timeout -> PublishError(temporary); a read timeout or reset -> OutcomeUnknown
Rate limits: not stated on the public pages.

Exactly once: the create call has no idempotency key. An unknown outcome is reconciled by reading the
account's recent posts (GET .../post/) for our exact text created from just before the first unclear attempt;
absent after the settle time -> resend; the list unreadable -> ask again later; the window not covered by the
page -> a person checks.

Urgent alerts: Nextdoor's apps offer agencies an "urgent alert" kind of post (sent to residents by e-mail and
push at once). The public Publish API pages name no field for it; the gated reference that agencies receive with
their access does. CivicPost sends an emergency post (PostContent.urgent) with URGENT_ALERT_FIELD set to true, and
an ordinary post without it. [unverified: the field's name is an assumption to check against the gated reference
when a city obtains access; it is one constant here.] Nextdoor's apps cap an urgent alert from a neighbour at 110
characters; agency alerts are not documented as capped, so CivicPost does not cut the text.
Alt text: the API takes media as URLs with no description field, so alt text cannot travel with the image.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    CheckAgainLater,
    ConnectionCheck,
    ImageLimits,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    RateLimited,
    TextLength,
    parse_expires_at,
)
from scheduler.adapters.http import http_session, platform_base_url, request_never_sent
from scheduler.adapters.media import is_image, media_urls_for

NEXTDOOR_HOST = "https://nextdoor.com"
NEXTDOOR_AUTH_HOST = "https://auth.nextdoor.com"
AUTHORIZE_URL = "https://www.nextdoor.com/v3/authorize/"
TOKEN_PATH = "/v2/token"  # noqa: S105 - a URL path  # nosec B105
API_PREFIX = "/external/api/partner/v1"
ME_PATH = f"{API_PREFIX}/me/"
BOUNDARY_PATH = f"{API_PREFIX}/agency/boundary/"
CREATE_PATH = f"{API_PREFIX}/post/create/"
POSTS_PATH = f"{API_PREFIX}/post/"
SCOPES = ("openid", "post:write", "post:read", "profile:read", "agency.boundary:read")

TEXT_LIMIT_BYTES = 8192
# The create body's flag for an agency urgent alert (see "Urgent alerts" above: not in the public pages).
URGENT_ALERT_FIELD = "is_urgent"
MAX_ATTACHMENTS = 10
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/tiff")
DEFAULT_RATE_LIMIT_WAIT = 60.0
MAX_BOUNDARY_PAGES = 20
RECONCILE_LOOKBACK = dt.timedelta(minutes=2)
RECONCILE_SETTLE = dt.timedelta(minutes=2)


def api_base() -> str:
    return platform_base_url("nextdoor", NEXTDOOR_HOST)


def auth_base() -> str:
    return platform_base_url("nextdoor_auth", NEXTDOOR_AUTH_HOST)


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"text": response.text[:500]}
    return data if isinstance(data, dict) else {"data": data}


def _error_text(response: requests.Response) -> str:
    body = _body(response)
    for key in ("error_description", "message", "detail", "error", "text"):
        if body.get(key):
            return str(body[key])[:300]
    return response.reason or f"HTTP {response.status_code}"


def _retry_after(response: requests.Response) -> float:
    value = (response.headers.get("Retry-After") or "").strip()
    return float(value) if value.isdigit() else DEFAULT_RATE_LIMIT_WAIT


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def _created(value: Any) -> dt.datetime | None:
    """creation_date as ISO 8601 text or a Unix timestamp (seconds or milliseconds)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value / 1000 if value > 10**11 else value, tz=dt.UTC)
    if isinstance(value, str):
        return parse_expires_at(value.replace("Z", "+00:00"))
    return None


def share_id(share_link: str) -> str:
    """The share id at the end of https://nextdoor.com/p/<share id>."""
    return urlsplit(share_link).path.rstrip("/").rsplit("/", 1)[-1]


def check(response: requests.Response, *, creating: bool = False) -> dict[str, Any]:
    """Returns the JSON body of a 2xx answer; raises the error vocabulary's class for the rest."""
    status = response.status_code
    raw = {"status": status, "body": _body(response)}
    if 200 <= status < 300:
        return _body(response)
    message = _error_text(response)
    if status == 401:
        raise AuthExpired(
            "Nextdoor no longer accepts CivicPost's sign-in for this agency; a department admin must reconnect it.",
            code="nextdoor_401",
            raw=raw,
        )
    if status == 403:
        raise AuthExpired(
            f"Nextdoor refused the permission to do this ({message}); a department admin must reconnect and "
            "allow posting.",
            code="nextdoor_403",
            raw=raw,
        )
    if status == 429:
        raise RateLimited(
            "Nextdoor asked us to slow down.", retry_after=_retry_after(response), code="nextdoor_429", raw=raw
        )
    if status >= 500:
        if creating:
            raise OutcomeUnknown(
                f"Nextdoor answered with a server error (HTTP {status}); checking before posting again.", raw=raw
            )
        raise PublishError(f"Nextdoor answered with a server error (HTTP {status}).", permanent=False, raw=raw)
    raise PublishError(f"Nextdoor refused the post: {message}", permanent=True, code=f"nextdoor_{status}", raw=raw)


def call(method: str, path: str, *, token: str, creating: bool = False, **kwargs: Any) -> dict[str, Any]:
    """One Publish API call with the bearer token. Returns the JSON body; raises AdapterError."""
    session = http_session()
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    try:
        response = session.request(method, f"{api_base()}{path}", headers=headers, **kwargs)
    except requests.RequestException as error:
        name = type(error).__name__
        if request_never_sent(error):
            raise PublishError(f"Could not connect to Nextdoor ({name}); nothing was sent.", permanent=False) from error
        if creating:
            raise OutcomeUnknown(f"Nextdoor did not answer in time ({name}); checking before posting again.") from error
        raise PublishError(f"The connection to Nextdoor failed ({name}).", permanent=False) from error
    finally:
        session.close()
    return check(response, creating=creating)


def agency_boundaries(*, token: str) -> list[dict[str, Any]]:
    """Every neighbourhood group of the agency's service area: [{"group_id", "name", "type"}]."""
    boundaries: list[dict[str, Any]] = []
    params: dict[str, str] = {"enable_pagination": "true"}
    for _page in range(MAX_BOUNDARY_PAGES):
        body = call("GET", BOUNDARY_PATH, token=token, params=params)
        for item in body.get("result") or []:
            if isinstance(item, dict) and item.get("group_id") is not None:
                boundaries.append(
                    {"group_id": int(item["group_id"]), "name": str(item.get("name", "")), "type": item.get("type", "")}
                )
        if not body.get("has_next_page") or not body.get("cursor"):
            break
        params = {"enable_pagination": "true", "after": str(body["cursor"])}
    return boundaries


class NextdoorAdapter(PlatformAdapter):
    platform = "nextdoor"
    label = "Nextdoor"
    max_media = MAX_ATTACHMENTS
    supports_metrics = False
    # An emergency post goes out as an urgent alert (URGENT_ALERT_FIELD).
    uses_urgent_flag = True
    # Nextdoor downloads each attachment from its URL (media_attachments).
    image_limits = ImageLimits(max_bytes=10 * 1024 * 1024, mime_types=IMAGE_TYPES)

    @property
    def token(self) -> str:
        token = str(self.account.credentials.get("access_token") or "")
        if not token:
            raise AuthExpired("This Nextdoor channel has no sign-in yet; a department admin must connect it.")
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        if expires_at is not None and expires_at <= timezone.now():
            raise AuthExpired("The Nextdoor sign-in has run out; a department admin must reconnect the channel.")
        return token

    @property
    def group_ids(self) -> list[int]:
        return [int(value) for value in self.account.options.get("group_ids") or []]

    def text_length(self, content: PostContent) -> TextLength:
        # "cannot be longer than 8,192 bytes/characters": counted in UTF-8 bytes, the stricter reading.
        return TextLength(used=len(content.text.encode("utf-8")), limit=TEXT_LIMIT_BYTES)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip():
            problems.append(Problem("Nextdoor posts need text."))
        if any(not is_image(item) for item in content.media):
            problems.append(Problem("Nextdoor posts from CivicPost take images only, not video.", "media"))
        if any(not item.url.startswith("https://") for item in content.media):
            problems.append(Problem("Nextdoor downloads each image, so it needs a public https:// address.", "media"))
        return problems

    def payload(self, content: PostContent) -> dict[str, Any]:
        body: dict[str, Any] = {"body_text": content.text}
        if content.media:
            body["media_attachments"] = media_urls_for(self, content.media)
        if content.link:
            body["smartlink_url"] = content.link
        if self.group_ids:
            body["group_ids"] = self.group_ids
        if content.urgent:
            body[URGENT_ALERT_FIELD] = True
        return body

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        token = self.token
        answer = call("POST", CREATE_PATH, token=token, creating=True, json=self.payload(content))
        link = str(answer.get("share_link") or "")
        if answer.get("result") != "success" or not link:
            raise OutcomeUnknown(
                "Nextdoor answered without a link to the post; checking before posting again.", raw=answer
            )
        return PublishResult(remote_id=share_id(link), permalink=link, raw=answer)

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our text among the agency's recent posts created since just before the first unclear attempt."""
        since = (first_sent_at or sent_at) - RECONCILE_LOOKBACK
        try:
            answer = call("GET", POSTS_PATH, token=self.token)
        except (RateLimited, PublishError) as error:
            if isinstance(error, PublishError) and error.permanent:
                raise OutcomeUnknown(f"Could not check Nextdoor for the post: {error.message}") from error
            raise CheckAgainLater(f"Could not check Nextdoor yet: {error.message}") from error
        posts = self._posts(answer)
        expected = _normalise(content.text)
        oldest: dt.datetime | None = None
        for post in posts:
            created = _created(post.get("creation_date") or post.get("created_at"))
            if created is not None:
                oldest = created if oldest is None else min(oldest, created)
            if created is not None and created < since:
                continue
            if _normalise(str(post.get("body") or post.get("body_text") or "")) == expected:
                link = str(post.get("share_link") or post.get("url") or "")
                remote = share_id(link) if link else str(post.get("id") or "")
                return PublishResult(remote_id=remote, permalink=link, raw={"reconciled": post})
        if posts and (oldest is None or oldest >= since):
            # The page holds only posts newer than the window's start: older ones (maybe ours) are not shown.
            raise OutcomeUnknown(
                "Nextdoor shows more posts since the send than CivicPost can read: sent, but not confirmed — check "
                "the agency's posts before posting again.",
                code="reconcile_window_too_busy",
            )
        remaining = (RECONCILE_SETTLE - (timezone.now() - sent_at)).total_seconds()
        if remaining > 0:
            raise CheckAgainLater(
                "Nextdoor does not show the post yet, but it was sent moments ago.", retry_after=max(15.0, remaining)
            )
        return None

    @staticmethod
    def _posts(answer: dict[str, Any]) -> list[dict[str, Any]]:
        for key in ("posts", "result", "data", "results"):
            value = answer.get(key)
            if isinstance(value, list):
                return [item for item in value if isinstance(item, dict)]
        return []

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        """DELETE .../post/?id=<post id>. We keep the share id; the delete names the post id that "Get your posts"
        lists, so the post is looked up there by its share link first (the share id itself when it is not listed)."""
        token = self.token
        nextdoor_id = remote_id
        for post in self._posts(call("GET", POSTS_PATH, token=token)):
            link = str(post.get("share_link") or post.get("url") or "")
            if link and share_id(link) == remote_id and post.get("id"):
                nextdoor_id = str(post["id"])
                break
        try:
            call("DELETE", POSTS_PATH, token=token, params={"id": nextdoor_id})
        except PublishError as error:
            if error.code == "nextdoor_404":
                return  # already gone
            raise

    def refresh_credentials(self) -> dict[str, Any]:
        """Renews the access token with the stored refresh token (see "Renewal" above). Returns the new
        credentials (also in `updated_credentials`). Raises AuthExpired when Nextdoor refuses (or there is no
        refresh token and the token ran out), PublishError(permanent=False) when it cannot be reached now or
        when there is no refresh token yet the token still works."""
        refresh_token = str(self.account.credentials.get("refresh_token") or "")
        if not refresh_token:
            expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
            if expires_at is None or expires_at > timezone.now():
                until = f" before {expires_at:%Y-%m-%d}" if expires_at else ""
                raise PublishError(
                    f"Nextdoor gave no refresh token; a department admin must reconnect the channel{until}.",
                    permanent=False,
                    code="nextdoor_no_refresh",
                )
            raise AuthExpired("The Nextdoor sign-in has run out; a department admin must reconnect the channel.")
        session = http_session()
        try:
            response = session.post(
                f"{auth_base()}{TOKEN_PATH}",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token},
                auth=(settings.CIVICPOST_NEXTDOOR_CLIENT_ID, settings.CIVICPOST_NEXTDOOR_CLIENT_SECRET),
                headers={"Accept": "application/json"},
            )
        except requests.RequestException as error:
            raise PublishError(
                f"Could not reach Nextdoor to renew the sign-in ({type(error).__name__}).", permanent=False
            ) from error
        finally:
            session.close()
        if response.status_code >= 500 or response.status_code == 429:
            raise PublishError("Nextdoor could not renew the sign-in right now.", permanent=False, raw=_body(response))
        answer = _body(response)
        if response.status_code != 200 or not answer.get("access_token"):
            raise AuthExpired(
                f"Nextdoor refused to renew the sign-in ({_error_text(response)}); a department admin must reconnect.",
                code=f"nextdoor_http_{response.status_code}",
                raw=answer,
            )
        changes: dict[str, Any] = {"access_token": str(answer["access_token"])}
        if answer.get("expires_in"):
            expires_at = timezone.now() + dt.timedelta(seconds=int(answer["expires_in"]))
            changes["expires_at"] = expires_at.astimezone(dt.UTC).isoformat()
        if answer.get("refresh_token"):
            changes["refresh_token"] = str(answer["refresh_token"])
        self._renewed_credentials(changes)
        return dict(self.account.credentials)

    def check_connection(self) -> ConnectionCheck:
        try:
            me = call("GET", ME_PATH, token=self.token)
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        if not me.get("agency_id"):
            return ConnectionCheck(ok=False, message="This Nextdoor account is not a public agency account.")
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        return ConnectionCheck(
            ok=True,
            message=f"Connected to Nextdoor as {me.get('agency_name') or me['agency_id']}.",
            expires_at=expires_at,
        )
