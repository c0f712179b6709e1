"""Bluesky, through the atproto SDK (https://atproto.blue), signed in with an app password.

What a Bluesky channel stores
-----------------------------
channel.credentials (encrypted):
    handle          e.g. "parks.city.example"
    did             e.g. "did:plc:..." (the repository we write to)
    app_password    created in Bluesky Settings -> Privacy and security -> App passwords (never the main password)
    session_string  atproto's exported session (handle, did, access JWT, refresh JWT, PDS endpoint)
channel.options (plain):
    pds_url         the account's PDS or entryway; defaults to CIVICPOST_PLATFORM_URLS["bluesky"] or
                    https://bsky.social. Typed by an admin, so it passes the SSRF guard.

Signing in (com.atproto.server.createSession) is limited to 30 per 5 minutes and 300 per day per
account (https://docs.bsky.app/docs/advanced-guides/rate-limits), so we never sign in per post: the
session string is cached in the channel's encrypted credentials and the SDK refreshes it
(com.atproto.server.refreshSession) when the access token is near its end; every new or refreshed
session is written back. Only when the session cannot be refreshed do we sign in again with the
stored app password. `connect_with_app_password` is the first sign-in, for the connection flow.

Exactly once
------------
Bluesky has no idempotency key, but a client may choose the record key (rkey) of a new record
(https://docs.bsky.app/docs/api/com-atproto-repo-create-record). Each delivery's rkey is derived
from its idempotency key (`record_key_for`), so every retry writes to the same address, and
`reconcile` asks com.atproto.repo.getRecord whether that address holds our post: found -> published;
RecordNotFound -> safe to send again (same rkey); anything else -> a person checks.

The inbox (residents' replies, mentions and quotes)
---------------------------------------------------
Read with app.bsky.notification.listNotifications?reasons=reply&reasons=mention&reasons=quote&limit=100
(https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications). The list runs newest first and its
`cursor` pages back in time, so the stored cursor is JSON: `seen` (the newest indexedAt read completely), and
while a sweep is under way `page` (the listNotifications cursor to continue from) and `top` (the newest indexedAt
of that sweep). A sweep reads back page after page until it meets an item at or before `seen` (or the list ends),
then `seen` becomes `top`: nothing newer than `seen` is skipped, even when a sweep spans passes. The first read
takes the newest page only. Each notification is a post record (app.bsky.feed.post); a reply names
reply.parent / reply.root (uri + cid), kept so CivicPost's answer names the same root
(https://docs.bsky.app/docs/advanced-guides/posts#replies): publish() writes `reply` {root, parent} from
PostContent.reply_to (remote_id = the parent's at:// uri, details cid / root_cid).
Moderation: "hide" adds the reply's uri to the hiddenReplies of our root post's threadgate
(app.bsky.feed.threadgate, rkey = the root post's rkey; https://docs.bsky.app/docs/api/app-bsky-feed-threadgate
lexicon, "hiddenReplies", max 300) with com.atproto.repo.putRecord, keeping the gate's `allow` rules; "unhide"
takes it out again. Only replies under our own posts can be hidden. "mute" / "unmute":
app.bsky.graph.muteActor / unmuteActor (private to the account). Bluesky lets nobody delete another's post.
Access a city needs: the account's app password (as for posting); no paid tier.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import regex
from atproto_client import Client, models
from atproto_client.client.session import Session, SessionEvent
from atproto_client.exceptions import (
    BadRequestError,
    LoginRequiredError,
    NetworkError,
    RateLimitExceededError,
    RequestErrorBase,
    RequestException,
    UnauthorizedError,
)
from atproto_client.models.common import XrpcError
from atproto_client.models.utils import get_model_as_dict
from atproto_client.request import Request
from atproto_core.exceptions import AtProtocolError
from atproto_core.uri import AtUri
from atproto_server.exceptions import InvalidTokenError
from django.utils import timezone
from pydantic import ValidationError

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    CheckAgainLater,
    ConnectionCheck,
    ConversationItem,
    ConversationPage,
    ImageLimits,
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
    parse_expires_at,
)
from scheduler.adapters.bluesky.video import BLUESKY_VIDEO_LIMITS, poll_pending, upload_video, video_embed
from scheduler.adapters.http import USER_AGENT, httpx_timeout, platform_base_url
from scheduler.adapters.media import UploadImage, image_for_upload
from scheduler.adapters.ssrf import (
    ResponseTooLarge,
    UnsafeURL,
    check_public_url,
    guarded_httpx_transport,
)
from scheduler.adapters.video import PendingUpload, is_video, pending_reconcile

# The SDK can log request details at DEBUG (shared/platforms.md §1.5).
for _name in ("atproto_client", "httpx", "httpcore"):
    logging.getLogger(_name).setLevel(max(logging.INFO, logging.getLogger(_name).level))

T = TypeVar("T")

DEFAULT_PDS_URL = "https://bsky.social"
DEFAULT_WEB_URL = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"

# app.bsky.feed.post: text maxGraphemes 300, maxLength 3000 (UTF-8 bytes)
# (https://github.com/bluesky-social/atproto/blob/main/lexicons/app/bsky/feed/post.json)
MAX_GRAPHEMES = 300
MAX_TEXT_BYTES = 3000
MAX_IMAGES = 4
# app.bsky.embed.images: "May be up to 2 MB, formerly limited to 1 MB" (lexicon maxSize 2000000).
MAX_IMAGE_BYTES = 2_000_000
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
DEFAULT_RATE_LIMIT_WAIT_SECONDS = 60.0
IMAGES_OR_VIDEO = "Bluesky posts from CivicPost take images (JPEG, PNG, WebP, GIF) or one MP4 or MOV video."
ONE_VIDEO_ALONE = "A Bluesky post takes one video on its own, without images or a second video."

# https://docs.bsky.app/docs/advanced-guides/rate-limits and the XRPC error names of the lexicons
TOKEN_ERRORS = frozenset({"ExpiredToken", "InvalidToken"})
APP_PASSWORD_RE = re.compile(r"[a-z0-9]{4}(?:-[a-z0-9]{4}){3}")


# --- Text and record keys -----------------------------------------------------------------------


def bluesky_graphemes(text: str) -> int:
    """Returns the number of grapheme clusters (UAX #29, via `regex`'s \\X): Bluesky's unit for the 300 limit."""
    return len(regex.findall(r"\X", text))


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_TID_EPOCH_US = 1_672_531_200_000_000  # 2023-01-01T00:00:00Z
_TID_SPAN_US = 365 * 24 * 3600 * 1_000_000


def record_key_for(idempotency_key: str) -> str:
    """Returns the record key (a TID, 13 base32-sortable characters) for a delivery, derived from its
    idempotency key, so every retry of that delivery addresses the same record.

    app.bsky.feed.post records use TID keys (https://atproto.com/specs/record-key#record-key-type-tid).
    A TID is 1 zero bit, 53 bits of microseconds and a 10-bit clock id
    (https://atproto.com/specs/tid); here both parts come from a hash of the key, with the time part
    in 2023. Nothing we know of reads meaning into a post's key time (feeds sort by createdAt and
    indexing time); verify on a live account."""
    digest = hashlib.sha256(f"civicpost:bluesky:{idempotency_key}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    timestamp_us = _TID_EPOCH_US + (number >> 10) % _TID_SPAN_US
    value = (timestamp_us << 10) | (number & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> (5 * shift)) & 31] for shift in reversed(range(13)))


def _error_name(error: BaseException) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    return content.error if isinstance(content, XrpcError) else ""


def _error_message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    content = getattr(response, "content", None)
    if isinstance(content, XrpcError):
        message: str = content.message or content.error
        return message
    return str(error)


def _status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def _is_token_error(error: BaseException) -> bool:
    """The access token was refused (expired or revoked), or the client had no usable session."""
    if isinstance(error, LoginRequiredError | InvalidTokenError):
        return True
    return isinstance(error, UnauthorizedError | BadRequestError) and _error_name(error) in TOKEN_ERRORS


def _failed_before_sending(error: BaseException) -> bool:
    """True when the connection never opened (refused, DNS failure, connect timeout): nothing was sent."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, httpx.ConnectError | httpx.ConnectTimeout):
            return True
        current = current.__cause__ or current.__context__
    return False


def _find_unsafe(error: BaseException) -> UnsafeURL | None:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnsafeURL):
            return current
        current = current.__cause__ or current.__context__
    return None


def map_error(error: BaseException, *, sent: bool) -> AdapterError:
    """Maps an atproto failure onto the shared vocabulary. `sent` says whether the call may have
    created the post (only createRecord)."""
    if isinstance(error, AdapterError):
        return error
    unsafe = _find_unsafe(error)
    if unsafe is not None:
        return PublishError(f"The Bluesky server address cannot be used: {unsafe.message}", permanent=True)
    name, message, status = _error_name(error), _error_message(error), _status(error)
    if isinstance(error, RateLimitExceededError):
        # 429 RateLimitExceeded with ratelimit-reset (epoch seconds) / retry-after
        # (https://docs.bsky.app/docs/advanced-guides/rate-limits).
        wait = error.retry_after
        if wait is None and error.reset_at is not None:
            wait = (error.reset_at - dt.datetime.now(dt.UTC)).total_seconds()
        return RateLimited(
            "Bluesky asked us to slow down; the post will be sent when the limit resets.",
            retry_after=wait if wait and wait > 0 else DEFAULT_RATE_LIMIT_WAIT_SECONDS,
            code=name or "RateLimitExceeded",
        )
    if _is_token_error(error) or isinstance(error, UnauthorizedError):
        # 401/403 AuthenticationRequired (wrong or revoked app password), ExpiredToken/InvalidToken after a
        # failed refresh, AccountTakedown... (https://docs.bsky.app/docs/api/com-atproto-server-create-session).
        return AuthExpired(
            f"Bluesky no longer accepts CivicPost's sign-in for this account ({name or status or 'no session'}); "
            "a department admin must reconnect it with a new app password.",
            code=name,
        )
    if isinstance(error, BadRequestError):
        # 400 InvalidRequest and other named errors: the PDS rejected this record; it will again.
        # (https://docs.bsky.app/docs/api/com-atproto-repo-create-record)
        return PublishError(f"Bluesky rejected the post: {message}", permanent=True, code=name)
    if isinstance(error, NetworkError) and error.response is not None:
        # atproto raises NetworkError for 409, 413 and 502 answers.
        if status == 413:
            return PublishError("Bluesky refused an attachment as too large.", permanent=True, code="413")
        if sent:
            return OutcomeUnknown(f"Bluesky answered {status}; checking whether the post arrived.", code=str(status))
        return PublishError(f"Bluesky answered {status}; will try again.", permanent=False, code=str(status))
    if isinstance(error, NetworkError):  # transport failure, InvokeTimeoutError included
        if _failed_before_sending(error):
            return PublishError("Could not connect to Bluesky; nothing was sent.", permanent=False)
        if sent:
            return OutcomeUnknown("Bluesky did not answer in time; checking whether the post arrived.")
        return PublishError("The connection to Bluesky failed; will try again.", permanent=False)
    if isinstance(error, RequestException) and status is not None:
        if status >= 500:
            # A 5xx after createRecord may still have written the record (the reference PDS even answers
            # 500 for an rkey that already exists: bluesky-social/atproto#3718), so it is reconciled.
            if sent:
                return OutcomeUnknown(f"Bluesky answered {status}; checking whether the post arrived.", code=name)
            return PublishError(f"Bluesky answered {status}; will try again.", permanent=False, code=name)
        return PublishError(f"Bluesky rejected the request ({status}): {message}", permanent=True, code=name)
    if isinstance(error, ResponseTooLarge):
        if sent:
            return OutcomeUnknown("Bluesky sent an oversized answer; checking whether the post arrived.")
        return PublishError("Bluesky sent an oversized answer.", permanent=True)
    if isinstance(error, ValidationError | ValueError):
        # Our record failed the SDK's lexicon model before anything was sent.
        return PublishError(f"The post could not be prepared for Bluesky: {error}", permanent=True)
    if sent:
        return OutcomeUnknown(f"Unexpected answer from Bluesky ({type(error).__name__}); checking before resending.")
    return PublishError(f"Unexpected answer from Bluesky ({type(error).__name__}).", permanent=False)


def _new_client(base_url: str) -> Client:
    request = Request(
        transport=guarded_httpx_transport(),
        timeout=httpx_timeout(),
        trust_env=False,
    )
    client = Client(base_url=base_url, request=request)
    client.request.add_additional_header("User-Agent", USER_AGENT)
    return client


def _default_pds_url() -> str:
    return platform_base_url("bluesky", DEFAULT_PDS_URL)


def _web_url() -> str:
    return platform_base_url("bluesky_web", DEFAULT_WEB_URL)


class ConnectFailed(AdapterError):
    """Connecting a Bluesky account did not work; the message says why in plain words."""


# --- The adapter --------------------------------------------------------------------------------


class BlueskyAdapter(PlatformAdapter):
    platform = "bluesky"
    label = "Bluesky"
    # A reply is a post whose record names `reply: {root, parent}`, each a strong ref {uri, cid}
    # (https://docs.bsky.app/docs/advanced-guides/posts#replies-quote-posts-and-embeds, lexicon
    # app.bsky.feed.post#replyRef): a thread's parts answer the part before, with part 1 as the root.
    supports_replies = True
    supports_threads = True
    supports_inbox = True
    moderation_actions = frozenset({"hide", "mute"})
    undo_actions = frozenset({"unhide", "unmute"})
    max_media = MAX_IMAGES
    # Larger images are scaled down and re-compressed at publish time (scheduler/adapters/media.py).
    image_limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES, mime_types=IMAGE_TYPES)

    # --- session ---

    @property
    def pds_url(self) -> str:
        """The channel's PDS, checked by the SSRF guard. Raises UnsafeURL."""
        return check_public_url(self.account.options.get("pds_url") or _default_pds_url())

    @property
    def did(self) -> str:
        did: str = self.account.credentials.get("did", "")
        return did

    @property
    def handle(self) -> str:
        return self.account.credentials.get("handle") or self.account.handle.lstrip("@")

    def _store_credentials(self, changes: dict[str, Any]) -> None:
        """Keeps a new session in memory and hands it out in `updated_credentials`: every caller saves it
        (publishing, the connection check), because a refreshed session replaces the old refresh token."""
        self._renewed_credentials(changes)

    def _on_session_change(self, event: SessionEvent, session: Session) -> None:
        if event in (SessionEvent.CREATE, SessionEvent.REFRESH):
            self._store_credentials({"session_string": session.encode(), "did": session.did, "handle": session.handle})

    def _open_session(self, client: Client) -> None:
        """Gives the client the cached session (refreshed first if it is near its end), or signs in with
        the app password when there is no usable session."""
        client.on_session_change(self._on_session_change)
        session_string = self.account.credentials.get("session_string")
        if session_string:
            try:
                client.login(session_string=session_string, fetch_bsky_profile=False)
                # Refresh here, before the real call, rather than inside it (as the SDK would), so that a
                # failed refresh can never be mistaken for a failed post.
                if client._should_refresh_session():
                    client._refresh_and_set_session()
                return
            except (ValueError, AtProtocolError) as error:
                # An unreadable or expired session: sign in again below. Anything else is for the caller.
                if isinstance(error, RequestErrorBase) and not (
                    _is_token_error(error) or isinstance(error, UnauthorizedError)
                ):
                    raise
        self._sign_in(client)

    def _sign_in(self, client: Client) -> None:
        app_password = self.account.credentials.get("app_password")
        # The DID, not the handle: a handle can be changed by its owner at any time and the old one then names
        # nobody (createSession answers 401), while the DID stays the account's for good. createSession takes
        # either as `identifier` (https://docs.bsky.app/docs/api/com-atproto-server-create-session).
        identifier = self.did or self.handle
        if not (identifier and app_password):
            raise AuthExpired("This Bluesky channel has no app password; a department admin must connect it.")
        # com.atproto.server.createSession: limited to 30 per 5 minutes per account, hence the cache.
        client.login(identifier, app_password, fetch_bsky_profile=False)

    def _renew(self, client: Client) -> None:
        """After the PDS refused the access token: refresh the session once, else sign in again."""
        try:
            # No public refresh in atproto 0.0.73; this is what Client._invoke calls before expiry.
            client._refresh_and_set_session()
            return
        except Exception as error:  # noqa: BLE001 - any failure means "sign in again"
            if not (_is_token_error(error) or isinstance(error, UnauthorizedError | BadRequestError)):
                raise
        self._sign_in(client)

    def _run(self, operation: Callable[[Client], T], *, sent: bool) -> T:
        """Runs `operation` with a signed-in client; maps failures onto the shared vocabulary.

        A refused token (ExpiredToken / InvalidToken) means the PDS did not act on the request, so the
        session is renewed once and the operation retried once; refused again -> AuthExpired."""
        try:
            client = _new_client(self.pds_url)
        except UnsafeURL as error:
            raise PublishError(f"The Bluesky server address cannot be used: {error.message}", permanent=True) from error
        try:
            return self._run_with(client, operation, sent=sent)
        finally:
            client.request.close()

    def _run_with(self, client: Client, operation: Callable[[Client], T], *, sent: bool) -> T:
        try:
            self._open_session(client)
        except Exception as error:  # noqa: BLE001 - mapped
            raise map_error(error, sent=False) from error
        try:
            return operation(client)
        except Exception as error:  # noqa: BLE001 - mapped
            if not _is_token_error(error):
                raise map_error(error, sent=sent) from error
        try:
            self._renew(client)
        except Exception as error:  # noqa: BLE001 - mapped
            raise map_error(error, sent=False) from error
        try:
            return operation(client)
        except Exception as error:  # noqa: BLE001 - mapped
            if _is_token_error(error):
                raise AuthExpired(
                    "Bluesky refused CivicPost's session right after renewing it; "
                    "a department admin must reconnect the channel.",
                    code=_error_name(error),
                ) from error
            raise map_error(error, sent=sent) from error

    # --- contract ---

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=bluesky_graphemes(content.text_with_link()), limit=MAX_GRAPHEMES)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        size = len(content.text_with_link().encode("utf-8"))
        if size > MAX_TEXT_BYTES:
            problems.append(Problem(f"Bluesky allows {MAX_TEXT_BYTES} bytes of text; this post has {size}."))
        if any(is_video(item) for item in content.media) and len(content.media) > 1:
            problems.append(Problem(ONE_VIDEO_ALONE, "media"))
        for item in content.media:
            if item.mime_type not in IMAGE_TYPES and not is_video(item):
                problems.append(Problem(IMAGES_OR_VIDEO, "media"))
        return problems

    video_limits = BLUESKY_VIDEO_LIMITS

    def _record(
        self,
        client: Client,
        content: PostContent,
        images: list[UploadImage],
        video_blob: dict[str, Any] | None = None,
    ) -> models.AppBskyFeedPost.Record:
        """Builds the post record: facets (links, mentions resolved to DIDs, hashtags; UTF-8 byte
        offsets), uploaded images with alt text, language."""
        text = content.text_with_link()
        # Links and hashtags are found offline; @handles are resolved with com.atproto.identity.resolveHandle
        # (https://docs.bsky.app/docs/advanced-guides/post-richtext). Unresolvable mentions stay plain text.
        facets = client.detect_facets(text)
        embed: models.AppBskyEmbedImages.Main | models.AppBskyEmbedVideo.Main | None = None
        if images:
            embedded = []
            for item, image in zip(content.media, images, strict=True):
                # https://docs.bsky.app/docs/api/com-atproto-repo-upload-blob
                upload = client.com.atproto.repo.upload_blob(image.data, headers={"Content-Type": image.mime_type})
                aspect = models.AppBskyEmbedDefs.AspectRatio(width=image.width, height=image.height)
                embedded.append(
                    models.AppBskyEmbedImages.Image(alt=item.alt_text, image=upload.blob, aspect_ratio=aspect)
                )
            embed = models.AppBskyEmbedImages.Main(images=embedded)
        elif video_blob is not None:
            embed = video_embed(client, content.media[0], video_blob, language=content.language)
        created_at = timezone.now().astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return models.AppBskyFeedPost.Record(
            created_at=created_at,
            text=text,
            facets=facets or None,
            embed=embed,
            langs=[content.language] if content.language else None,
            reply=self._reply_fields(client, content),
        )

    def _reply_fields(self, client: Client, content: PostContent) -> models.AppBskyFeedPost.ReplyRef | None:
        """The record's `reply` when content answers a post: {root, parent}, each {uri, cid}. The cids come
        with the reply target (what publishing kept of the earlier answers); one it lacks is read with
        com.atproto.repo.getRecord (https://docs.bsky.app/docs/api/com-atproto-repo-get-record)."""
        target = content.reply_to
        if target is None:
            return None
        parent_uri = target.remote_id
        root_uri = target.root_remote_id or parent_uri
        parent_cid = str(target.details.get("cid") or "") or self._cid_of(client, parent_uri)
        if root_uri == parent_uri:
            root_cid = parent_cid
        else:
            root_cid = str(target.details.get("root_cid") or "") or self._cid_of(client, root_uri)
        return models.AppBskyFeedPost.ReplyRef(
            parent=models.ComAtprotoRepoStrongRef.Main(uri=parent_uri, cid=parent_cid),
            root=models.ComAtprotoRepoStrongRef.Main(uri=root_uri, cid=root_cid),
        )

    @staticmethod
    def _cid_of(client: Client, uri: str) -> str:
        """Returns the cid of the record at `uri`. Raises PublishError when it is gone (nothing to answer)."""
        at_uri = AtUri.from_str(uri)
        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=at_uri.host, collection=at_uri.collection, rkey=at_uri.rkey)
            )
        except BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                raise PublishError(
                    "The Bluesky post this one answers is no longer there; it was not sent.", permanent=True
                ) from error
            raise
        return str(found.cid or "")

    def _result(self, uri: str, cid: str, rkey: str, record: Any) -> PublishResult:
        handle = self.handle or AtUri.from_str(uri).host
        return PublishResult(
            remote_id=uri,
            permalink=f"{_web_url()}/profile/{handle}/post/{rkey}",
            raw={"uri": uri, "cid": cid, "rkey": rkey, "record": get_model_as_dict(record) if record else None},
        )

    def _lookup(self, client: Client, rkey: str) -> PublishResult | None:
        """com.atproto.repo.getRecord for our rkey: the post, or None on RecordNotFound
        (https://docs.bsky.app/docs/api/com-atproto-repo-get-record)."""
        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(
                    repo=self.did or self.handle, collection=POST_COLLECTION, rkey=rkey
                )
            )
        except BadRequestError as error:
            if _error_name(error) == "RecordNotFound":
                return None
            raise
        return self._result(found.uri, found.cid or "", rkey, found.value)

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        rkey = record_key_for(idempotency_key)
        if any(item.mime_type not in IMAGE_TYPES and not is_video(item) for item in content.media):
            raise PublishError(IMAGES_OR_VIDEO, permanent=True)
        videos = [item for item in content.media if is_video(item)]
        if videos and len(content.media) > 1:
            raise PublishError(ONE_VIDEO_ALONE, permanent=True)
        pending = None
        video_blob = None
        if videos:
            # The video service encodes it first (bluesky/video.py); the record is created once it is done.
            video_blob = self._run(
                lambda client: upload_video(self, client, videos[0], idempotency_key=idempotency_key), sent=False
            )
            pending = PendingUpload.load(self.platform, idempotency_key)
        images = [image_for_upload(item, self.image_limits, label=self.label) for item in content.media if not videos]
        record = self._run(lambda client: self._record(client, content, images, video_blob), sent=False)
        if pending is not None:
            pending.save(post_sent=True)

        def create(client: Client) -> PublishResult:
            repo = self.did or self.handle
            try:
                # com.atproto.repo.createRecord with our own rkey
                # (https://docs.bsky.app/docs/api/com-atproto-repo-create-record)
                created = client.app.bsky.feed.post.create(repo, record, rkey=rkey)
            except (BadRequestError, NetworkError, RequestException) as error:
                # A record at our rkey already exists: an earlier attempt arrived. The newer PDS names
                # the error (bluesky-social/atproto#4728); read the record to report it.
                if _error_name(error) == "RecordAlreadyExists" or _status(error) == 409:
                    existing = self._lookup(client, rkey)
                    if existing is not None:
                        return existing
                raise
            return self._result(created.uri, created.cid, rkey, record)

        result = self._run(create, sent=True)
        if pending is not None:
            pending.clear()
        return result

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        if pending_reconcile(self, idempotency_key, lambda upload: poll_pending(self, upload)):
            return None  # the record was never sent: the next attempt resumes the video and posts
        rkey = record_key_for(idempotency_key)
        try:
            return self._run(lambda client: self._lookup(client, rkey), sent=False)
        except RateLimited as error:
            raise CheckAgainLater(
                f"Could not check Bluesky yet: {error.message}", retry_after=error.retry_after
            ) from error
        except PublishError as error:
            if not error.permanent:  # timeout, connection failure, 5xx: look again shortly
                raise CheckAgainLater(f"Could not check Bluesky yet: {error.message}", retry_after=60.0) from error
            raise OutcomeUnknown(f"Could not check Bluesky for the post: {error.message}") from error
        except AdapterError as error:
            raise OutcomeUnknown(f"Could not check Bluesky for the post: {error.message}") from error

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        # com.atproto.repo.deleteRecord: "Delete a record, or ensure it doesn't exist."
        self._run(lambda client: client.delete_post(remote_id), sent=False)

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """One page of replies, mentions and quotes (see the module's docstring for the cursor)."""
        state = _conversation_state(cursor)
        params: dict[str, Any] = {"reasons": list(CONVERSATION_REASONS), "limit": NOTIFICATIONS_PAGE_SIZE}
        if state.get("page"):
            params["cursor"] = state["page"]
        answer = self._run(lambda client: client.app.bsky.notification.list_notifications(params), sent=False)
        raw = get_model_as_dict(answer)
        notifications = raw.get("notifications") or []
        seen = str(state.get("seen") or "")
        fresh = [n for n in notifications if not seen or str(n.get("indexedAt") or "") > seen]
        items = tuple(_conversation_item(n) for n in fresh if n.get("reason") in CONVERSATION_REASONS)
        newest = max([str(n.get("indexedAt") or "") for n in notifications] + [str(state.get("top") or "")])
        reached_seen = len(fresh) < len(notifications)
        next_page = raw.get("cursor")
        if not seen or reached_seen or not next_page or not notifications:
            done = {"seen": max(newest, seen)} if (newest or seen) else {}
            return ConversationPage(items=items, next_cursor=json.dumps(done) if done else None)
        sweeping = {"seen": seen, "page": next_page, "top": newest}
        return ConversationPage(items=items, next_cursor=json.dumps(sweeping), more=True)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        if action in ("hide", "unhide"):
            return self._run(lambda client: self._threadgate_hide(client, item, hide=action == "hide"), sent=False)
        author = str((item.raw.get("author") or {}).get("did") or "")
        if action not in ("mute", "unmute") or not author:
            raise PublishError(f"Bluesky does not let CivicPost {action} this.", permanent=True)

        def mute(client: Client) -> ModerationResult:
            # app.bsky.graph.muteActor / unmuteActor (https://docs.bsky.app/docs/api/app-bsky-graph-mute-actor)
            if action == "mute":
                client.app.bsky.graph.mute_actor({"actor": author})
            else:
                client.app.bsky.graph.unmute_actor({"actor": author})
            return ModerationResult(done=True, raw={"actor": author, "action": action})

        return self._run(mute, sent=False)

    def _threadgate_hide(self, client: Client, item: ConversationItem, *, hide: bool) -> ModerationResult:
        root = item.root_remote_id or item.in_reply_to_remote_id
        repo = self.did or self.handle
        if not root.startswith(f"at://{self.did}/{POST_COLLECTION}/"):
            raise PublishError("Bluesky hides only replies under the city's own posts.", permanent=True)
        rkey = AtUri.from_str(root).rkey
        gate: dict[str, Any] = {"$type": THREADGATE_COLLECTION, "post": root}
        try:
            found = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=repo, collection=THREADGATE_COLLECTION, rkey=rkey)
            )
            gate = {**get_model_as_dict(found.value), "$type": THREADGATE_COLLECTION, "post": root}
        except BadRequestError as error:
            if _error_name(error) != "RecordNotFound":
                raise
        gate.pop("py_type", None)
        hidden = [uri for uri in gate.get("hiddenReplies") or [] if uri != item.remote_id]
        if hide:
            hidden.append(item.remote_id)
        gate["hiddenReplies"] = hidden
        gate.setdefault(
            "createdAt", timezone.now().astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        # com.atproto.repo.putRecord (https://docs.bsky.app/docs/api/com-atproto-repo-put-record)
        written = client.com.atproto.repo.put_record(
            models.ComAtprotoRepoPutRecord.Data(repo=repo, collection=THREADGATE_COLLECTION, rkey=rkey, record=gate)
        )
        return ModerationResult(done=True, raw={"uri": written.uri, "cid": written.cid, "hiddenReplies": hidden})

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        # app.bsky.feed.getPosts (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts)
        response = self._run(lambda client: client.get_posts([remote_id]), sent=False)
        if not response.posts:
            return {}
        post = response.posts[0]
        return {
            "likes": post.like_count or 0,
            "shares": post.repost_count or 0,
            "replies": post.reply_count or 0,
            "quotes": post.quote_count or 0,
        }

    # app.bsky.feed.getPosts takes up to 25 URIs (https://docs.bsky.app/docs/api/app-bsky-feed-get-posts).
    metrics_batch_size = 25

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """One getPosts call for up to 25 URIs. A URI missing from the answer is deleted or hidden (the
        AppView leaves out posts it will not show). Bluesky reports no views or clicks."""
        uris = remote_ids[: self.metrics_batch_size]
        response = self._run(lambda client: client.get_posts(uris), sent=False)
        readings: dict[str, MetricsReading | Removed] = {}
        for post in response.posts:
            counts = {
                "likes": int(post.like_count or 0),
                "shares": int(post.repost_count or 0),
                "replies": int(post.reply_count or 0),
                "quotes": int(post.quote_count or 0),
            }
            readings[post.uri] = MetricsReading(counts=counts, raw={"uri": post.uri, "cid": post.cid, **counts})
        for uri in uris:
            readings.setdefault(uri, Removed(reason="Bluesky no longer shows this post."))
        return readings

    def fetch_followers(self) -> int | None:
        """app.bsky.actor.getProfile: followersCount."""
        # The DID survives a change of handle; `_run` signs in first, which stores it.
        profile = self._run(lambda client: client.get_profile(self.did or self.handle), sent=False)
        return int(profile.followers_count or 0)

    def check_connection(self) -> ConnectionCheck:
        """Reads the account's profile (app.bsky.actor.getProfile). App passwords do not expire, and the
        session renews itself, so there is no expiry to report."""
        try:
            profile = self._run(
                lambda client: client.app.bsky.actor.get_profile(
                    models.AppBskyActorGetProfile.Params(actor=self.did or self.handle)
                ),
                sent=False,
            )
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        return ConnectionCheck(ok=True, message=f"Connected as @{profile.handle}.")


# --- Connecting an account (called by the channel connection flow) ----------------------------------


def connect_with_app_password(handle: str, app_password: str, pds_url: str | None = None) -> dict[str, Any]:
    """Signs in once with an app password and returns the channel credentials dict
    (handle, did, app_password, session_string). The caller stores `pds_url` (if not the default) in
    options["pds_url"]. Raises UnsafeURL for an address we may not connect to, or ConnectFailed."""
    app_password = app_password.strip()
    if not APP_PASSWORD_RE.fullmatch(app_password):
        raise ConnectFailed(
            "Use an app password (Bluesky Settings, Privacy and security, App passwords), "
            "not the account's main password. It looks like xxxx-xxxx-xxxx-xxxx."
        )
    client = _new_client(check_public_url(pds_url or _default_pds_url()))
    try:
        client.login(handle.strip().lstrip("@"), app_password, fetch_bsky_profile=False)
        session = Session.decode(client.export_session_string())
    except Exception as error:  # noqa: BLE001 - every failure becomes a plain message
        mapped = map_error(error, sent=False)
        if isinstance(mapped, AuthExpired):
            raise ConnectFailed("Bluesky did not accept this handle and app password.") from error
        if isinstance(mapped, RateLimited):
            raise ConnectFailed(
                "Bluesky has seen too many sign-ins for this account; try again in a few minutes."
            ) from error
        unsafe = _find_unsafe(error)
        if unsafe is not None:
            raise unsafe from error
        raise ConnectFailed(f"Could not sign in to Bluesky: {mapped.message}") from error
    finally:
        client.request.close()
    return {
        "handle": session.handle,
        "did": session.did,
        "app_password": app_password,
        "session_string": session.encode(),
    }


CONVERSATION_REASONS = ("reply", "mention", "quote")
# listNotifications takes 1-100 a page (https://docs.bsky.app/docs/api/app-bsky-notification-list-notifications).
NOTIFICATIONS_PAGE_SIZE = 100
THREADGATE_COLLECTION = "app.bsky.feed.threadgate"


def _conversation_state(cursor: str | None) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def _conversation_item(notification: dict[str, Any]) -> ConversationItem:
    """A listNotifications entry (reason reply / mention / quote) as an inbox item."""
    author = notification.get("author") or {}
    record = notification.get("record") or {}
    reply = record.get("reply") or {}
    parent, root = reply.get("parent") or {}, reply.get("root") or {}
    uri = str(notification.get("uri") or "")
    handle = str(author.get("handle") or "")
    created = parse_expires_at(record.get("createdAt") or notification.get("indexedAt")) or dt.datetime.now(tz=dt.UTC)
    images = ((record.get("embed") or {}).get("images")) or []
    rkey = uri.rsplit("/", 1)[-1]
    return ConversationItem(
        remote_id=uri,
        kind=str(notification.get("reason") or "mention"),
        author_handle="@" + handle,
        author_name=str(author.get("displayName") or ""),
        author_profile_url=f"{_web_url()}/profile/{handle}" if handle else "",
        text=str(record.get("text") or ""),
        created_at=created,
        in_reply_to_remote_id=str(parent.get("uri") or notification.get("reasonSubject") or ""),
        root_remote_id=str(root.get("uri") or ""),
        permalink=f"{_web_url()}/profile/{handle}/post/{rkey}" if handle else "",
        media=tuple({"url": "", "type": "image", "alt_text": str(image.get("alt") or "")} for image in images),
        reply_details={"cid": str(notification.get("cid") or ""), "root_cid": str(root.get("cid") or "")},
        raw=notification,
    )
