"""Facebook Pages, through CivicPost's own Graph API client (scheduler/adapters/graph.py).

Not facebook-sdk: frozen since 2018, it rejects every current Graph API version ("v27.0" fails its
`^\\d\\.\\d{1,2}$` check) and only accepts versions that expired years ago; see graph.py.

Channel layout:
    credentials (encrypted): {"page_access_token": "<Page token from /me/accounts, or a system-user token>"}
    options:                 {"page_id": "<numeric Page id>", "page_name": "<shown in CivicPost>"}
Page tokens obtained from a long-lived user token do not expire; they die when the connecting person
changes password, loses the Page role or removes the app (then every call answers code 190 and the
channel is marked "needs reconnect").

Requests (https://developers.facebook.com/docs/pages-api/posts), base {host}/{CIVICPOST_GRAPH_API_VERSION}:
    text / link   POST /{page-id}/feed  message, link                       -> {"id": "<page-id>_<post-id>"}
    photos        POST /{page-id}/photos url, published=false, alt_text_custom (each photo), then
                  POST /{page-id}/feed  message, attached_media[i]={"media_fbid": "<photo-id>"}
    video         one video, alone: a reel through the Reels Publishing API (start, rupload, captions, finish,
                  status polled): facebook/video.py has the shapes, limits, errors and the access it needs
    permalink     GET  /{post-id}?fields=permalink_url      (fallback https://www.facebook.com/<post-id>)
    reconcile     GET  /{page-id}/feed?fields=id,message,created_time,permalink_url&since=<sent_at - 2 min>
                  &until=<sent_at + 10 min, not past now>&limit=100, then each paging.next (up to 10 pages)
    delete        DELETE /{post-id}                                       -> {"success": true}
    metrics       GET  /{post-id}?fields=shares,reactions.summary(total_count).limit(0),comments.summary(...)
    connection    GET  /me?fields=id,name  (a Page token's /me is the Page) + GET /debug_token for the expiry

The inbox (residents' comments on our posts; verified offline only, against the Graph reference's shapes)
    read        GET  /{post-id}/comments?filter=stream&order=reverse_chronological&limit=50&after=<cursor>
                &fields=id,message,created_time,from{id,name},permalink_url,is_hidden,parent{id},attachment{type,url,
                media,description}  (https://developers.facebook.com/docs/graph-api/reference/page-post/comments),
                one post per request in rounds (graph.comments_read_step); the Page's own comments are left out
    reply       POST /{comment-id}/comments  message   (publishing, as every reply)
    hide        POST /{comment-id}  is_hidden=true | false        -> {"success": true}
                (https://developers.facebook.com/docs/graph-api/reference/comment, "Updating")
    delete      DELETE /{comment-id}                               -> {"success": true}; one already gone (code
                100/33) counts as deleted
    block       POST /{page-id}/blocked  user=["<the comment's from.id>"]   -> {"<id>": true}
    unblock     DELETE /{page-id}/blocked?user=<from.id>                   -> {"success": true}
                (https://developers.facebook.com/docs/graph-api/reference/page/blocked: asid / psid / uid / user;
                a comment's `from.id` read with the Page token is a user id, sent as `user`), a Page token with the
                MODERATE task; verified offline only
    A comment the resident deleted is simply no longer listed (Graph keeps no tombstone).
    Access a city needs: the Page token with pages_read_engagement and pages_read_user_engagement (read, with the
    commenter's name), pages_manage_engagement (reply, hide, delete), and the connecting person holding the
    MODERATE task on the Page; Meta's App Review for these permissions (Advanced Access). Channels connected before
    these scopes were added must be reconnected (the read answers code 10 / 200-299: "reconnect").

Connecting (Facebook Login, https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow,
with PKCE per https://developers.facebook.com/docs/facebook-login/guides/advanced/oidc-token):
    authorization_url() -> exchange_code() -> exchange_long_lived_user_token() -> list_pages() -> store one
    page's PageAccount.channel_fields().
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    Duplicate,
    ImageLimits,
    MetricsReading,
    ModerationResult,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    Removed,
    TextLength,
    VideoLimits,
)
from scheduler.adapters.facebook.video import publish_reel, reconcile_reel
from scheduler.adapters.graph import (
    DEFAULT_GRAPH_HOST,
    OBJECT_GONE_CODES,
    RECONCILE_LOOKBACK,
    RECONCILE_PAGE_LIMIT,
    GraphClient,
    Listing,
    OAuthToken,
    comment_hide_or_delete,
    comments_read_step,
    expiry_message,
    find_sent_item,
    graph_api_version,
    not_found_yet,
    parse_graph_time,
    reconcile_window,
    window_incomplete,
    window_items,
)
from scheduler.adapters.http import kept_alive_session, platform_base_url
from scheduler.adapters.media import is_image, media_urls_for
from scheduler.adapters.video import PendingUpload, is_video

# ~63,206 characters per Page post (shared/platforms.md §0, [k]); counted in Unicode code points.
FACEBOOK_TEXT_LIMIT = 63206
# A comment's message: 8,000 characters, the limit Facebook's comment box enforces (the Graph reference names
# none; a longer message is refused with code 100, which publishing reports as a permanent failure).
FACEBOOK_COMMENT_LIMIT = 8000
FACEBOOK_MAX_PHOTOS = 10
FACEBOOK_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif")
# Page photos "should be less than 4 MB" (Graph API Photo reference [k]); Facebook downloads them from
# `url`, so larger or other images get a fitted copy at publish time (scheduler/adapters/media.py).
FACEBOOK_MAX_IMAGE_BYTES = 4_000_000
FACEBOOK_SCOPES = (
    "pages_show_list",
    "pages_read_engagement",
    "pages_manage_posts",
    # The inbox: commenters' names, and replying to / hiding / deleting comments.
    "pages_read_user_engagement",
    "pages_manage_engagement",
)
COMMENT_FIELDS = (
    "id,message,created_time,from{id,name},permalink_url,is_hidden,parent{id},attachment{type,url,media,description}"
)
FACEBOOK_DIALOG_HOST = "https://www.facebook.com"
# Reels (facebook/video.py, the Reels Publishing API's "Reel specifications"): 3 to 90 seconds, 9:16, 24 to 60
# frames a second, H.264 or H.265 with AAC sound; the 1 GB cap is CivicPost's own [k]. A captions file goes to the
# video's captions edge.
FACEBOOK_REEL_LIMITS = VideoLimits(
    max_bytes=1024 * 1024 * 1024,
    max_seconds=90.0,
    min_seconds=3.0,
    mime_types=("video/mp4", "video/quicktime"),
    video_codecs=("h264", "hevc"),
    audio_codecs=("aac", ""),
    aspect_range=(Fraction(9, 16), Fraction(9, 16)),
    min_frame_rate=24.0,
    max_frame_rate=60.0,
    max_width=1080,
    max_height=1920,
    takes_captions_file=True,
)
METRICS_FIELDS = "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
# A reel is a Video node (its id has no "<page-id>_" part): it has reactions and comments but no `shares` field,
# and asking for one fails the read (code 100). https://developers.facebook.com/docs/graph-api/reference/video
VIDEO_METRICS_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"


def is_page_post_id(remote_id: str) -> bool:
    """True for a feed post ("<page-id>_<post-id>"); False for a reel's video id."""
    return "_" in remote_id


def facebook_client(access_token: str = "", *, session: requests.Session | None = None) -> GraphClient:  # nosec B107  # no token yet
    """A Graph client for graph.facebook.com (or the fake named in CIVICPOST_PLATFORM_URLS["facebook"])."""
    return GraphClient(
        base_url=platform_base_url("facebook", DEFAULT_GRAPH_HOST),
        version=graph_api_version(),
        access_token=access_token,
        app_secret=settings.CIVICPOST_META_APP_SECRET,
        label="Facebook",
        session=session,
    )


def post_permalink_fallback(post_id: str) -> str:
    return f"https://www.facebook.com/{post_id}"


class FacebookPageAdapter(PlatformAdapter):
    platform = "facebook"
    label = "Facebook Page"
    max_media = FACEBOOK_MAX_PHOTOS
    requires_alt_text = True
    image_limits = ImageLimits(max_bytes=FACEBOOK_MAX_IMAGE_BYTES, mime_types=FACEBOOK_IMAGE_TYPES)
    video_limits = FACEBOOK_REEL_LIMITS
    # How long after sending a post must be visible in the Page feed before "not there" is believed.
    reconcile_settle_seconds: ClassVar[float] = 120.0
    # A reply is a comment: POST /{object-id}/comments {message} -> {"id": "<comment-id>"}
    # (https://developers.facebook.com/docs/graph-api/reference/object/comments, "Publishing"; the Page token
    # needs pages_manage_engagement). A post's first comment comments on the Page's own post.
    supports_replies = True
    supports_first_comment = True
    first_comment_max_chars = FACEBOOK_COMMENT_LIMIT
    # The inbox: comments on the Page's posts; hide / unhide and delete them, block / unblock their author from the
    # Page (see the module docstring).
    supports_inbox = True
    moderation_actions = frozenset({"hide", "delete", "block"})
    undo_actions = frozenset({"unhide", "unblock"})

    @property
    def page_id(self) -> str:
        return str(self.account.options.get("page_id") or "")

    def _client(self) -> GraphClient:
        return facebook_client(
            self.account.credentials.get("page_access_token", ""),
            session=kept_alive_session(("facebook", self.account.channel_id)),
        )

    @staticmethod
    def _message(content: PostContent) -> str:
        # With photos the link cannot be a link card, so it goes into the text.
        return content.text_with_link() if content.media else content.text

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(self._message(content)), limit=FACEBOOK_TEXT_LIMIT)

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        if not content.text.strip() and not content.media:
            problems.append(Problem("Write the text of the post."))
        videos = [item for item in content.media if is_video(item)]
        if videos and len(content.media) > 1:
            problems.append(Problem("Facebook takes one video on its own, without images or other videos.", "media"))
        for item in content.media:
            if not is_image(item) and not is_video(item):
                problems.append(Problem("Facebook posts from CivicPost carry images or one video.", "media"))
            if is_image(item) and not item.url.startswith("https://"):
                problems.append(Problem("Facebook fetches images from a public https:// address.", "media"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Publishes to the Page (or, with reply_to, comments on that post or comment). Returns the
        "<page-id>_<post-id>" id (a comment's "<post-id>_<comment-id>") and the permalink."""
        client = self._client()
        if content.reply_to is not None:
            return self._comment(client, content)
        if len(content.media) == 1 and is_video(content.media[0]):
            return publish_reel(self, client, content, idempotency_key=idempotency_key)
        if any(is_video(item) for item in content.media):
            raise PublishError("Facebook takes one video on its own, without images.", permanent=True)
        data: dict[str, Any] = {"message": self._message(content)}
        if content.media:
            urls = media_urls_for(self, content.media)
            # Unpublished photos are invisible until attached, so failures here are safe to retry.
            for index, (item, url) in enumerate(zip(content.media, urls, strict=True)):
                photo = client.post(
                    f"{self.page_id}/photos",
                    {"url": url, "published": "false", "alt_text_custom": item.alt_text or None},
                )
                data[f"attached_media[{index}]"] = json.dumps({"media_fbid": str(photo["id"])})
        elif content.link:
            data["link"] = content.link
        try:
            body = client.post(f"{self.page_id}/feed", data, publishing=True)
        except Duplicate as error:
            raise Duplicate(
                error.message, existing=self._find_duplicate(client, content), code=error.code, raw=error.raw
            ) from None
        post_id = str(body.get("id") or "")
        if not post_id:
            raise OutcomeUnknown("Facebook answered without a post id; checking the Page feed.", raw=body)
        return PublishResult(remote_id=post_id, permalink=self._permalink(client, post_id), raw=body)

    @staticmethod
    def _reply_fields(content: PostContent) -> tuple[str, dict[str, Any]]:
        """The comment request for content that answers a post: (path, form) of POST /{object-id}/comments."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        return f"{content.reply_to.remote_id}/comments", {"message": content.text}

    def _comment(self, client: GraphClient, content: PostContent) -> PublishResult:
        path, data = self._reply_fields(content)
        body = client.post(path, data, publishing=True)
        comment_id = str(body.get("id") or "")
        if not comment_id:
            raise OutcomeUnknown("Facebook answered without a comment id; checking the post's comments.", raw=body)
        return PublishResult(remote_id=comment_id, permalink=post_permalink_fallback(comment_id), raw=body)

    def _reconcile_comment(self, content: PostContent, *, sent_at: dt.datetime) -> PublishResult | None:
        """Looks for our comment among the post's comments, newest first
        (GET /{object-id}/comments?filter=stream&order=reverse_chronological)."""
        assert content.reply_to is not None  # noqa: S101 - callers check
        now = timezone.now()
        listing = window_items(
            self._client(),
            f"{content.reply_to.remote_id}/comments",
            {
                "fields": "id,message,created_time,from",
                "filter": "stream",
                "order": "reverse_chronological",
                "limit": RECONCILE_PAGE_LIMIT,
            },
            since=sent_at - RECONCILE_LOOKBACK,
            time_field="created_time",
        )
        ours = [item for item in listing.items if str((item.get("from") or {}).get("id") or "") in ("", self.page_id)]
        item = find_sent_item(
            ours, text_field="message", time_field="created_time", expected_text=content.text, sent_at=sent_at
        )
        if item:
            comment_id = str(item["id"])
            return PublishResult(remote_id=comment_id, permalink=post_permalink_fallback(comment_id), raw=dict(item))
        if not listing.complete:
            raise window_incomplete(label="Facebook", pages=listing.pages)
        not_found_yet(label="Facebook", sent_at=sent_at, now=now, settle_seconds=self.reconcile_settle_seconds)
        return None

    def _permalink(self, client: GraphClient, post_id: str) -> str:
        # The post is live whatever happens here: a failed lookup must not turn success into failure.
        try:
            body = client.get(post_id, {"fields": "permalink_url"})
        except AdapterError:
            return post_permalink_fallback(post_id)
        return str(body.get("permalink_url") or post_permalink_fallback(post_id))

    def _recent_posts(self, client: GraphClient, *, since: int, until: int) -> Listing:
        """The Page's posts created between `since` and `until` (Unix seconds), every page up to the cap."""
        return window_items(
            client,
            f"{self.page_id}/feed",
            {
                "fields": "id,message,created_time,permalink_url",
                "since": since,
                "until": until,
                "limit": RECONCILE_PAGE_LIMIT,
            },
            since=dt.datetime.fromtimestamp(since, dt.UTC),
            time_field="created_time",
        )

    def _as_result(self, item: Mapping[str, Any]) -> PublishResult:
        post_id = str(item["id"])
        return PublishResult(
            remote_id=post_id, permalink=item.get("permalink_url") or post_permalink_fallback(post_id), raw=dict(item)
        )

    def _find_duplicate(self, client: GraphClient, content: PostContent) -> PublishResult | None:
        """After code 506: the earlier post with this text, if the Page shows it in the last day."""
        now = timezone.now()
        sent_at = now - dt.timedelta(days=1)
        try:
            listing = self._recent_posts(
                client, since=int((sent_at - RECONCILE_LOOKBACK).timestamp()), until=int(now.timestamp()) + 1
            )
        except AdapterError:
            return None
        item = find_sent_item(
            listing.items,
            text_field="message",
            time_field="created_time",
            expected_text=self._message(content),
            sent_at=sent_at,
        )
        return self._as_result(item) if item else None

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for our text in the Page feed from shortly before `sent_at` to shortly after it, every page.

        Returns the post when found; None only when the whole window was read, the post is not in it and the
        settle time has passed; raises CheckAgainLater when it is too early to tell or the feed read hit a
        passing failure, OutcomeUnknown when the window holds more pages than CivicPost reads, another
        AdapterError when the feed cannot be read at all. A comment (reply_to) is looked for among the comments
        of the post it answers."""
        if content.reply_to is not None:
            return self._reconcile_comment(content, sent_at=sent_at)
        client = self._client()
        upload = PendingUpload.load(self.platform, idempotency_key)
        if upload.state.get("media_id"):
            # A reel: its own status decides (facebook/video.py); the feed may not list reels.
            return reconcile_reel(self, client, upload)
        now = timezone.now()
        since, until = reconcile_window(sent_at, now=now)
        listing = self._recent_posts(client, since=since, until=until)
        item = find_sent_item(
            listing.items,
            text_field="message",
            time_field="created_time",
            expected_text=self._message(content),
            sent_at=sent_at,
        )
        if item:
            return self._as_result(item)
        if not listing.complete:
            raise window_incomplete(label="Facebook", pages=listing.pages)
        not_found_yet(label="Facebook", sent_at=sent_at, now=now, settle_seconds=self.reconcile_settle_seconds)
        return None

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        body = self._client().delete(remote_id)
        if not body.get("success"):
            raise PublishError("Facebook did not confirm the deletion.", permanent=True, raw=body)

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        fields = METRICS_FIELDS if is_page_post_id(remote_id) else VIDEO_METRICS_FIELDS
        return _post_counts(self._client().get(remote_id, {"fields": fields}))

    # Graph `?ids=` reads up to 50 objects in one request (https://developers.facebook.com/docs/graph-api/
    # using-graph-api#multiple-ids-read-requests).
    metrics_batch_size = 50
    metrics_gone_codes = OBJECT_GONE_CODES

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """One `GET /?ids=a,b&fields=shares,reactions.summary…,comments.summary…` (platforms.md §3). The
        Graph API fails the whole request when one id is gone (code 100): then each id is read on its own,
        which tells the deleted ones apart. Views ("impressions" insights were removed in Nov 2025) and
        clicks are not read: not reported."""
        ids = remote_ids[: self.metrics_batch_size]
        if not all(is_page_post_id(remote_id) for remote_id in ids):
            # Reels need other fields: read posts and reels apart (one request per reel; reels are few).
            posts = [remote_id for remote_id in ids if is_page_post_id(remote_id)]
            mixed: dict[str, MetricsReading | Removed] = self.fetch_metrics_batch(posts) if posts else {}
            mixed.update(super().fetch_metrics_batch([i for i in ids if not is_page_post_id(i)]))
            return mixed
        try:
            body = self._client().get("", {"ids": ",".join(ids), "fields": METRICS_FIELDS})
        except PublishError as error:
            if not error.permanent or len(ids) == 1:
                raise
            return super().fetch_metrics_batch(ids)
        readings: dict[str, MetricsReading | Removed] = {}
        for remote_id in ids:
            entry = body.get(remote_id)
            if isinstance(entry, dict):
                readings[remote_id] = MetricsReading(counts=_post_counts(entry), raw=entry)
        return readings

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """One page of one of our posts' comments (graph.comments_read_step), the Page's own left out. Raises
        RateLimited, AuthExpired (token dead or a permission missing), PublishError."""
        step = comments_read_step(
            self._client(),
            cursor=cursor,
            our_remote_ids=our_remote_ids,
            edge="comments",
            params={"filter": "stream", "order": "reverse_chronological", "fields": COMMENT_FIELDS},
            time_field="created_time",
        )
        items = tuple(
            _comment_item(entry, post_id=step.post_id)
            for entry in step.entries
            if str((entry.get("from") or {}).get("id") or "") != self.page_id
        )
        return ConversationPage(items=items, next_cursor=step.cursor, more=step.more, requests=step.requests)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Hides or unhides (POST /{comment-id} is_hidden) or deletes (DELETE /{comment-id}) a comment; blocks or
        unblocks its author from the Page (POST / DELETE /{page-id}/blocked). Raises PublishError (not allowed here,
        or refused), RateLimited, AuthExpired."""
        client = self._client()
        if action in ("block", "unblock"):
            return self._block(client, item, block=action == "block")
        return comment_hide_or_delete(client, item.remote_id, action, platform="Facebook", hide_field="is_hidden")

    def _block(self, client: GraphClient, item: ConversationItem, *, block: bool) -> ModerationResult:
        author_id = str((item.raw.get("from") or {}).get("id") or "")
        if not author_id or author_id == self.page_id:
            raise PublishError("Facebook did not name the person who wrote this comment.", permanent=True)
        if block:
            body = client.post(f"{self.page_id}/blocked", {"user": json.dumps([author_id])})
            done = body.get(author_id) is True
        else:
            body = client.request("DELETE", f"{self.page_id}/blocked", params={"user": author_id})
            done = body.get("success") is True
        if not done:
            raise PublishError("Facebook did not confirm the change.", permanent=True, raw=body)
        return ModerationResult(done=True, raw=body)

    def fetch_followers(self) -> int | None:
        """`GET /{page-id}?fields=followers_count`."""
        body = self._client().get(self.page_id, {"fields": "followers_count"})
        value = body.get("followers_count")
        return int(value) if value is not None else None

    def check_connection(self) -> ConnectionCheck:
        token = self.account.credentials.get("page_access_token", "")
        if not token:
            return ConnectionCheck(ok=False, message="No Page token is stored; connect the Page again.")
        try:
            me = facebook_client(token).get("me", {"fields": "id,name"})
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        if self.page_id and str(me.get("id")) != self.page_id:
            return ConnectionCheck(
                ok=False, message=f"The stored token belongs to {me.get('name') or me.get('id')}, not to this Page."
            )
        expires_at = None
        if settings.CIVICPOST_META_APP_ID and settings.CIVICPOST_META_APP_SECRET:
            try:
                expires_at = token_expiry(debug_token(input_token=token))
            except AdapterError:
                expires_at = None
        return ConnectionCheck(ok=True, message=expiry_message(expires_at), expires_at=expires_at)


# --- Connecting a Page (pure functions for the connection views) -------------------------------------


def authorization_url(
    *,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    scopes: Sequence[str] = FACEBOOK_SCOPES,
    app_id: str | None = None,
) -> str:
    """Returns the Facebook Login dialog URL (authorization code flow with PKCE S256).

    Keep `state` and the PKCE verifier (scheduler/adapters/oauth.py pkce_pair()) in the session; compare
    `state` on return."""
    query = {
        "client_id": app_id or settings.CIVICPOST_META_APP_ID,
        "redirect_uri": redirect_uri,
        "state": state,
        "response_type": "code",
        "scope": ",".join(scopes),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    return f"{FACEBOOK_DIALOG_HOST}/{graph_api_version()}/dialog/oauth?{urlencode(query)}"


def exchange_code(
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
    app_id: str | None = None,
    app_secret: str | None = None,
    session: requests.Session | None = None,
) -> OAuthToken:
    """Returns the short-lived user token for the code from the dialog. Raises AdapterError."""
    body = facebook_client(session=session).get(
        "oauth/access_token",
        {
            "client_id": app_id or settings.CIVICPOST_META_APP_ID,
            "client_secret": app_secret or settings.CIVICPOST_META_APP_SECRET,
            "redirect_uri": redirect_uri,
            "code": code,
            "code_verifier": code_verifier,
        },
    )
    return OAuthToken.from_body(body)


def exchange_long_lived_user_token(
    *,
    user_token: str,
    app_id: str | None = None,
    app_secret: str | None = None,
    session: requests.Session | None = None,
) -> OAuthToken:
    """Returns a ~60-day user token; Page tokens read with it do not expire. Raises AdapterError."""
    body = facebook_client(session=session).get(
        "oauth/access_token",
        {
            "grant_type": "fb_exchange_token",
            "client_id": app_id or settings.CIVICPOST_META_APP_ID,
            "client_secret": app_secret or settings.CIVICPOST_META_APP_SECRET,
            "fb_exchange_token": user_token,
        },
    )
    return OAuthToken.from_body(body)


@dataclass(frozen=True)
class PageAccount:
    id: str
    name: str
    access_token: str
    tasks: tuple[str, ...] = ()

    @property
    def can_publish(self) -> bool:
        return "CREATE_CONTENT" in self.tasks or "MANAGE" in self.tasks

    def channel_fields(self) -> dict[str, Any]:
        """What a Channel stores for this Page (credentials are encrypted by the model field)."""
        return {
            "platform": "facebook",
            "display_name": self.name,
            "credentials": {"page_access_token": self.access_token},
            "options": {"page_id": self.id, "page_name": self.name},
        }


def list_pages(*, user_token: str, session: requests.Session | None = None, max_pages: int = 10) -> list[PageAccount]:
    """Returns the Pages the person can act on, each with its Page token (GET /me/accounts)."""
    client = facebook_client(user_token, session=session)
    pages: list[PageAccount] = []
    after = None
    for _ in range(max_pages):
        body = client.get("me/accounts", {"fields": "id,name,access_token,tasks", "limit": 100, "after": after})
        for item in body.get("data") or []:
            pages.append(
                PageAccount(
                    id=str(item["id"]),
                    name=str(item.get("name") or ""),
                    access_token=str(item.get("access_token") or ""),
                    tasks=tuple(item.get("tasks") or ()),
                )
            )
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            break
    return pages


def debug_token(
    *,
    input_token: str,
    app_id: str | None = None,
    app_secret: str | None = None,
    session: requests.Session | None = None,
) -> dict[str, Any]:
    """Returns the `data` of GET /debug_token (validity, scopes, expires_at) using the app token."""
    app_token = f"{app_id or settings.CIVICPOST_META_APP_ID}|{app_secret or settings.CIVICPOST_META_APP_SECRET}"
    client = GraphClient(
        base_url=platform_base_url("facebook", DEFAULT_GRAPH_HOST),
        version=graph_api_version(),
        access_token=app_token,
        label="Facebook",
        session=session,
    )
    return dict(client.get("debug_token", {"input_token": input_token}).get("data") or {})


def token_expiry(debug_data: dict[str, Any]) -> dt.datetime | None:
    """Returns when a token expires according to debug_token (None: never, as for Page tokens)."""
    expires_at = int(debug_data.get("expires_at") or 0)
    return dt.datetime.fromtimestamp(expires_at, tz=dt.UTC) if expires_at else None


def _comment_item(entry: dict[str, Any], *, post_id: str) -> ConversationItem:
    """A Graph Comment (https://developers.facebook.com/docs/graph-api/reference/comment) as an inbox item: a reply
    to another comment names it as `parent`. Facebook shows no public handle for a person (app-scoped ids): the
    name stands in, and the comment's permalink leads to it."""
    author = entry.get("from") or {}
    parent = str((entry.get("parent") or {}).get("id") or "")
    attachment = entry.get("attachment") or {}
    image = ((attachment.get("media") or {}).get("image") or {}).get("src") or attachment.get("url")
    media = ({"url": str(image), "type": str(attachment.get("type") or ""), "alt_text": ""},) if image else ()
    return ConversationItem(
        remote_id=str(entry["id"]),
        kind="comment",
        author_handle=str(author.get("name") or author.get("id") or ""),
        author_name=str(author.get("name") or ""),
        text=str(entry.get("message") or ""),
        created_at=parse_graph_time(entry.get("created_time")) or timezone.now(),
        in_reply_to_remote_id=parent or post_id,
        root_remote_id=post_id,
        permalink=str(entry.get("permalink_url") or ""),
        media=media,
        raw=entry,
    )


def _post_counts(body: dict[str, Any]) -> dict[str, int]:
    return {
        "likes": int(((body.get("reactions") or {}).get("summary") or {}).get("total_count") or 0),
        "replies": int(((body.get("comments") or {}).get("summary") or {}).get("total_count") or 0),
        "shares": int((body.get("shares") or {}).get("count") or 0),
    }
