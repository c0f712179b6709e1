"""Instagram professional accounts: container -> status FINISHED -> media_publish, through graph.py's client.

Channel layout:
    credentials (encrypted): {"access_token": "<token>", "expires_at": "<ISO 8601, Instagram-Login tokens only>"}
    options:                 {"ig_user_id": "<IG user id>", "flavour": "facebook_login" | "instagram_login",
                              "username": "<handle>", "page_id": "<linked Facebook Page, facebook_login only>"}
Flavours (https://developers.facebook.com/docs/instagram-platform/overview):
    facebook_login   host graph.facebook.com (setting key "instagram"); the account is linked to a Page and the
                     token is the Page token found while connecting that Page (instagram_account_for_page()).
    instagram_login  host graph.instagram.com (setting key "instagram_login"); 60-day token, renewed with
                     refresh_credentials() (GET /refresh_access_token?grant_type=ig_refresh_token).

Requests (https://developers.facebook.com/docs/instagram-platform/content-publishing), base {host}/{version}:
    container     POST /{ig-user-id}/media  image_url, caption, alt_text | media_type=REELS, video_url, caption
                  carousel: children with is_carousel_item=true, then media_type=CAROUSEL, children=<ids>
    status        GET  /{container-id}?fields=status_code,status   IN_PROGRESS -> FINISHED | ERROR | EXPIRED
    publish       POST /{ig-user-id}/media_publish  creation_id                       -> {"id": "<media-id>"}
    permalink     GET  /{media-id}?fields=permalink
    reconcile     GET  /{ig-user-id}/media?fields=id,caption,timestamp,permalink&since=<sent_at - 2 min>
                  &until=<sent_at + 10 min, not past now>&limit=100, then each paging.next (up to 10 pages;
                  reading stops once a page reaches media older than the window)
    metrics       GET  /{media-id}?fields=like_count,comments_count
Rules: a public https media URL is required (Meta downloads it) and text-only posts are impossible;
caption <= 2,200 characters, <= 30 hashtags, <= 20 @mentions. The API cannot delete feed media.
The inbox (residents' comments on our media; verified offline only, against the IG Comment reference's shapes):
    read        GET  /{ig-media-id}/comments?fields=id,text,timestamp,username,from{id,username},hidden,parent_id,
                replies{id,text,timestamp,username,from{id,username},hidden,parent_id}&limit=50&after=<cursor>
                (https://developers.facebook.com/docs/instagram-platform/comment-moderation), one media per request in
                rounds (graph.comments_read_step); replies come nested under their comment and are flattened; the
                account's own comments are left out
    reply       POST /{ig-comment-id}/replies message (publishing, as every reply; reconciled among
                GET /{ig-comment-id}/replies); a post's first comment is POST /{ig-media-id}/comments
    hide        POST /{ig-comment-id}  hide=true | false                  -> {"success": true}
    delete      DELETE /{ig-comment-id}                                   -> {"success": true}; one already gone
                (code 100/33) counts as deleted
    mentions    announced only by the `mentions` webhook (inbox.hooks: entry.id = ig-user-id, value.comment_id
                and/or value.media_id), then read with fetch_mention():
                GET /{ig-user-id}?fields=mentioned_comment.comment_id(<comment-id>){id,text,timestamp,username,
                like_count,media{id,permalink}}  (a comment that @mentions us)
                GET /{ig-user-id}?fields=mentioned_media.media_id(<media-id>){id,caption,permalink,timestamp,username,
                media_type}  (a caption that @mentions us)
                (https://developers.facebook.com/docs/instagram-platform/instagram-api-with-facebook-login/mentions;
                instagram_manage_comments, the app subscribed to the Instagram `mentions` webhook field)
    A comment the resident deleted is no longer listed. Access a city needs: a professional (Business or Creator)
    account; with Facebook Login instagram_basic, instagram_manage_comments and pages_read_engagement on the linked
    Page's token; with Instagram Login instagram_business_basic and instagram_business_manage_comments; Advanced
    Access through Meta's App Review.
Status polling is bounded (about 15 s, graph.CONTAINER_POLL_INTERVALS): a container still processing after
that fails the attempt as retryable, which is safe because media_publish was never called.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, ClassVar

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    ConnectionCheck,
    ConversationItem,
    ConversationPage,
    ImageLimits,
    MediaItem,
    ModerationResult,
    OutcomeUnknown,
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
    DEFAULT_GRAPH_HOST,
    OBJECT_GONE_CODES,
    RECONCILE_LOOKBACK,
    RECONCILE_PAGE_LIMIT,
    ContainerApi,
    GraphClient,
    OAuthToken,
    comment_hide_or_delete,
    comments_read_step,
    expiry_message,
    find_sent_item,
    graph_api_version,
    not_found_yet,
    parse_graph_time,
    publish_container,
    reconcile_media_listing,
    window_incomplete,
    window_items,
)
from scheduler.adapters.graph_video import poll_container, publish_video_container
from scheduler.adapters.http import platform_base_url
from scheduler.adapters.media import is_image, media_urls_for
from scheduler.adapters.video import is_video, pending_reconcile, video_for_upload

INSTAGRAM_CAPTION_LIMIT = 2200
INSTAGRAM_MAX_HASHTAGS = 30
INSTAGRAM_MAX_MENTIONS = 20
INSTAGRAM_MAX_MEDIA = 10  # carousel items
# JPEG only, under 8 MiB (error 2207004), width / height from 4:5 to 1.91:1 (shared/platforms.md §4.2).
# Other images get a fitted copy at publish time: converted, scaled, and padded with white bars (never
# cropped, so no part of a flyer or a face is cut off, and the alt text still describes all of it).
INSTAGRAM_IMAGE_TYPES = ("image/jpeg",)
INSTAGRAM_MAX_IMAGE_BYTES = 8 * 1024 * 1024
INSTAGRAM_ASPECT_RANGE = (Fraction(4, 5), Fraction(191, 100))
INSTAGRAM_VIDEO_TYPES = ("video/mp4", "video/quicktime")
INSTAGRAM_LOGIN_HOST = "https://graph.instagram.com"
# Metrics: counts on the media object, and its insights through field expansion (platforms.md §4.2).
MEDIA_COUNT_FIELDS = "like_count,comments_count"
INSIGHT_METRICS = "views,shares"
FACEBOOK_LOGIN = "facebook_login"
INSTAGRAM_LOGIN = "instagram_login"
# Facebook Login scopes for publishing to the Instagram account linked to a Page.
INSTAGRAM_SCOPES = (
    "instagram_basic",
    "instagram_content_publish",
    "pages_show_list",
    "pages_read_engagement",
    # The inbox: reading, hiding and deleting comments on the account's media.
    "instagram_manage_comments",
)
_COMMENT_FIELDS = "id,text,timestamp,username,from{id,username},hidden,parent_id"
MENTIONED_COMMENT_FIELDS = "id,text,timestamp,username,like_count,media{id,permalink}"
MENTIONED_MEDIA_FIELDS = "id,caption,permalink,timestamp,username,media_type"
COMMENT_FIELDS = f"{_COMMENT_FIELDS},replies{{{_COMMENT_FIELDS}}}"

INSTAGRAM_CONTAINERS = ContainerApi(
    status_fields="status_code,status",
    status_field="status_code",
    details_field="status",
    subject="the media",
    remote_id_name="media id",
    expired_message="Instagram let the media container expire; a new one is made on the next attempt.",
    in_progress_message="Instagram is still processing the media; CivicPost will try again shortly.",
)

# Reels (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media,
# "Reel specifications"): MOV or MP4 with the moov atom first, H.264 or HEVC (progressive, closed GOP, 4:2:0),
# AAC sound (48 kHz at most, mono or stereo), 23 to 60 frames a second, at most 1920 pixels wide, aspect ratio
# 0.01:1 to 10:1 (9:16 recommended), 3 seconds to 15 minutes, 300 MB. Access: instagram_content_publish (App
# Review, Advanced Access) on a professional account. Captions: the API takes none (Instagram makes its own
# automatic captions in the app), so burned-in captions are what reaches residents reliably.
INSTAGRAM_VIDEO_LIMITS = VideoLimits(
    max_bytes=300 * 1024 * 1024,
    max_seconds=15 * 60.0,
    min_seconds=3.0,
    mime_types=("video/mp4", "video/quicktime"),
    video_codecs=("h264", "hevc"),
    audio_codecs=("aac", ""),
    aspect_range=(Fraction(1, 100), Fraction(10, 1)),
    min_frame_rate=23.0,
    max_frame_rate=60.0,
    max_width=1920,
    max_height=3414,
)

_HASHTAG = re.compile(r"(?<![\w&])#\w+")
_MENTION = re.compile(r"(?<![\w@])@[\w.]+")


def count_hashtags(text: str) -> int:
    return len(_HASHTAG.findall(text))


def count_mentions(text: str) -> int:
    return len(_MENTION.findall(text))


def instagram_client(  # nosec B107  # empty default: no token yet
    access_token: str = "", *, flavour: str = FACEBOOK_LOGIN, session: requests.Session | None = None
) -> GraphClient:
    if flavour == INSTAGRAM_LOGIN:
        # Instagram-Login tokens come from the Instagram app, whose secret is not the Meta app's.
        return GraphClient(
            base_url=platform_base_url("instagram_login", INSTAGRAM_LOGIN_HOST),
            version=graph_api_version(),
            access_token=access_token,
            label="Instagram",
            session=session,
        )
    return GraphClient(
        base_url=platform_base_url("instagram", DEFAULT_GRAPH_HOST),
        version=graph_api_version(),
        access_token=access_token,
        app_secret=settings.CIVICPOST_META_APP_SECRET,
        label="Instagram",
        session=session,
    )


def _is_video(item: MediaItem) -> bool:
    return item.mime_type.startswith("video/")


class InstagramAdapter(PlatformAdapter):
    platform = "instagram"
    video_limits = INSTAGRAM_VIDEO_LIMITS
    label = "Instagram"
    supports_delete = False
    metrics_gone_codes = OBJECT_GONE_CODES
    max_media = INSTAGRAM_MAX_MEDIA
    requires_alt_text = True
    image_limits = ImageLimits(
        max_bytes=INSTAGRAM_MAX_IMAGE_BYTES, mime_types=INSTAGRAM_IMAGE_TYPES, aspect_range=INSTAGRAM_ASPECT_RANGE
    )
    reconcile_settle_seconds: ClassVar[float] = 120.0
    # A reply is a comment: POST /{ig-media-id}/comments?message=… -> {"id": "<ig-comment-id>"}
    # (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-media/comments;
    # permission instagram_manage_comments, or instagram_business_manage_comments with Instagram Login). A post's
    # first comment comments on the account's own media; up to 2,200 characters, like a caption.
    supports_replies = True
    supports_first_comment = True
    first_comment_max_chars = INSTAGRAM_CAPTION_LIMIT
    # The inbox: comments (and their replies) on the account's media; hide / unhide and delete them.
    supports_inbox = True
    moderation_actions = frozenset({"hide", "delete"})
    undo_actions = frozenset({"unhide"})

    @property
    def ig_user_id(self) -> str:
        return str(self.account.options.get("ig_user_id") or "")

    @property
    def flavour(self) -> str:
        return self.account.options.get("flavour") or FACEBOOK_LOGIN

    def _client(self) -> GraphClient:
        return instagram_client(self.account.credentials.get("access_token", ""), flavour=self.flavour)

    @staticmethod
    def _caption(content: PostContent) -> str:
        # Links in captions are not clickable, but the address should still be there to read.
        return content.text_with_link()

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(self._caption(content)), limit=INSTAGRAM_CAPTION_LIMIT)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        caption = self._caption(content)
        if not content.media and content.reply_to is None:
            problems.append(
                Problem("Instagram needs at least one image or video; text-only posts are not possible.", "media")
            )
        for item in content.media:
            if not item.url.startswith("https://"):
                problems.append(
                    Problem("Instagram downloads media from a public https:// address; this file has none.", "media")
                )
            if not is_image(item) and item.mime_type not in INSTAGRAM_VIDEO_TYPES:
                problems.append(Problem("Instagram takes images and MP4 or MOV videos.", "media"))
        hashtags = count_hashtags(caption)
        if hashtags > INSTAGRAM_MAX_HASHTAGS:
            problems.append(Problem(f"Instagram allows {INSTAGRAM_MAX_HASHTAGS} hashtags; this post has {hashtags}."))
        mentions = count_mentions(caption)
        if mentions > INSTAGRAM_MAX_MENTIONS:
            problems.append(Problem(f"Instagram allows {INSTAGRAM_MAX_MENTIONS} @mentions; this post has {mentions}."))
        return problems

    # --- publishing -------------------------------------------------------------------------------

    @staticmethod
    def _media_fields(item: MediaItem, url: str, *, in_carousel: bool) -> dict[str, Any]:
        if _is_video(item):
            return {"media_type": "VIDEO" if in_carousel else "REELS", "video_url": url}
        return {"image_url": url, "alt_text": item.alt_text or None}

    def _create_container(self, client: GraphClient, content: PostContent) -> str:
        caption = self._caption(content)
        urls = media_urls_for(self, content.media)
        if len(content.media) == 1:
            body = client.post(
                f"{self.ig_user_id}/media",
                {**self._media_fields(content.media[0], urls[0], in_carousel=False), "caption": caption},
            )
            return str(body["id"])
        children = [
            str(
                client.post(
                    f"{self.ig_user_id}/media",
                    {**self._media_fields(item, url, in_carousel=True), "is_carousel_item": "true"},
                )["id"]
            )
            for item, url in zip(content.media, urls, strict=True)
        ]
        body = client.post(
            f"{self.ig_user_id}/media", {"media_type": "CAROUSEL", "children": ",".join(children), "caption": caption}
        )
        return str(body["id"])

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Creates the container, waits (briefly) for it, publishes it. Returns the media id and permalink. With
        reply_to: comments on that media (or comment) instead."""
        if content.reply_to is not None:
            return self._comment(content)
        if not content.media:
            raise PublishError("Instagram needs at least one image or video.", permanent=True, code="no_media")
        client = self._client()
        if len(content.media) == 1 and is_video(content.media[0]):
            # One container per delivery, kept across attempts while Meta processes it (graph_video.py); a copy
            # within the limits is fetched when the stored file is not (video_for_upload).
            video = replace(content, media=(video_for_upload(self, content.media[0]),))
            return publish_video_container(
                self,
                client,
                INSTAGRAM_CONTAINERS,
                idempotency_key=idempotency_key,
                create=lambda: self._create_container(client, video),
                publish_path=f"{self.ig_user_id}/media_publish",
            )
        return publish_container(
            client,
            INSTAGRAM_CONTAINERS,
            create=lambda: self._create_container(client, content),
            publish_path=f"{self.ig_user_id}/media_publish",
        )

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our caption among the account's media (no idempotency key): graph.reconcile_media_listing; a
        comment among the comments of the media it answers (GET /{ig-media-id}/comments)."""
        if content.reply_to is not None:
            return self._reconcile_comment(content, sent_at=sent_at)
        client = self._client()
        if pending_reconcile(
            self, idempotency_key, lambda upload: poll_container(self, client, INSTAGRAM_CONTAINERS, upload)
        ):
            return None  # the video was never published: the next attempt publishes the saved container
        return reconcile_media_listing(
            client,
            path=f"{self.ig_user_id}/media",
            text_field="caption",
            expected_text=self._caption(content),
            sent_at=sent_at,
            label="Instagram",
            settle_seconds=self.reconcile_settle_seconds,
        )

    @staticmethod
    def _reply_fields(content: PostContent) -> tuple[str, dict[str, Any]]:
        """The comment request for content that answers a media: (path, form) of POST /{ig-media-id}/comments."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        return f"{_comment_edge(content)}", {"message": content.text}

    def _comment(self, content: PostContent) -> PublishResult:
        path, data = self._reply_fields(content)
        body = self._client().post(path, data, publishing=True)
        comment_id = str(body.get("id") or "")
        if not comment_id:
            raise OutcomeUnknown("Instagram answered without a comment id; checking the comments.", raw=body)
        return PublishResult(remote_id=comment_id, raw=body)

    def _reconcile_comment(self, content: PostContent, *, sent_at: dt.datetime) -> PublishResult | None:
        """Our comment among the media's comments (GET /{ig-media-id}/comments?fields=id,text,timestamp)."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        now = timezone.now()
        listing = window_items(
            self._client(),
            _comment_edge(content),
            {"fields": "id,text,timestamp", "limit": RECONCILE_PAGE_LIMIT},
            since=sent_at - RECONCILE_LOOKBACK,
            time_field="timestamp",
        )
        item = find_sent_item(
            listing.items, text_field="text", time_field="timestamp", expected_text=content.text, sent_at=sent_at
        )
        if item:
            return PublishResult(remote_id=str(item["id"]), raw=dict(item))
        if not listing.complete:
            raise window_incomplete(label="Instagram", pages=listing.pages)
        not_found_yet(label="Instagram", sent_at=sent_at, now=now, settle_seconds=self.reconcile_settle_seconds)
        return None

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        # https://developers.facebook.com/docs/instagram-platform/reference/instagram-media: no DELETE on feed media.
        raise PublishError(
            "Instagram does not let apps delete posts; delete it in the Instagram app.",
            permanent=True,
            code="no_delete",
        )

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        """One `GET /{ig-media-id}?fields=like_count,comments_count,insights.metric(views,shares)` per post: the
        counts plus the media insights through field expansion (platforms.md §4.2; the insights metric names
        are [k], check them against the pinned Graph version). Without the insights permission (Graph codes
        10 / 200-299) the counts are read alone and views and shares are not reported."""
        client = self._client()
        try:
            body = client.get(remote_id, {"fields": f"{MEDIA_COUNT_FIELDS},insights.metric({INSIGHT_METRICS})"})
        except AuthExpired as error:
            if not _missing_permission(error):
                raise
            body = client.get(remote_id, {"fields": MEDIA_COUNT_FIELDS})
        counts = {"likes": int(body.get("like_count") or 0), "replies": int(body.get("comments_count") or 0)}
        for entry in (body.get("insights") or {}).get("data") or []:
            values = entry.get("values") or []
            value = (entry.get("total_value") or {}).get("value")
            if value is None and values:
                value = values[0].get("value")
            if entry.get("name") in ("views", "shares") and value is not None:
                counts[str(entry["name"])] = int(value)
        return counts

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """One page of one of our media's comments with their replies (graph.comments_read_step). Raises
        RateLimited, AuthExpired (token dead or a permission missing), PublishError."""
        step = comments_read_step(
            self._client(),
            cursor=cursor,
            our_remote_ids=our_remote_ids,
            edge="comments",
            params={"fields": COMMENT_FIELDS},
            time_field="timestamp",
            expand=_with_replies,
        )
        own = str(self.account.options.get("username") or "").lstrip("@").lower()
        items = tuple(
            _comment_item(entry, media_id=step.post_id)
            for entry in step.entries
            if not own or str(entry.get("username") or "").lower() != own
        )
        return ConversationPage(items=items, next_cursor=step.cursor, more=step.more, requests=step.requests)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Hides or unhides (POST /{ig-comment-id} hide) or deletes (DELETE /{ig-comment-id}) a comment. Raises
        PublishError (not allowed here, or refused), RateLimited, AuthExpired."""
        client = self._client()
        return comment_hide_or_delete(client, item.remote_id, action, platform="Instagram", hide_field="hide")

    def fetch_mention(self, *, comment_id: str = "", media_id: str = "") -> ConversationItem:
        """The comment (`comment_id`) or the caption (`media_id` alone) in which someone @mentioned the account, as a
        "mention" inbox item, read through the IG User's mentioned_comment / mentioned_media field. Raises
        RateLimited, AuthExpired, PublishError (a mention no longer readable: deleted, comments turned off)."""
        if comment_id:
            field_name, body_key = (
                f"mentioned_comment.comment_id({comment_id}){{{MENTIONED_COMMENT_FIELDS}}}",
                "mentioned_comment",
            )
        elif media_id:
            field_name, body_key = (
                f"mentioned_media.media_id({media_id}){{{MENTIONED_MEDIA_FIELDS}}}",
                "mentioned_media",
            )
        else:
            raise PublishError("A mention names neither a comment nor a media.", permanent=True)
        body = self._client().get(self.ig_user_id, {"fields": field_name})
        entry = body.get(body_key)
        if not isinstance(entry, dict) or not entry.get("id"):
            raise PublishError("Instagram did not return the mention.", permanent=True, raw=body)
        return _mention_item(entry, caption=not comment_id, media_id=media_id)

    def fetch_followers(self) -> int | None:
        """`GET /{ig-user-id}?fields=followers_count`."""
        ig_user_id = str(self.account.options.get("ig_user_id") or "")
        body = self._client().get(ig_user_id, {"fields": "followers_count"})
        value = body.get("followers_count")
        return int(value) if value is not None else None

    def check_connection(self) -> ConnectionCheck:
        token = self.account.credentials.get("access_token", "")
        if not token:
            return ConnectionCheck(ok=False, message="No Instagram token is stored; connect the account again.")
        expires_at = parse_expires_at(self.account.credentials.get("expires_at"))
        if expires_at and expires_at <= timezone.now():
            return ConnectionCheck(ok=False, message=expiry_message(expires_at), expires_at=expires_at)
        try:
            body = self._client().get(self.ig_user_id or "me", {"fields": "id,username"})
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message, expires_at=expires_at)
        if self.ig_user_id and str(body.get("id")) != self.ig_user_id:
            return ConnectionCheck(ok=False, message="The stored token belongs to another Instagram account.")
        return ConnectionCheck(ok=True, message=expiry_message(expires_at), expires_at=expires_at)

    @property
    def refresh_credentials(self) -> Callable[[], dict[str, Any]] | None:
        """The token refresher for Instagram-Login channels; None for Facebook-Login ones, whose Page token
        does not expire (so the periodic refresh, which looks this attribute up, skips them)."""
        return self._refresh_instagram_login if self.flavour == INSTAGRAM_LOGIN else None

    def _refresh_instagram_login(self) -> dict[str, Any]:
        """Returns the credentials with a renewed token (60 more days) and its `expires_at` (ISO 8601).

        Raises AuthExpired when Instagram refuses (the token expired: reconnect)."""
        credentials = dict(self.account.credentials)
        token = refresh_instagram_login_token(access_token=credentials.get("access_token", ""))
        return {**credentials, "access_token": token.access_token, "expires_at": token.expires_at_iso()}


# --- Connecting (pure functions for the connection views) -----------------------------------------------


@dataclass(frozen=True)
class InstagramAccount:
    id: str
    username: str

    def channel_fields(self, *, access_token: str, page_id: str = "", expires_at: str = "") -> dict[str, Any]:
        """What a Channel stores for this account, Facebook-Login flavour (credentials get encrypted)."""
        credentials = {"access_token": access_token, **({"expires_at": expires_at} if expires_at else {})}
        return {
            "platform": "instagram",
            "display_name": f"@{self.username}" if self.username else self.id,
            "account_handle": self.username,
            "credentials": credentials,
            "options": {
                "ig_user_id": self.id,
                "flavour": FACEBOOK_LOGIN,
                "username": self.username,
                "page_id": page_id,
            },
        }


def instagram_account_for_page(
    *, page_id: str, page_token: str, session: requests.Session | None = None
) -> InstagramAccount | None:
    """Returns the Instagram professional account linked to a Page, or None when there is none.

    GET /{page-id}?fields=instagram_business_account{id,username}"""
    body = instagram_client(page_token, session=session).get(
        page_id, {"fields": "instagram_business_account{id,username}"}
    )
    account = body.get("instagram_business_account")
    if not account:
        return None
    return InstagramAccount(id=str(account["id"]), username=str(account.get("username") or ""))


def refresh_instagram_login_token(*, access_token: str, session: requests.Session | None = None) -> OAuthToken:
    """Returns a renewed Instagram-Login token (valid 60 more days; the old one must be >= 24 h old).

    https://developers.facebook.com/docs/instagram-platform/reference/refresh_access_token"""
    client = GraphClient(
        base_url=platform_base_url("instagram_login", INSTAGRAM_LOGIN_HOST),
        version="",
        label="Instagram",
        session=session,
    )
    body = client.get("refresh_access_token", {"grant_type": "ig_refresh_token", "access_token": access_token})
    return OAuthToken.from_body(body)


def _comment_edge(content: PostContent) -> str:
    """Where a comment from CivicPost goes: a resident's comment (the inbox names our media as its root) is answered
    with POST /{ig-comment-id}/replies; our own media gets POST /{ig-media-id}/comments (a first comment)."""
    target = content.reply_to
    assert target is not None  # noqa: S101 - callers check
    if target.root_remote_id and target.root_remote_id != target.remote_id:
        # Instagram threads one level deep: a reply to a reply goes under the top-level comment.
        return f"{target.details.get('comment_id') or target.remote_id}/replies"
    return f"{target.remote_id}/comments"


def _with_replies(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A listed comment and the replies nested under it (`replies.data`), each reply naming its comment."""
    replies = [r for r in ((entry.get("replies") or {}).get("data") or []) if isinstance(r, dict)]
    top = {key: value for key, value in entry.items() if key != "replies"}
    return [top, *({**reply, "parent_id": reply.get("parent_id") or entry.get("id")} for reply in replies)]


def _comment_item(entry: dict[str, Any], *, media_id: str) -> ConversationItem:
    """An IG Comment (https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-comment)
    as an inbox item, threaded under our media (and its comment, for a reply)."""
    username = str(entry.get("username") or (entry.get("from") or {}).get("username") or "")
    parent = str(entry.get("parent_id") or "")
    return ConversationItem(
        remote_id=str(entry["id"]),
        kind="reply" if parent else "comment",
        author_handle=f"@{username}" if username else "",
        author_profile_url=f"https://www.instagram.com/{username}/" if username else "",
        text=str(entry.get("text") or ""),
        created_at=parse_graph_time(entry.get("timestamp")) or timezone.now(),
        in_reply_to_remote_id=parent or media_id,
        root_remote_id=media_id,
        reply_details={"comment_id": parent or str(entry["id"])},
        raw=entry,
    )


def _mention_item(entry: dict[str, Any], *, caption: bool, media_id: str) -> ConversationItem:
    """A mentioned comment or a mentioned caption (someone else's media) as a "mention" inbox item: not threaded
    under any post of ours, its own id as the thing a reply answers."""
    username = str(entry.get("username") or "")
    raw_media = entry.get("media")
    media: dict[str, Any] = raw_media if isinstance(raw_media, dict) else {}
    root = str(entry["id"]) if caption else str(media.get("id") or media_id)
    return ConversationItem(
        remote_id=str(entry["id"]),
        kind="mention",
        author_handle=f"@{username}" if username else "",
        author_profile_url=f"https://www.instagram.com/{username}/" if username else "",
        text=str(entry.get("caption" if caption else "text") or ""),
        created_at=parse_graph_time(entry.get("timestamp")) or timezone.now(),
        root_remote_id=root,
        permalink=str(entry.get("permalink") or media.get("permalink") or ""),
        reply_details={"mention": "media" if caption else "comment"},
        raw=entry,
    )


def _missing_permission(error: AuthExpired) -> bool:
    """True for Graph's "permission not granted" codes (10, 200-299), as opposed to a dead token."""
    code = error.code.removeprefix("graph:").split("/")[0].split(".")[0]
    return code.isdigit() and (int(code) == 10 or 200 <= int(code) < 300)
