"""Threads: container -> publish on graph.threads.net, through graph.py's client (API version "v1.0").

Channel layout:
    credentials (encrypted): {"access_token": "<60-day token>", "expires_at": "<ISO 8601>"}
    options:                 {"threads_user_id": "<Threads user id>", "username": "<handle>"}
Tokens last 60 days; `refresh_credentials()` renews one that is at least 24 h old and not expired
(GET /refresh_access_token?grant_type=th_refresh_token) and returns the new credentials with `expires_at`.
A periodic task must call it well before expiry (weekly is plenty).

Requests (https://developers.facebook.com/docs/threads/posts), base {host}/v1.0:
    container   POST /{threads-user-id}/threads  media_type=TEXT|IMAGE|VIDEO|CAROUSEL, text, image_url, video_url,
                alt_text, is_carousel_item, children                                 -> {"id": "<container-id>"}
    status      GET  /{container-id}?fields=status,error_message   IN_PROGRESS -> FINISHED | ERROR | EXPIRED
    publish     POST /{threads-user-id}/threads_publish  creation_id                 -> {"id": "<media-id>"}
    permalink   GET  /{media-id}?fields=permalink
    reconcile   GET  /{threads-user-id}/threads?fields=id,text,timestamp,permalink&since=<sent_at - 2 min>
                &until=<sent_at + 10 min, not past now>&limit=100, then each paging.next (up to 10 pages);
                a reply is looked for in GET /{threads-user-id}/replies (same fields and window)
    reply       the container takes reply_to_id=<the media id answered>, then threads_publish as usual
                (https://developers.facebook.com/documentation/threads/retrieve-and-manage-replies/create-replies;
                threads_manage_replies permission; 1,000 API-published replies per profile per 24 h)
    delete      DELETE /{media-id}                        -> {"success": true, "deleted_id": ...} (100 a day)
    metrics     GET  /{media-id}/insights?metric=views,likes,replies,reposts,quotes,shares
The inbox (residents' replies to our posts; verified offline only, against the Reply Management reference's shapes,
https://developers.facebook.com/documentation/threads/reference/reply-management):
    read        GET  /{threads-media-id}/conversation?fields=id,text,username,permalink,timestamp,media_type,
                media_url,hide_status,is_reply_owned_by_me,replied_to,root_post&reverse=true&limit=50&after=<cursor>
                (every reply, nested ones too, newest first), one post per request in rounds
                (graph.comments_read_step); our own replies (is_reply_owned_by_me) are left out
    reply       the container with reply_to_id=<the resident's reply>, as every reply
    hide        POST /{threads-reply-id}/manage_reply  hide=true | false     -> {"success": true}; only top-level
                replies can be hidden (their nested replies are hidden with them); Threads refuses the others
    Threads lets no app delete another person's reply, block or mute: hide is the only moderation. A deleted reply
    is no longer listed. Access a city needs: threads_basic, threads_read_replies, threads_manage_replies (App
    Review); channels connected before these scopes were added must be reconnected.
Text: at most 500 characters, where an emoji counts as its UTF-8 byte length (shared/platforms.md §5.2).

Connecting (https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions):
    authorization_url() -> exchange_code() (1-hour token) -> exchange_long_lived_token() (60 days) -> profile()
    -> threads_channel_fields(). Threads documents no PKCE parameters for its authorization window, so the
    flow relies on `state` and the app secret (kept server-side).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    ConnectionCheck,
    ConversationItem,
    ConversationPage,
    ImageLimits,
    MediaItem,
    ModerationResult,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    TextLength,
    VideoLimits,
    parse_expires_at,
)
from scheduler.adapters.graph import (
    OBJECT_GONE_CODES,
    ContainerApi,
    GraphClient,
    OAuthToken,
    comments_read_step,
    expiry_message,
    parse_graph_time,
    publish_container,
    reconcile_media_listing,
)
from scheduler.adapters.graph_video import poll_container, publish_video_container
from scheduler.adapters.http import platform_base_url
from scheduler.adapters.media import is_image, media_urls_for
from scheduler.adapters.video import is_video, pending_reconcile, video_for_upload

THREADS_HOST = "https://graph.threads.net"
THREADS_API_VERSION = "v1.0"
THREADS_AUTHORIZE_URL = "https://threads.com/oauth/authorize"
THREADS_TEXT_LIMIT = 500
THREADS_MAX_MEDIA = 20  # carousel items
# JPEG or PNG, up to 8 MB, width / height between 1:10 and 10:1 (Threads API media specifications [k]).
# Other images get a fitted copy at publish time (converted, scaled, padded; never cropped).
THREADS_IMAGE_TYPES = ("image/jpeg", "image/png")
THREADS_MAX_IMAGE_BYTES = 8 * 1024 * 1024
THREADS_ASPECT_RANGE = (Fraction(1, 10), Fraction(10, 1))
THREADS_VIDEO_TYPES = ("video/mp4", "video/quicktime")
THREADS_SCOPES = (
    "threads_basic",
    "threads_content_publish",
    "threads_manage_insights",
    "threads_delete",
    # The inbox: reading and hiding replies to the profile's posts.
    "threads_read_replies",
    "threads_manage_replies",
)
REPLY_FIELDS = (
    "id,text,username,permalink,timestamp,media_type,media_url,hide_status,is_reply_owned_by_me,replied_to,root_post"
)
THREADS_NOT_READY = "Threads has not finished preparing the post; CivicPost will try again shortly."
THREADS_CONTAINERS = ContainerApi(
    status_fields="status,error_message",
    status_field="status",
    details_field="error_message",
    subject="the post",
    remote_id_name="post id",
    expired_message=THREADS_NOT_READY,
    in_progress_message=THREADS_NOT_READY,
)

# Video (https://developers.facebook.com/docs/threads/overview#video-specifications): MOV or MP4 with the moov atom
# first, H.264 or HEVC, AAC sound (48 kHz at most), 23 to 60 frames a second, at most 1920 pixels wide, aspect ratio
# 0.01:1 to 10:1 (9:16 recommended), up to 5 minutes, 1 GB. Access: threads_content_publish (App Review). Captions:
# the API takes none, so burned-in captions are what reaches residents.
THREADS_VIDEO_LIMITS = VideoLimits(
    max_bytes=1024 * 1024 * 1024,
    max_seconds=300.0,
    mime_types=("video/mp4", "video/quicktime"),
    video_codecs=("h264", "hevc"),
    audio_codecs=("aac", ""),
    aspect_range=(Fraction(1, 100), Fraction(10, 1)),
    min_frame_rate=23.0,
    max_frame_rate=60.0,
    max_width=1920,
    max_height=3414,
)
INSIGHT_METRICS = ("views", "likes", "replies", "reposts", "quotes", "shares")

# --- Length: emoji count as their UTF-8 bytes ----------------------------------------------------------

# Code points that are emoji by default (Emoji_Presentation and the pictographic blocks).
_EMOJI_RANGES = (
    (0x1F000, 0x1FAFF),  # mahjong ... symbols and pictographs extended-A, incl. flags and skin tones
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats
    (0x231A, 0x231B),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x25FD, 0x25FE),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
)
# Parts of an emoji sequence: zero-width joiner, variation selector-16, keycap, tag characters.
_ZWJ = 0x200D
_VS16 = 0xFE0F
_KEYCAP = 0x20E3
_TAGS = (0xE0020, 0xE007F)


def _is_emoji_base(code_point: int) -> bool:
    return any(start <= code_point <= end for start, end in _EMOJI_RANGES)


def _is_emoji_part(code_point: int) -> bool:
    return code_point in (_ZWJ, _VS16, _KEYCAP) or _TAGS[0] <= code_point <= _TAGS[1]


def threads_text_length(text: str) -> int:
    """Returns the length as Threads counts it: one per character, an emoji its UTF-8 byte length.

    A whole emoji sequence (skin tone, ZWJ family, flag, keycap, text symbol + VS16) counts its bytes."""
    total = 0
    chars = list(text)
    index = 0
    while index < len(chars):
        code_point = ord(chars[index])
        following = ord(chars[index + 1]) if index + 1 < len(chars) else None
        starts_emoji = _is_emoji_base(code_point) or following in (_VS16, _KEYCAP)
        if not starts_emoji:
            total += 1
            index += 1
            continue
        end = index + 1
        while end < len(chars):
            current = ord(chars[end])
            previous = ord(chars[end - 1])
            joined = (
                _is_emoji_part(current)
                or 0x1F3FB <= current <= 0x1F3FF  # skin tone
                or previous == _ZWJ  # the next pictograph of a ZWJ sequence
                # the second regional indicator of a flag
                or (end - index == 1 and 0x1F1E6 <= current <= 0x1F1FF and 0x1F1E6 <= previous <= 0x1F1FF)
            )
            if not joined:
                break
            end += 1
        total += len("".join(chars[index:end]).encode("utf-8"))
        index = end
    return total


def threads_client(  # nosec B107  # empty default: no token yet
    access_token: str = "", *, version: str = THREADS_API_VERSION, session: requests.Session | None = None
) -> GraphClient:
    return GraphClient(
        base_url=platform_base_url("threads", THREADS_HOST),
        version=version,
        access_token=access_token,
        label="Threads",
        session=session,
    )


def _is_video(item: MediaItem) -> bool:
    return item.mime_type.startswith("video/")


class ThreadsAdapter(PlatformAdapter):
    platform = "threads"
    video_limits = THREADS_VIDEO_LIMITS
    label = "Threads"
    max_media = THREADS_MAX_MEDIA
    metrics_gone_codes = OBJECT_GONE_CODES
    requires_alt_text = True
    image_limits = ImageLimits(
        max_bytes=THREADS_MAX_IMAGE_BYTES, mime_types=THREADS_IMAGE_TYPES, aspect_range=THREADS_ASPECT_RANGE
    )
    reconcile_settle_seconds: ClassVar[float] = 120.0
    # A thread's parts are replies to the profile's own previous post (reply_to_id on the container).
    supports_replies = True
    supports_threads = True
    # The inbox: replies to the profile's posts; hide / unhide them (manage_reply).
    supports_inbox = True
    moderation_actions = frozenset({"hide"})
    undo_actions = frozenset({"unhide"})

    @property
    def threads_user_id(self) -> str:
        return str(self.account.options.get("threads_user_id") or "me")

    def _client(self) -> GraphClient:
        return threads_client(self.account.credentials.get("access_token", ""))

    @staticmethod
    def _text(content: PostContent) -> str:
        return content.text_with_link()

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=threads_text_length(self._text(content)), limit=THREADS_TEXT_LIMIT)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip() and not content.media:
            problems.append(Problem("Write the text of the post."))
        for item in content.media:
            if not item.url.startswith("https://"):
                problems.append(Problem("Threads downloads media from a public https:// address.", "media"))
            if not is_image(item) and item.mime_type not in THREADS_VIDEO_TYPES:
                problems.append(Problem("Threads takes images and MP4 or MOV videos.", "media"))
        return problems

    # --- publishing -------------------------------------------------------------------------------

    @staticmethod
    def _media_fields(item: MediaItem, url: str) -> dict[str, Any]:
        if _is_video(item):
            return {"media_type": "VIDEO", "video_url": url, "alt_text": item.alt_text or None}
        return {"media_type": "IMAGE", "image_url": url, "alt_text": item.alt_text or None}

    def _create_container(self, client: GraphClient, content: PostContent) -> str:
        path = f"{self.threads_user_id}/threads"
        text = self._text(content)
        reply = self._reply_fields(content)
        if not content.media:
            return str(client.post(path, {"media_type": "TEXT", "text": text, **reply})["id"])
        urls = media_urls_for(self, content.media)
        if len(content.media) == 1:
            return str(
                client.post(path, {**self._media_fields(content.media[0], urls[0]), "text": text, **reply})["id"]
            )
        children = [
            str(client.post(path, {**self._media_fields(item, url), "is_carousel_item": "true"})["id"])
            for item, url in zip(content.media, urls, strict=True)
        ]
        carousel = {"media_type": "CAROUSEL", "children": ",".join(children), "text": text, **reply}
        return str(client.post(path, carousel)["id"])

    @staticmethod
    def _reply_fields(content: PostContent) -> dict[str, str]:
        """The container's `reply_to_id` when content answers a post; nothing otherwise."""
        if content.reply_to is None:
            return {}
        return {"reply_to_id": content.reply_to.remote_id}

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Creates the container, waits (briefly) until it is ready, publishes it. Returns id and permalink."""
        client = self._client()
        if len(content.media) == 1 and is_video(content.media[0]):
            # One container per delivery, kept across attempts while Meta processes it (graph_video.py); a copy
            # within the limits is fetched when the stored file is not (video_for_upload).
            video = replace(content, media=(video_for_upload(self, content.media[0]),))
            return publish_video_container(
                self,
                client,
                THREADS_CONTAINERS,
                idempotency_key=idempotency_key,
                create=lambda: self._create_container(client, video),
                publish_path=f"{self.threads_user_id}/threads_publish",
            )
        return publish_container(
            client,
            THREADS_CONTAINERS,
            create=lambda: self._create_container(client, content),
            publish_path=f"{self.threads_user_id}/threads_publish",
        )

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our text among the profile's threads (no idempotency key): graph.reconcile_media_listing."""
        client = self._client()
        if pending_reconcile(
            self, idempotency_key, lambda upload: poll_container(self, client, THREADS_CONTAINERS, upload)
        ):
            return None  # the video was never published: the next attempt publishes the saved container
        # Replies are listed apart from the profile's threads (GET /{threads-user-id}/replies).
        listing = "replies" if content.reply_to is not None else "threads"
        return reconcile_media_listing(
            client,
            path=f"{self.threads_user_id}/{listing}",
            text_field="text",
            expected_text=self._text(content),
            sent_at=sent_at,
            label="Threads",
            settle_seconds=self.reconcile_settle_seconds,
        )

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        body = self._client().delete(remote_id)
        if not body.get("success"):
            raise PublishError("Threads did not confirm the deletion.", permanent=True, raw=body)

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        body = self._client().get(f"{remote_id}/insights", {"metric": ",".join(INSIGHT_METRICS)})
        metrics: dict[str, int] = {}
        for entry in body.get("data") or []:
            values = entry.get("values") or []
            value = (entry.get("total_value") or {}).get("value")
            if value is None and values:
                value = values[0].get("value")
            metrics[str(entry.get("name"))] = int(value or 0)
        return metrics

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """One page of one of our posts' conversation (graph.comments_read_step), our own replies left out. Raises
        RateLimited, AuthExpired (token dead or a permission missing), PublishError."""
        step = comments_read_step(
            self._client(),
            cursor=cursor,
            our_remote_ids=our_remote_ids,
            edge="conversation",
            params={"fields": REPLY_FIELDS, "reverse": "true"},
            time_field="timestamp",
        )
        items = tuple(
            _reply_item(entry, post_id=step.post_id) for entry in step.entries if not entry.get("is_reply_owned_by_me")
        )
        return ConversationPage(items=items, next_cursor=step.cursor, more=step.more, requests=step.requests)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Hides or unhides a reply: POST /{threads-reply-id}/manage_reply hide=true|false. Raises PublishError (not
        allowed here, or refused), RateLimited, AuthExpired."""
        if action not in ("hide", "unhide"):
            raise PublishError(f"Threads does not let CivicPost {action} a reply.", permanent=True)
        body = self._client().post(f"{item.remote_id}/manage_reply", {"hide": "true" if action == "hide" else "false"})
        if not body.get("success"):
            raise PublishError("Threads did not confirm the change.", permanent=True, raw=body)
        return ModerationResult(done=True, raw=body)

    def fetch_followers(self) -> int | None:
        """`GET /{threads-user-id}/threads_insights?metric=followers_count` (threads_manage_insights) [k]."""
        body = self._client().get(f"{self.threads_user_id}/threads_insights", {"metric": "followers_count"})
        for entry in body.get("data") or []:
            if entry.get("name") == "followers_count":
                value = (entry.get("total_value") or {}).get("value")
                return int(value) if value is not None else None
        return None

    def check_connection(self) -> ConnectionCheck:
        token = self.account.credentials.get("access_token", "")
        if not token:
            return ConnectionCheck(ok=False, message="No Threads token is stored; connect the account again.")
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        if expires_at and expires_at <= timezone.now():
            return ConnectionCheck(ok=False, message=expiry_message(expires_at), expires_at=expires_at)
        try:
            me = self._client().get("me", {"fields": "id,username"})
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message, expires_at=expires_at)
        wanted = self.account.options.get("threads_user_id")
        if wanted and str(me.get("id")) != str(wanted):
            return ConnectionCheck(ok=False, message=f"The stored token belongs to @{me.get('username')}.")
        return ConnectionCheck(ok=True, message=expiry_message(expires_at), expires_at=expires_at)

    def refresh_credentials(self) -> dict[str, Any]:
        """Returns the channel's credentials with a renewed token and its new `expires_at` (ISO 8601).

        Raises AuthExpired when Threads refuses (expired or revoked: reconnect), another AdapterError
        (e.g. PublishError(permanent=False)) when it can be tried again later."""
        credentials = dict(self.account.credentials)
        token = refresh_long_lived_token(access_token=credentials.get("access_token", ""))
        return {**credentials, "access_token": token.access_token, "expires_at": token.expires_at_iso()}


# --- Connecting (pure functions for the connection views) -----------------------------------------------


def authorization_url(
    *, redirect_uri: str, state: str, scopes: Sequence[str] = THREADS_SCOPES, app_id: str | None = None
) -> str:
    """Returns the Threads authorization window URL; compare `state` when the person comes back."""
    query = {
        "client_id": app_id or settings.CIVICPOST_THREADS_APP_ID,
        "redirect_uri": redirect_uri,
        "scope": ",".join(scopes),
        "response_type": "code",
        "state": state,
    }
    return f"{THREADS_AUTHORIZE_URL}?{urlencode(query)}"


def exchange_code(
    *,
    code: str,
    redirect_uri: str,
    app_id: str | None = None,
    app_secret: str | None = None,
    session: requests.Session | None = None,
) -> OAuthToken:
    """Returns the 1-hour token (and user id) for the code. POST /oauth/access_token. Raises AdapterError."""
    body = threads_client(version="", session=session).post(
        "oauth/access_token",
        {
            "client_id": app_id or settings.CIVICPOST_THREADS_APP_ID,
            "client_secret": app_secret or settings.CIVICPOST_THREADS_APP_SECRET,
            "grant_type": "authorization_code",
            "redirect_uri": redirect_uri,
            "code": code,
        },
    )
    return OAuthToken.from_body(body)


def exchange_long_lived_token(
    *, short_lived_token: str, app_secret: str | None = None, session: requests.Session | None = None
) -> OAuthToken:
    """Returns the 60-day token. GET /access_token?grant_type=th_exchange_token. Raises AdapterError."""
    body = threads_client(version="", session=session).get(
        "access_token",
        {
            "grant_type": "th_exchange_token",
            "client_secret": app_secret or settings.CIVICPOST_THREADS_APP_SECRET,
            "access_token": short_lived_token,
        },
    )
    return OAuthToken.from_body(body)


def refresh_long_lived_token(*, access_token: str, session: requests.Session | None = None) -> OAuthToken:
    """Returns the renewed 60-day token. GET /refresh_access_token?grant_type=th_refresh_token."""
    body = threads_client(version="", session=session).get(
        "refresh_access_token", {"grant_type": "th_refresh_token", "access_token": access_token}
    )
    return OAuthToken.from_body(body)


@dataclass(frozen=True)
class ThreadsProfile:
    id: str
    username: str


def profile(*, access_token: str, session: requests.Session | None = None) -> ThreadsProfile:
    body = threads_client(access_token, session=session).get("me", {"fields": "id,username"})
    return ThreadsProfile(id=str(body["id"]), username=str(body.get("username") or ""))


def _reply_item(entry: dict[str, Any], *, post_id: str) -> ConversationItem:
    """A Threads reply (a Threads media with is_reply) as an inbox item, under the post it answers."""
    username = str(entry.get("username") or "")
    replied_to = str((entry.get("replied_to") or {}).get("id") or "")
    root = str((entry.get("root_post") or {}).get("id") or "") or post_id
    media_url = str(entry.get("media_url") or "")
    return ConversationItem(
        remote_id=str(entry["id"]),
        kind="reply",
        author_handle=f"@{username}" if username else "",
        author_profile_url=f"https://www.threads.net/@{username}" if username else "",
        text=str(entry.get("text") or ""),
        created_at=parse_graph_time(entry.get("timestamp")) or timezone.now(),
        in_reply_to_remote_id=replied_to or post_id,
        root_remote_id=root,
        permalink=str(entry.get("permalink") or ""),
        media=({"url": media_url, "type": str(entry.get("media_type") or ""), "alt_text": ""},) if media_url else (),
        raw=entry,
    )


def threads_channel_fields(*, token: OAuthToken, account: ThreadsProfile) -> dict[str, Any]:
    """What a Channel stores for a connected Threads profile (credentials are encrypted by the model)."""
    return {
        "platform": "threads",
        "display_name": f"@{account.username}" if account.username else account.id,
        "account_handle": account.username,
        "credentials": {"access_token": token.access_token, "expires_at": token.expires_at_iso()},
        "options": {"threads_user_id": account.id, "username": account.username},
        "token_expires_at": token.expires_at,
    }
