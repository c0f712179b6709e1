"""Mastodon, through Mastodon.py (https://mastodonpy.readthedocs.io/), one instance per channel.

What a Mastodon channel stores
------------------------------
channel.credentials (encrypted):
    access_token   the account's OAuth token (scopes in SCOPES). Mastodon tokens do not expire;
                   they stop working when revoked, which we see as a 401.
    account_id, acct, scopes   written by `exchange_code`, for display only.
channel.options (plain):
    instance_url        e.g. "https://mastodon.social" (typed by an admin, so it passes the SSRF guard
                        every time a client is built)
    max_characters      the instance's limit, stored once known (configuration.statuses.max_characters)
    instance_limits     the rest of the instance's limits (characters per URL, media count, sizes, pixels)
    visibility          "public" (default), "unlisted", "private"
    mastodon_version    optional; assumed 4.0.0 so Mastodon.py never probes the instance before a call

An OAuth app is registered once per instance (`register_app`), and its client_id / client_secret are
kept per instance by the connection flow (not by this module). The flow is:
`register_app` -> send the admin to `authorization_url` -> `exchange_code` returns the credentials.

Exactly once
------------
Every status is sent with `Idempotency-Key: <delivery key>`. Mastodon keeps the key for one hour and
answers a repeat with the original status
(https://docs.joinmastodon.org/methods/statuses/#create, "Idempotency-Key"), but not every server that
speaks this API honours the header (older Mastodon, other software), and there a replay is a second post.
So a timeout or a 5xx after sending is reported as OutcomeUnknown and `reconcile` looks for the status on
the account (GET /api/v1/accounts/:id/statuses, newest first, page after page through the Link header /
max_id) from just before the first attempt that may have arrived: the status whose exact text is ours
(GET /api/v1/statuses/:id/source) is the delivery's. Only when the whole window was read, the status is
not in it and the settle time has passed does it answer "resend" (None).
Media uploads are not idempotent: a replay may leave an unattached upload behind, which Mastodon
removes by itself.

The inbox (residents' replies and mentions)
-------------------------------------------
Read with GET /api/v1/notifications?types[]=mention&min_id=<cursor>&limit=80
(https://docs.joinmastodon.org/methods/notifications/#get; `types[]` since Mastodon 3.5, limit max 80). A reply to
one of our statuses mentions the account (clients add the mention), so it arrives as a `mention` notification
whose `status.in_reply_to_id` is our status; a mention elsewhere has another (or no) in_reply_to_id. `min_id`
returns the page right after the cursor (newest first inside the page), so reading forward from the stored
cursor never skips nor repeats; a full page means more is waiting. The first read takes the latest page only.
A notification whose status is null (deleted since) is reported `deleted`. Not read: replies that removed the
mention (only GET /api/v1/statuses/:id/context would show them, one request per post).
Replies are published with `in_reply_to_id` (https://docs.joinmastodon.org/methods/statuses/#create).
Moderation: Mastodon has no "hide a reply" and no deleting other people's statuses; CivicPost offers block
(POST /api/v1/accounts/:id/block) and mute (POST /api/v1/accounts/:id/mute) and their undo
(https://docs.joinmastodon.org/methods/accounts/#block). Access a city needs: a normal account's OAuth token with
the scopes in SCOPES (read:notifications, write:blocks, write:mutes besides posting); channels connected before
these scopes were added must be reconnected for the inbox (the read answers 403, shown on the inbox settings).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import logging
import re
import time
import unicodedata
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import regex
import requests
import urllib3.exceptions
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonError,
    MastodonIllegalArgumentError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
    MastodonVersionError,
)
from mastodon.errors import MastodonIOError

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    ConnectionCheck,
    ConversationItem,
    ConversationPage,
    ImageLimits,
    MediaItem,
    MetricsReading,
    ModerationResult,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    RateLimited,
    Removed,
    TextLength,
    VideoLimits,
)
from scheduler.adapters.http import USER_AGENT, http_timeout
from scheduler.adapters.mastodon.video import mastodon_video_limits, poll_pending, upload_video
from scheduler.adapters.media import UploadImage, image_for_upload, is_image, open_stored
from scheduler.adapters.ssrf import (
    ResponseTooLarge,
    UnsafeURL,
    check_public_url,
    guarded_session,
)
from scheduler.adapters.video import PendingUpload, is_video, pending_reconcile

# Mastodon.py and requests can log request details at DEBUG (shared/platforms.md §1.5).
logging.getLogger("mastodon").setLevel(max(logging.INFO, logging.getLogger("mastodon").level))

APP_NAME = "CivicPost"
# https://docs.joinmastodon.org/api/oauth-scopes/ - read:accounts for verify_credentials.
SCOPES = [
    "read:accounts",
    "read:statuses",
    "read:notifications",
    "write:statuses",
    "write:media",
    "write:blocks",
    "write:mutes",
]
ASSUMED_MASTODON_VERSION = "4.0.0"

# https://docs.joinmastodon.org/methods/instance/#v2 (configuration.statuses / media_attachments)
DEFAULT_LIMITS: dict[str, int] = {
    "max_characters": 500,
    "characters_reserved_per_url": 23,
    "max_media_attachments": 4,
    "description_limit": 1500,
    "image_size_limit": 16 * 1024 * 1024,
    # width x height; 33,177,600 (7680 x 4320) since Mastodon 4.0, the value in the docs' example.
    "image_matrix_limit": 33_177_600,
    "video_size_limit": 99 * 1024 * 1024,
}
# What every Mastodon version takes; larger or other images are fitted at publish time.
MASTODON_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
INSTANCE_CACHE_SECONDS = 60 * 60
INSTANCE_FAILURE_CACHE_SECONDS = 5 * 60

# Reconcile reads the account's statuses from RECONCILE_LOOKBACK before the first attempt that may have arrived
# (clocks differ) to RECONCILE_MARGIN after the latest one, RECONCILE_PAGE_SIZE a page (the maximum of
# GET /api/v1/accounts/:id/statuses, https://docs.joinmastodon.org/methods/accounts/#statuses), at most
# RECONCILE_MAX_PAGES pages; it says "absent" only when the window was read whole and RECONCILE_SETTLE has passed
# since the latest send (a request stuck in the instance's queue may still create the status).
RECONCILE_LOOKBACK = dt.timedelta(minutes=2)
RECONCILE_MARGIN = dt.timedelta(minutes=10)
RECONCILE_SETTLE = dt.timedelta(minutes=2)


def _reconcile_settle() -> dt.timedelta:
    """RECONCILE_SETTLE, or CIVICPOST_RECONCILE_SETTLE_SECONDS where a harness against the local fake platform
    (which lists a post the moment it stores it) sets a shorter wait."""
    seconds = getattr(settings, "CIVICPOST_RECONCILE_SETTLE_SECONDS", None)
    return dt.timedelta(seconds=seconds) if seconds is not None else RECONCILE_SETTLE


RECONCILE_PAGE_SIZE = 40
RECONCILE_MAX_PAGES = 10
# Default wait when a 429 comes without a usable X-RateLimit-Reset (limits run in 5-minute windows:
# https://docs.joinmastodon.org/api/rate-limits/).
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 300.0
# POST /api/v2/media answers 202 with url null while the file is processed
# (https://docs.joinmastodon.org/methods/media/#v2); we wait a little, never long, in a worker.
# GET /api/v1/notifications answers at most 80 a page (https://docs.joinmastodon.org/methods/notifications/#get).
NOTIFICATIONS_PAGE_SIZE = 80
MEDIA_POLL_ATTEMPTS = 10
MEDIA_POLL_INTERVAL_SECONDS = 1.0

# --- Text length ----------------------------------------------------------------------------------
# Mastodon counts grapheme clusters after replacing every URL by 23 characters and every remote
# mention @user@domain by @user:
# https://github.com/mastodon/mastodon/blob/main/app/validators/status_length_validator.rb
# https://docs.joinmastodon.org/user/posting/ ("links count as 23 characters")

# Mastodon only shortens URLs written with their protocol (extract_url_without_protocol: false).
_URL_RE = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_URL_TRAILING = ".,:;!?'\""
# Account::MENTION_RE: @username, optionally followed by @domain.
_MENTION_RE = re.compile(r"(?<![=/\w])@([a-z0-9_]+(?:[.-]+[a-z0-9_]+)*)(@[\w]+(?:[.-]+[\w]+)*)?", re.IGNORECASE)


def _graphemes(text: str) -> int:
    # `regex` implements grapheme clusters (\X, UAX #29) with current Unicode data; `re` has no \X.
    return len(regex.findall(r"\X", text))


def _trim_url(url: str) -> str:
    while url and url[-1] in _URL_TRAILING:
        url = url[:-1]
    while url.endswith(")") and url.count("(") < url.count(")"):
        url = url[:-1]
    return url


def mastodon_text_length(text: str, *, characters_per_url: int = 23) -> int:
    """Returns the length Mastodon's StatusLengthValidator sees: graphemes, URLs as 23, @user@domain as @user."""
    placeholder = "x" * characters_per_url

    def shorten_url(match: re.Match[str]) -> str:
        url = _trim_url(match.group(0))
        return placeholder + match.group(0)[len(url) :]

    countable = _URL_RE.sub(shorten_url, text)
    countable = _MENTION_RE.sub(lambda match: "@" + match.group(1), countable)
    return _graphemes(countable)


# --- Helpers ------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Mastodon.py returns dict subclasses holding datetimes; the attempt log stores JSON."""
    return json.loads(json.dumps(value, default=str))


def _causes(error: BaseException) -> Iterator[BaseException]:
    """Walks an exception, its causes and contexts, and the errors wrapped inside requests/urllib3 errors."""
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__, getattr(current, "reason", None), *current.args):
            if isinstance(linked, BaseException):
                stack.append(linked)


def _failed_before_sending(error: BaseException) -> bool:
    """True when the connection never opened (refused, DNS, connect timeout, TLS handshake): nothing was sent."""
    return any(
        isinstance(
            cause,
            urllib3.exceptions.NewConnectionError  # includes NameResolutionError
            | urllib3.exceptions.ConnectTimeoutError
            | requests.exceptions.ConnectTimeout
            | requests.exceptions.SSLError,
        )
        for cause in _causes(error)
    )


def _find(error: BaseException, kind: type[BaseException]) -> BaseException | None:
    return next((cause for cause in _causes(error) if isinstance(cause, kind)), None)


def _api_error_parts(error: MastodonAPIError) -> tuple[int | None, str]:
    """Mastodon.py error args are ('Mastodon API returned error', status, reason, error_text)."""
    status = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], int) else None
    message = error.args[3] if len(error.args) > 3 and error.args[3] else ""
    if not message and len(error.args) > 2:
        message = str(error.args[2])
    return status, str(message or error)


def _exact(text: str) -> str:
    """The text as Mastodon stores it, for an exact comparison: NFC, Unix newlines, no outer whitespace."""
    return unicodedata.normalize("NFC", text.replace("\r\n", "\n")).strip()


def _html_to_text(content: str) -> str:
    """A status's rendered HTML back to text: paragraphs and <br> to newlines, tags dropped (Mastodon keeps a
    shortened link's full address in invisible spans, so it comes back whole), entities unescaped."""
    text = re.sub(r"<br\s*/?>", "\n", content or "", flags=re.IGNORECASE)
    text = re.sub(r"</p>\s*<p[^>]*>", "\n\n", text, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _loose(text: str) -> str:
    """What survives Mastodon's rendering of our text: no whitespace, and @user@domain shown as @user."""
    text = _MENTION_RE.sub(lambda match: "@" + match.group(1), unicodedata.normalize("NFC", text))
    return re.sub(r"\s+", "", text)


def _created_at(status: dict[str, Any]) -> dt.datetime | None:
    value = status.get("created_at")
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def instance_cache_key(instance_url: str) -> str:
    """The Django cache key of an instance's limits (one entry per instance, shared by its channels)."""
    return "civicpost:mastodon:instance:" + hashlib.sha256(instance_url.encode()).hexdigest()


class ConnectFailed(AdapterError):
    """Connecting a Mastodon account did not work; the message says why in plain words."""


# --- The adapter --------------------------------------------------------------------------------


class MastodonAdapter(PlatformAdapter):
    platform = "mastodon"
    label = "Mastodon"
    # A reply is a status with in_reply_to_id (https://docs.joinmastodon.org/methods/statuses/#create): threads
    # of posts are replies to the account's own previous status.
    supports_replies = True
    supports_threads = True
    supports_inbox = True
    moderation_actions = frozenset({"block", "mute"})
    undo_actions = frozenset({"unblock", "unmute"})
    # Mastodon's defaults; current_image_limits() uses the instance's own figures.
    image_limits = ImageLimits(
        max_bytes=DEFAULT_LIMITS["image_size_limit"],
        max_pixels=DEFAULT_LIMITS["image_matrix_limit"],
        mime_types=MASTODON_IMAGE_TYPES,
    )

    # 404 on GET /api/v1/statuses/:id: deleted, or no longer visible to this account.
    metrics_gone_codes = frozenset({"404"})

    def __init__(self, account: ChannelAccount) -> None:
        super().__init__(account)
        # GET /api/v1/statuses?id[]= (Mastodon 4.3+): 20 ids a request, a conservative figure [k]; older
        # instances are read one status a request.
        self.metrics_batch_size = 20 if self._supports_statuses_batch() else 1

    # --- client ---

    @property
    def instance_url(self) -> str:
        """The channel's instance, checked by the SSRF guard. Raises UnsafeURL."""
        return check_public_url(self.account.options.get("instance_url", ""))

    def _token_and_instance(self) -> tuple[str, str]:
        """The access token and the instance's checked address. Raises AuthExpired without a token, PublishError
        (permanent) for an address the SSRF guard refuses."""
        token = self.account.credentials.get("access_token")
        if not token:
            raise AuthExpired("This Mastodon channel has no access token yet; a department admin must connect it.")
        try:
            instance_url = self.instance_url
        except UnsafeURL as error:
            raise PublishError(
                f"The Mastodon instance address cannot be used: {error.message}", permanent=True
            ) from error
        return str(token), instance_url

    def _api(self) -> Mastodon:
        token, instance_url = self._token_and_instance()
        return Mastodon(
            access_token=token,
            api_base_url=instance_url,
            # Mastodon.py's default "wait" would sleep inside the worker (shared/platforms.md §1.2).
            ratelimit_method="throw",
            request_timeout=http_timeout(),  # type: ignore[arg-type]  # Mastodon.py says float; requests takes the pair
            mastodon_version=self.account.options.get("mastodon_version") or ASSUMED_MASTODON_VERSION,
            version_check_mode="created",
            session=guarded_session(http_timeout()),
            user_agent=USER_AGENT,
        )

    # --- instance limits ---

    def _stored_limits(self) -> dict[str, int] | None:
        options = self.account.options
        if not options.get("max_characters"):
            return None
        return {
            **DEFAULT_LIMITS,
            **options.get("instance_limits", {}),
            "max_characters": int(options["max_characters"]),
        }

    def instance_limits(self, *, refresh: bool = False) -> dict[str, int]:
        """Returns the instance's limits: from Django's cache (one hour per instance), else the copy stored
        in the channel's options, else GET /api/v2/instance; Mastodon's defaults if all of that fails."""
        try:
            instance_url = self.instance_url
        except UnsafeURL:
            return self._stored_limits() or dict(DEFAULT_LIMITS)
        cache_key = instance_cache_key(instance_url)
        if not refresh:
            cached: dict[str, int] | None = cache.get(cache_key)
            if cached:
                return cached
            stored = self._stored_limits()
            if stored:
                return stored
        try:
            limits = _fetch_instance_limits(instance_url)
        except (requests.RequestException, UnsafeURL, ResponseTooLarge, ValueError, KeyError, TypeError) as error:
            logging.getLogger(__name__).info("could not read limits of %s: %s", instance_url, type(error).__name__)
            limits = self._stored_limits() or dict(DEFAULT_LIMITS)
            cache.set(cache_key, limits, INSTANCE_FAILURE_CACHE_SECONDS)
            return limits
        cache.set(cache_key, limits, INSTANCE_CACHE_SECONDS)
        self._remember_limits(limits)
        return limits

    def _remember_limits(self, limits: dict[str, int]) -> None:
        changes = {
            "max_characters": limits["max_characters"],
            "instance_limits": {key: value for key, value in limits.items() if key != "max_characters"},
        }
        if all(self.account.options.get(key) == value for key, value in changes.items()):
            return
        # Handed out in `updated_options`: publishing and the connection check merge them into the channel.
        self._learned_options(changes)

    def current_video_limits(self) -> VideoLimits:
        return mastodon_video_limits({**DEFAULT_LIMITS, **self.instance_limits()})

    def current_image_limits(self) -> ImageLimits:
        limits = {**DEFAULT_LIMITS, **self.instance_limits()}  # a cached copy may predate a key
        return ImageLimits(
            max_bytes=limits["image_size_limit"],
            max_pixels=limits["image_matrix_limit"],
            mime_types=MASTODON_IMAGE_TYPES,
        )

    # --- contract ---

    def text_length(self, content: PostContent) -> TextLength:
        limits = self.instance_limits()
        used = mastodon_text_length(content.text_with_link(), characters_per_url=limits["characters_reserved_per_url"])
        return TextLength(used=used, limit=limits["max_characters"])

    def validate(self, content: PostContent) -> list[Problem]:
        limits = self.instance_limits()
        self.max_media = limits["max_media_attachments"]
        problems = super().validate(content)
        for item in content.media:
            kind = item.mime_type.split("/", 1)[0]
            if kind not in ("image", "video", "audio"):
                problems.append(Problem(f"Mastodon cannot attach files of type {item.mime_type}.", "media"))
                continue
            if len(item.alt_text) > limits["description_limit"]:
                problems.append(
                    Problem(f"Mastodon allows {limits['description_limit']} characters of alt text per image.", "media")
                )
            # Images are fitted to the instance's limits at publish time; video is checked by video_problems.
            size_limit = limits["video_size_limit"]
            if kind == "audio" and item.size_bytes and item.size_bytes > size_limit:
                problems.append(Problem(f"This instance takes files up to {size_limit // (1024 * 1024)} MB.", "media"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        token, instance_url = self._token_and_instance()
        media_ids: list[str] = []
        if content.media:
            api = self._api()
            images: list[UploadImage | None] = [None] * len(content.media)
            if any(is_image(item) for item in content.media):
                limits = self.current_image_limits()
                images = [
                    image_for_upload(item, limits, label=self.label) if is_image(item) else None
                    for item in content.media
                ]
            media_ids = [
                self._upload_video(api, item, idempotency_key) if is_video(item) else self._upload(api, item, image)
                for item, image in zip(content.media, images, strict=True)
            ]
        pending = PendingUpload.load(self.platform, idempotency_key) if any(map(is_video, content.media)) else None
        if pending is not None and pending.state:
            # From here on the status may exist: the ordinary reconcile decides (scheduler/adapters/video.py).
            pending.save(post_sent=True)
        fields: dict[str, Any] = {"status": content.text_with_link(), **self._reply_fields(content)}
        fields["sensitive"] = "0"
        fields["visibility"] = str(self.account.options.get("visibility") or "public").lower()
        if content.language:
            fields["language"] = content.language
        if media_ids:
            fields["media_ids[]"] = media_ids
        status = self._post_status(instance_url, token, fields, idempotency_key=idempotency_key)
        if pending is not None and pending.state:
            pending.clear()
        return PublishResult(
            remote_id=str(status["id"]), permalink=status.get("url") or status.get("uri") or "", raw=status
        )

    def _post_status(
        self, instance_url: str, token: str, fields: dict[str, Any], *, idempotency_key: str
    ) -> dict[str, Any]:
        """POST /api/v1/statuses (https://docs.joinmastodon.org/methods/statuses/#create) with the form Mastodon.py's
        status_post sends, through the guarded session, and returns the status as JSON. Not through Mastodon.py:
        it types every answer into its own classes, a quarter of a worker's CPU per Mastodon delivery (issue 18).
        Failures become the errors Mastodon.py raises for them and are mapped by `_map_error`, as before."""
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": idempotency_key}
        try:
            with guarded_session(http_timeout()) as session:
                response = session.post(f"{instance_url}/api/v1/statuses", data=fields, headers=headers)
        except (UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=None, sent=True) from error
        except requests.RequestException as error:
            # What Mastodon.py raises for any failure of the request itself (refused, timed out, reset).
            network = MastodonNetworkError(f"Could not complete request: {error}")
            network.__cause__ = error
            raise self._map_error(network, api=None, sent=True) from error
        if response.status_code >= 400:
            failure = _status_error(response)
            mapped = self._map_error(failure, api=None, sent=True, ratelimit_reset=_ratelimit_reset(response))
            raise mapped from failure
        try:
            status = response.json()
        except ValueError:
            status = None
        if not isinstance(status, dict) or "id" not in status:
            # The status may have been created: the reconciler looks for it.
            raise OutcomeUnknown(
                f"Unexpected answer from Mastodon (HTTP {response.status_code}, no status); checking before resending."
            )
        return status

    @staticmethod
    def _reply_fields(content: PostContent) -> dict[str, Any]:
        """The status's reply fields: `in_reply_to_id` (the status answered) when content is a reply
        (https://docs.joinmastodon.org/methods/statuses/#create, "in_reply_to_id"); nothing otherwise."""
        if content.reply_to is None:
            return {}
        return {"in_reply_to_id": content.reply_to.remote_id}

    def _upload_video(self, api: Mastodon, item: MediaItem, idempotency_key: str) -> str:
        """Uploads a video, or resumes the delivery's saved upload (mastodon/video.py). Returns its media id."""
        try:
            return upload_video(self, api, item, idempotency_key=idempotency_key)
        except (MastodonError, UnsafeURL, ResponseTooLarge, requests.RequestException, OSError) as error:
            # The status was not created yet, whatever happened to the upload.
            raise self._map_error(error, api=api, sent=False) from error

    def _upload(self, api: Mastodon, item: MediaItem, image: UploadImage | None) -> str:
        """Uploads one attachment with its alt text: `image` (fitted bytes) for an image, else the stored
        file as it is. Returns its id once Mastodon has processed it."""
        try:
            # https://docs.joinmastodon.org/methods/media/#v2
            if image is not None:
                attachment = api.media_post(
                    image.data, mime_type=image.mime_type, description=item.alt_text or None, file_name=image.file_name
                )
            else:
                with open_stored(item) as stored:
                    attachment = api.media_post(stored, mime_type=item.mime_type, description=item.alt_text or None)
            for _ in range(MEDIA_POLL_ATTEMPTS):
                if attachment.get("url"):
                    return str(attachment["id"])
                time.sleep(MEDIA_POLL_INTERVAL_SECONDS)
                # GET /api/v1/media/:id answers 206 until processing is done.
                attachment = api.media(attachment["id"])
            if attachment.get("url"):
                return str(attachment["id"])
        except (MastodonError, UnsafeURL, ResponseTooLarge, requests.RequestException, OSError) as error:
            # The status was not created yet, whatever happened to the upload.
            raise self._map_error(error, api=api, sent=False) from error
        raise PublishError("Mastodon is still processing an attachment; will try again shortly.", permanent=False)

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for the status on the account, whether or not the server honours Idempotency-Key.

        Reads GET /api/v1/accounts/:id/statuses newest first, page after page (Link rel="next", else max_id),
        until a page reaches back before the first attempt that may have arrived (`first_sent_at`, else
        `sent_at`); a status created in the window whose exact text is ours is the delivery's.

        Returns it if found; None only when the whole window was read and RECONCILE_SETTLE has passed since
        `sent_at`; raises CheckAgainLater when it is too early to tell or the instance passingly failed, and
        OutcomeUnknown when it cannot tell (no text to match, a window busier than RECONCILE_MAX_PAGES pages,
        the account cannot be read)."""
        if pending_reconcile(self, idempotency_key, lambda upload: poll_pending(self, upload)):
            return None  # the status was never sent: the next attempt resumes the video upload and posts
        expected = content.text_with_link()
        if not _exact(expected):
            raise OutcomeUnknown("A post without text cannot be recognised on the account; check it by hand.")
        now = timezone.now()
        earliest = min(first_sent_at or sent_at, sent_at)
        since, until = earliest - RECONCILE_LOOKBACK, sent_at + RECONCILE_MARGIN
        api = None
        try:
            api = self._api()
            found = self._find_status(api, expected, since=since, until=until)
        except AdapterError as error:
            raise self._lookup_failed(error) from error
        except (MastodonError, UnsafeURL, ResponseTooLarge, requests.RequestException) as error:
            raise self._lookup_failed(self._map_error(error, api=api, sent=False)) from error
        if found is not None:
            return PublishResult(
                remote_id=str(found["id"]), permalink=found.get("url") or found.get("uri") or "", raw=_jsonable(found)
            )
        remaining = (_reconcile_settle() - (now - sent_at)).total_seconds()
        if remaining > 0:
            raise CheckAgainLater(
                "Mastodon does not show the post yet, but it was sent moments ago; it may still appear.",
                retry_after=max(15.0, remaining),
            )
        return None

    @staticmethod
    def _lookup_failed(error: AdapterError) -> OutcomeUnknown:
        if isinstance(error, OutcomeUnknown):
            return error
        if isinstance(error, RateLimited):
            return CheckAgainLater(f"Could not check Mastodon yet: {error.message}", retry_after=error.retry_after)
        if isinstance(error, PublishError) and not error.permanent:
            return CheckAgainLater(f"Could not check Mastodon yet: {error.message}", retry_after=60.0)
        return OutcomeUnknown(f"Could not check Mastodon for the post: {error.message}")

    def _find_status(
        self, api: Mastodon, expected: str, *, since: dt.datetime, until: dt.datetime
    ) -> dict[str, Any] | None:
        """The oldest status of the account created between `since` and `until` whose text is `expected`."""
        account_id = self.account.credentials.get("account_id")
        if not account_id:
            # https://docs.joinmastodon.org/methods/accounts/#verify_credentials
            account_id = api.account_verify_credentials()["id"]
        # https://docs.joinmastodon.org/methods/accounts/#statuses (newest first; Link header for the next page)
        page = api.account_statuses(account_id, exclude_reblogs=True, limit=RECONCILE_PAGE_SIZE)
        matches: list[dict[str, Any]] = []
        for number in range(1, RECONCILE_MAX_PAGES + 1):
            statuses = list(page or [])
            for status in statuses:
                created = _created_at(status)
                if created is not None and since <= created <= until and self._is_ours(api, status, expected):
                    matches.append(status)
            oldest = _created_at(statuses[-1]) if statuses else None
            if not statuses or (oldest is not None and oldest < since):
                return min(matches, key=lambda status: _created_at(status) or since) if matches else None
            if number == RECONCILE_MAX_PAGES:
                break
            following = api.fetch_next(page) if getattr(page, "_pagination_next", None) else None
            if following is None:
                # No Link header (some servers send none): ask for what is older than the last status.
                following = api.account_statuses(
                    account_id, exclude_reblogs=True, limit=RECONCILE_PAGE_SIZE, max_id=statuses[-1]["id"]
                )
            page = following
        if matches:
            return min(matches, key=lambda status: _created_at(status) or since)
        raise OutcomeUnknown(
            f"Mastodon shows more posts around the send time than CivicPost reads ({RECONCILE_MAX_PAGES} pages) "
            "and the post is not among them: sent, but not confirmed — check the account before posting again.",
            code="reconcile_window_too_busy",
        )

    @staticmethod
    def _is_ours(api: Mastodon, status: dict[str, Any], expected: str) -> bool:
        """True when the status's text is exactly `expected`. The listing gives only rendered HTML, so a status
        that could be ours is confirmed with its source text (GET /api/v1/statuses/:id/source, Mastodon 3.5+,
        https://docs.joinmastodon.org/methods/statuses/#source); a server without that endpoint is judged on
        the rendered text."""
        if status.get("reblog") or _loose(_html_to_text(status.get("content") or "")) != _loose(expected):
            return False
        try:
            source = api.status_source(status["id"])
        except (MastodonNotFoundError, MastodonVersionError):
            return True
        except MastodonAPIError as error:
            if _api_error_parts(error)[0] in (404, 405, 501):
                return True
            raise
        return _exact(str(source.get("text") or "")) == _exact(expected)

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        api = self._api()
        try:
            # https://docs.joinmastodon.org/methods/statuses/#delete
            api.status_delete(remote_id)
        except MastodonNotFoundError:
            return  # already gone
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        api = self._api()
        try:
            # https://docs.joinmastodon.org/methods/statuses/#get (Status entity counters)
            status = api.status(remote_id)
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error
        metrics = {
            "likes": int(status.get("favourites_count") or 0),
            "shares": int(status.get("reblogs_count") or 0),
            "replies": int(status.get("replies_count") or 0),
        }
        if status.get("quotes_count") is not None:
            metrics["quotes"] = int(status["quotes_count"])
        return metrics

    def _supports_statuses_batch(self) -> bool:
        """GET /api/v1/statuses?id[]= exists since Mastodon 4.3 (https://docs.joinmastodon.org/methods/statuses/#index);
        older instances (or an unknown version) are read one status at a time."""
        version = str(self.account.options.get("mastodon_version") or "0")
        try:
            parts = tuple(int(part) for part in version.split("-")[0].split(".")[:2])
        except ValueError:
            return False
        return parts >= (4, 3)

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """Mastodon 4.3+: one GET /api/v1/statuses?id[]=… for up to 20 ids; ids missing from the answer were
        deleted (or are no longer visible). Older instances: the default, one GET per status (404: Removed).
        Mastodon reports no views or clicks."""
        if not self._supports_statuses_batch():
            return super().fetch_metrics_batch(remote_ids)
        ids = remote_ids[: self.metrics_batch_size]
        api = self._api()
        try:
            statuses = api.statuses(ids)
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error
        readings: dict[str, MetricsReading | Removed] = {}
        for status in statuses:
            readings[str(status["id"])] = MetricsReading(counts=_status_counts(status), raw=_status_raw(status))
        for remote_id in ids:
            readings.setdefault(remote_id, Removed(reason="The instance no longer shows this post."))
        return readings

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """Mentions (and so replies) since `cursor` (a notification id): GET /api/v1/notifications?types[]=mention
        &min_id=cursor&limit=80. Raises RateLimited, AuthExpired, PublishError."""
        api = self._api()
        try:
            notifications = api.notifications(types=["mention"], min_id=cursor or None, limit=NOTIFICATIONS_PAGE_SIZE)
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error
        items = tuple(item for item in (_conversation_item(n, ours=set(our_remote_ids)) for n in notifications) if item)
        ids = [str(n["id"]) for n in notifications]
        newest = max(ids, key=lambda value: (len(value), value)) if ids else None
        # The first read takes the newest page: nothing newer waits. Later reads page forward from the cursor.
        more = cursor is not None and len(ids) >= NOTIFICATIONS_PAGE_SIZE
        return ConversationPage(items=items, next_cursor=newest or cursor, more=more)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Blocks or mutes the author (and undoes it): POST /api/v1/accounts/:id/{block,unblock,mute,unmute}."""
        account_id = str((item.raw.get("account") or {}).get("id") or "")
        if not account_id or action not in self.moderation_actions | self.undo_actions:
            raise PublishError(f"Mastodon does not let CivicPost {action} this.", permanent=True)
        api = self._api()
        calls = {
            "block": api.account_block,
            "unblock": api.account_unblock,
            "mute": api.account_mute,
            "unmute": api.account_unmute,
        }
        try:
            relationship = calls[action](account_id)
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error
        return ModerationResult(done=True, raw=_jsonable(relationship))

    def fetch_followers(self) -> int | None:
        """GET /api/v1/accounts/verify_credentials: followers_count."""
        api = self._api()
        try:
            me = api.account_verify_credentials()
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            raise self._map_error(error, api=api, sent=False) from error
        return int(me.get("followers_count") or 0)

    def check_connection(self) -> ConnectionCheck:
        try:
            api = self._api()
            # https://docs.joinmastodon.org/methods/accounts/#verify_credentials
            account = api.account_verify_credentials()
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        except MastodonUnauthorizedError:
            return ConnectionCheck(
                ok=False, message="Mastodon no longer accepts CivicPost's access; a department admin must reconnect."
            )
        except (MastodonError, UnsafeURL, ResponseTooLarge) as error:
            mapped = self._map_error(error, api=None, sent=False)
            return ConnectionCheck(ok=False, message=mapped.message)
        self.instance_limits(refresh=True)
        host = self.instance_url.split("://", 1)[-1]
        return ConnectionCheck(ok=True, message=f"Connected as @{account.get('acct', '')} on {host}.")

    # --- errors ---

    def _map_error(
        self, error: BaseException, *, api: Mastodon | None, sent: bool, ratelimit_reset: float | None = None
    ) -> AdapterError:
        """Maps a Mastodon.py failure onto the shared vocabulary. `sent` says whether the status itself
        may have been created by this call (only the status's POST). `ratelimit_reset`: the epoch time a 429
        answered without Mastodon.py gave (`_ratelimit_reset`)."""
        unsafe = _find(error, UnsafeURL)
        if isinstance(unsafe, UnsafeURL):
            return PublishError(f"The Mastodon instance address cannot be used: {unsafe.message}", permanent=True)
        if isinstance(error, MastodonRatelimitError):
            # 429 in "throw" mode; the reset time (ISO 8601 in X-RateLimit-Reset) is parsed by Mastodon.py
            # into api.ratelimit_reset (https://docs.joinmastodon.org/api/rate-limits/).
            reset = ratelimit_reset
            if reset is None and api is not None:
                reset = getattr(api, "ratelimit_reset", None)
            wait = (reset - time.time()) if reset else 0.0
            return RateLimited(
                "Mastodon asked us to slow down; the post will be sent when the limit resets.",
                retry_after=wait if wait > 0 else DEFAULT_RATE_LIMIT_WAIT_SECONDS,
            )
        if isinstance(error, MastodonUnauthorizedError):
            # 401: the token was revoked or the app removed (https://docs.joinmastodon.org/methods/statuses/#create).
            return AuthExpired(
                "Mastodon no longer accepts CivicPost's access to this account; a department admin must reconnect it."
            )
        if isinstance(error, MastodonServerError):
            status, message = _api_error_parts(error)
            # 5xx: Mastodon documents none of them as "not applied"; the request may have been processed
            # before the proxy gave up, so it is unknown, and replaying with the same key is safe.
            if sent:
                return OutcomeUnknown(f"Mastodon answered with a server error ({status}); checking before resending.")
            return PublishError(f"Mastodon answered with a server error ({status}): {message}", permanent=False)
        if isinstance(error, MastodonNetworkError | ResponseTooLarge):
            if _failed_before_sending(error):
                # Connection refused / DNS / connect timeout: nothing reached Mastodon.
                return PublishError("Could not connect to the Mastodon instance; nothing was sent.", permanent=False)
            if sent:
                # Read timeout or dropped connection after the request went out.
                return OutcomeUnknown("The Mastodon instance did not answer in time; checking before resending.")
            return PublishError("The connection to the Mastodon instance failed; will try again.", permanent=False)
        if isinstance(error, MastodonAPIError):
            status, message = _api_error_parts(error)
            if status == 403:
                # Suspended account or a missing scope: the token works but may not post
                # (https://docs.joinmastodon.org/methods/statuses/#create, 403).
                return AuthExpired(f"Mastodon refused this account the permission to post: {message}")
            # 422 and other 4xx: the instance rejected this request with its own words
            # (https://docs.joinmastodon.org/methods/statuses/#create, 422 "Validation failed").
            return PublishError(f"Mastodon rejected the post: {message}", permanent=True, code=str(status or ""))
        if isinstance(error, MastodonVersionError | MastodonIllegalArgumentError | MastodonIOError | OSError):
            return PublishError(f"The post could not be prepared for Mastodon: {error}", permanent=True)
        if sent:
            return OutcomeUnknown(
                f"Unexpected answer from Mastodon ({type(error).__name__}); checking before resending."
            )
        return PublishError(f"Unexpected answer from Mastodon ({type(error).__name__}).", permanent=False)


def _status_error(response: requests.Response) -> MastodonError:
    """The error Mastodon.py raises for this failed answer (internals.py, `__api_request`): its args are
    ('Mastodon API returned error', status, reason, the answer's "error")."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    message = answer.get("error") if isinstance(answer, dict) else answer if isinstance(answer, str) else None
    code = response.status_code
    if code == 429:
        return MastodonRatelimitError("Hit rate limit.")
    kind: type[MastodonError] = MastodonAPIError
    if code == 404:
        kind, message = MastodonNotFoundError, message or "Endpoint not found."
    elif code == 401:
        kind = MastodonUnauthorizedError
    elif 500 <= code <= 511:
        kind = MastodonServerError
    return kind("Mastodon API returned error", code, response.reason, message)


def _ratelimit_reset(response: requests.Response) -> float | None:
    """The epoch time in X-RateLimit-Reset (ISO 8601, or epoch seconds on other software), moved onto our
    clock by the answer's Date, as Mastodon.py computes it (https://docs.joinmastodon.org/api/rate-limits/).
    None when absent, unreadable or already past."""
    value = response.headers.get("X-RateLimit-Reset")
    if not value:
        return None
    try:
        reset = float(value) if value.isdigit() else _header_time(value)
        if "Date" in response.headers:
            reset += time.time() - _header_time(response.headers["Date"])
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return reset if reset > time.time() else None


def _header_time(value: str) -> float:
    """An ISO 8601 or HTTP date as epoch seconds (UTC when it names no zone). Raises ValueError / TypeError."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        moment = parsedate_to_datetime(value)
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()


def _fetch_instance_limits(instance_url: str) -> dict[str, int]:
    """GET /api/v2/instance (https://docs.joinmastodon.org/methods/instance/#v2), falling back to v1
    for servers without it. Raises requests / guard errors, or KeyError/ValueError on an odd answer."""
    with guarded_session(max_bytes=2 * 1024 * 1024) as session:
        response = session.get(f"{instance_url}/api/v2/instance")
        if response.status_code == 404:
            response = session.get(f"{instance_url}/api/v1/instance")
        response.raise_for_status()
        data = response.json()
    configuration = data.get("configuration") or {}
    statuses = configuration.get("statuses") or {}
    media = configuration.get("media_attachments") or {}
    limits = dict(DEFAULT_LIMITS)
    for key, source in (
        ("max_characters", statuses),
        ("characters_reserved_per_url", statuses),
        ("max_media_attachments", statuses),
        ("description_limit", media),
        ("image_size_limit", media),
        ("image_matrix_limit", media),
        ("video_size_limit", media),
    ):
        if isinstance(source.get(key), int) and source[key] > 0:
            limits[key] = source[key]
    return limits


# --- Connecting an account (called by the channel connection flow) ----------------------------------


def register_app(instance_url: str, redirect_uri: str) -> tuple[str, str]:
    """Registers CivicPost as an OAuth app on an instance (once per instance; store the result per instance).

    Returns (client_id, client_secret). Raises UnsafeURL for an address we may not connect to, or
    ConnectFailed (https://docs.joinmastodon.org/methods/apps/#create)."""
    url = check_public_url(instance_url)
    try:
        client_id, client_secret = Mastodon.create_app(
            APP_NAME,
            scopes=SCOPES,
            redirect_uris=redirect_uri,
            website=settings.SITE_URL,
            api_base_url=url,
            request_timeout=http_timeout(),  # type: ignore[arg-type]  # Mastodon.py says float; requests takes the pair
            session=guarded_session(http_timeout(), max_bytes=1024 * 1024),
            user_agent=USER_AGENT,
        )
    except (MastodonError, KeyError, TypeError, ValueError) as error:
        unsafe = _find(error, UnsafeURL)
        if isinstance(unsafe, UnsafeURL):
            raise unsafe from error
        raise ConnectFailed(f"{url} did not accept CivicPost as an app. Is it a Mastodon server?") from error
    return client_id, client_secret


def _oauth_client(instance_url: str, client_id: str, client_secret: str) -> Mastodon:
    return Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=check_public_url(instance_url),
        ratelimit_method="throw",
        request_timeout=http_timeout(),  # type: ignore[arg-type]  # Mastodon.py says float; requests takes the pair
        mastodon_version=ASSUMED_MASTODON_VERSION,
        version_check_mode="created",
        session=guarded_session(http_timeout(), max_bytes=1024 * 1024),
        user_agent=USER_AGENT,
    )


def authorization_url(instance_url: str, client_id: str, client_secret: str, redirect_uri: str, state: str) -> str:
    """Returns the instance's page where an admin grants CivicPost access
    (https://docs.joinmastodon.org/methods/oauth/#authorize)."""
    api = _oauth_client(instance_url, client_id, client_secret)
    return api.auth_request_url(
        redirect_uris=redirect_uri,
        scopes=SCOPES,
        state=state,
        force_login=True,
        allow_http=settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS,
    )


def exchange_code(
    instance_url: str, client_id: str, client_secret: str, code: str, redirect_uri: str
) -> dict[str, Any]:
    """Exchanges the OAuth code for a token (https://docs.joinmastodon.org/methods/oauth/#token) and reads
    the account. Returns the channel credentials dict; the caller stores options["instance_url"].
    Raises UnsafeURL or ConnectFailed."""
    api = _oauth_client(instance_url, client_id, client_secret)
    try:
        token = api.log_in(
            code=code, redirect_uri=redirect_uri, scopes=SCOPES, allow_http=settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS
        )
        account = api.account_verify_credentials()
    except MastodonError as error:
        unsafe = _find(error, UnsafeURL)
        if isinstance(unsafe, UnsafeURL):
            raise unsafe from error
        raise ConnectFailed("Mastodon did not accept the sign-in; please try connecting again.") from error
    return {"access_token": token, "account_id": str(account["id"]), "acct": account["acct"], "scopes": SCOPES}


def _status_counts(status: Any) -> dict[str, int]:
    counts = {
        "likes": int(status.get("favourites_count") or 0),
        "shares": int(status.get("reblogs_count") or 0),
        "replies": int(status.get("replies_count") or 0),
    }
    if status.get("quotes_count") is not None:
        counts["quotes"] = int(status["quotes_count"])
    return counts


def _status_raw(status: Any) -> dict[str, Any]:
    keys = ("id", "url", "favourites_count", "reblogs_count", "replies_count", "quotes_count")
    return {key: (str(status[key]) if key == "id" else status.get(key)) for key in keys if key in status}


def _conversation_item(notification: Any, *, ours: set[str]) -> ConversationItem | None:
    """A `mention` notification (https://docs.joinmastodon.org/entities/Notification/) as an inbox item; its status
    null means the status was deleted since."""
    account = notification.get("account") or {}
    status = notification.get("status")
    created = _created_at(status or notification) or dt.datetime.now(tz=dt.UTC)
    raw = _jsonable(notification)
    if not status:
        return ConversationItem(
            remote_id=str(notification.get("id")),
            kind="mention",
            author_handle=str(account.get("acct") or ""),
            text="",
            created_at=created,
            deleted=True,
            raw=raw,
        )
    in_reply_to = str(status.get("in_reply_to_id") or "")
    return ConversationItem(
        remote_id=str(status["id"]),
        kind="reply" if in_reply_to in ours else "mention",
        author_handle="@" + str(account.get("acct") or ""),
        author_name=str(account.get("display_name") or ""),
        author_profile_url=str(account.get("url") or ""),
        text=_html_to_text(str(status.get("content") or "")).strip(),
        created_at=created,
        in_reply_to_remote_id=in_reply_to,
        permalink=str(status.get("url") or status.get("uri") or ""),
        media=tuple(
            {
                "url": str(m.get("url") or ""),
                "type": str(m.get("type") or ""),
                "alt_text": str(m.get("description") or ""),
            }
            for m in status.get("media_attachments") or []
        ),
        raw=raw,
    )
