"""X (Twitter), API v2: tweepy's `Client` for posts, deletes and reads; our own v2 media upload.

Credentials (encrypted on the channel), one of two shapes:
  OAuth 2.0 user token  {"access_token", "refresh_token", "expires_at", "x_user_id", "username"}
  OAuth 1.0a            {"access_token", "access_token_secret", "x_user_id", "username"}
App keys come from settings: CIVICPOST_X_CONSUMER_KEY / _SECRET (OAuth 1.0a) and
CIVICPOST_X_CLIENT_ID / _SECRET (OAuth 2.0 refresh).

Refreshed OAuth 2.0 tokens: X rotates the refresh token on every refresh, so the old one stops working.
After any call, `adapter.updated_credentials` is either None or the complete new credentials dict,
which the caller must save on the channel (encrypted), or the channel will need reconnecting.

Local fakes: tweepy hard-codes https://api.twitter.com. When CIVICPOST_PLATFORM_URLS["x"] is set
(tests, demos), the session every X call goes through rewrites https://api.twitter.com and
https://api.x.com to that base URL, so one fake server answers tweepy's calls and ours alike.

The inbox (residents' replies, mentions and quotes; verified offline only, against docs.x.com's shapes)
    read   GET /2/users/:id/mentions?since_id=<newest read>&pagination_token=<while paging>&max_results=100
           &tweet.fields=created_at,conversation_id,referenced_tweets,author_id,attachments
           &expansions=author_id,attachments.media_keys&user.fields=username,name&media.fields=url,type,alt_text,
           preview_image_url  (https://docs.x.com/x-api/posts/user-mention-timeline-by-user-id), newest first; pages go
           back to since_id through meta.next_token, and the cursor moves to the sweep's newest id only once the last
           page is read. The first read takes the latest page only. A deleted post is no longer listed.
           Every read is billed: the inbox counts each request against the department's X read budget (the one
           analytics uses) and a channel's reading can be switched off (inbox settings).
    hide   PUT /2/tweets/:id/hidden {"hidden": true|false} -> {"data": {"hidden": true}}, only replies in a
           conversation our account started (https://docs.x.com/x-api/posts/hide-replies)
    mute   POST /2/users/:id/muting {"target_user_id"}, DELETE /2/users/:id/muting/:target_user_id
           (https://docs.x.com/x-api/users/mutes); X has no deleting other people's posts.
    Access a city needs: a paid X API plan that includes the mentions timeline (Basic tier or above, or pay-per-use
    credits), OAuth 2.0 scopes tweet.read, users.read, tweet.moderate.write, mute.write (channels connected before
    these scopes were added must be reconnected to moderate).

tweepy logs request headers (OAuth 2.0 bearer tokens) at DEBUG: its logger is kept at INFO or above.
No tweepy call may sleep: `wait_on_rate_limit` stays False and a 429 becomes RateLimited.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import tweepy
from django.conf import settings
from django.utils import timezone
from twitter_text import extract_urls_with_indices, parse_tweet

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    ConnectionCheck,
    ConversationItem,
    ConversationPage,
    Duplicate,
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
    parse_expires_at,
)
from scheduler.adapters.http import (
    USER_AGENT,
    TimeoutSession,
    kept_alive_session,
    platform_base_url,
    request_never_sent,
)
from scheduler.adapters.media import UploadImage, image_for_upload, is_image
from scheduler.adapters.video import PendingUpload, is_video, pending_reconcile
from scheduler.adapters.x.video import X_VIDEO_LIMITS, poll_pending, upload_video

T = TypeVar("T")

# https://docs.x.com/x-api/posts/manage-tweets/quickstart : tweepy's fixed host for /2/tweets etc.
TWEEPY_HOST = "https://api.twitter.com"
# https://docs.x.com/x-api/media/upload-media , https://docs.x.com/x-api/media/create-media-metadata
API_HOST = "https://api.x.com"
MEDIA_UPLOAD_PATH = "/2/media/upload"
MEDIA_METADATA_PATH = "/2/media/metadata"
# https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (refresh_token grant)
OAUTH2_RENEW_PATH = "/2/oauth2/token"

# https://docs.x.com/x-api/media/quickstart/best-practices : 4 photos per post, 5 MB per image.
TEXT_LIMIT = 280
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Other images (GIF) are converted to one of these at publish time (scheduler/adapters/media.py).
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
X_IMAGES_ONLY = "X posts from CivicPost take images or one video."
X_ONE_VIDEO_ALONE = "An X post takes one video on its own, without images or a second video."
MAX_ALT_TEXT = 1000
# Refresh an OAuth 2.0 access token (2 h lifetime) this long before it runs out.
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=2)
# Reconcile reads the account's posts from this far before the send to RECONCILE_MARGIN after it (never past
# now), RECONCILE_PAGE_SIZE a page, following next_token up to RECONCILE_MAX_PAGES pages; it decides "absent"
# only when the whole window was read and RECONCILE_SETTLE has passed since the send.
RECONCILE_LOOKBACK = dt.timedelta(minutes=2)
RECONCILE_MARGIN = dt.timedelta(minutes=10)
RECONCILE_SETTLE = dt.timedelta(minutes=2)


def _reconcile_settle() -> dt.timedelta:
    """RECONCILE_SETTLE, or CIVICPOST_RECONCILE_SETTLE_SECONDS where a harness against the local fake platform
    (which lists a post the moment it stores it) sets a shorter wait."""
    seconds = getattr(settings, "CIVICPOST_RECONCILE_SETTLE_SECONDS", None)
    return dt.timedelta(seconds=seconds) if seconds is not None else RECONCILE_SETTLE


RECONCILE_PAGE_SIZE = 100  # X's maximum for GET /2/users/:id/tweets
MENTIONS_PAGE_SIZE = 100  # X's maximum for GET /2/users/:id/mentions
RECONCILE_MAX_PAGES = 10
DEFAULT_RATE_LIMIT_WAIT = 60.0

ERRORS_DOC = "https://docs.x.com/x-api/fundamentals/response-codes-and-errors"

logger = logging.getLogger(__name__)


def _keep_tweepy_quiet() -> None:
    """tweepy writes `Authorization: Bearer ...` into DEBUG records: never let them through."""
    tweepy_logger = logging.getLogger("tweepy")
    if tweepy_logger.getEffectiveLevel() < logging.INFO:
        tweepy_logger.setLevel(logging.INFO)


class XSession(TimeoutSession):
    """The one HTTP session of an XAdapter: CivicPost's timeout and User-Agent, and (for local fakes)
    X's hosts rewritten to CIVICPOST_PLATFORM_URLS["x"]."""

    def __init__(self, rewrite_to: str | None = None) -> None:
        super().__init__()
        self.rewrite_to = rewrite_to

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.rewrite_to:
            for host in (TWEEPY_HOST, API_HOST):
                if url.startswith(host):
                    url = self.rewrite_to + url[len(host) :]
                    break
        return super().request(method, url, **kwargs)


def weighted_length(text: str) -> int:
    """Returns X's weighted length: URLs count 23, CJK and emoji 2, most other characters 1."""
    length: int = parse_tweet(text).weightedLength
    return length


def _normalise_for_match(text: str) -> str:
    """X returns text with URLs rewritten to t.co and &, <, > escaped: compare what is left."""
    text = unicodedata.normalize("NFC", html.unescape(text))
    for found in reversed(extract_urls_with_indices(text)):
        start, end = found["indices"]
        text = text[:start] + " " + text[end:]
    text = re.sub(r"https?://\S+", " ", text)  # also links X would not recognise (unknown TLDs)
    return re.sub(r"\s+", " ", text).strip()


def _raise_for_x_status(response: requests.Response) -> None:
    """Raises the tweepy exception tweepy itself would raise, so our own calls classify the same way."""
    status = response.status_code
    if status == 400:
        raise tweepy.BadRequest(response)
    if status == 401:
        raise tweepy.Unauthorized(response)
    if status == 403:
        raise tweepy.Forbidden(response)
    if status == 404:
        raise tweepy.NotFound(response)
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset and reset.isdigit() else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    if not 200 <= status < 300:
        raise tweepy.HTTPException(response)


def _response_raw(response: requests.Response | None) -> dict[str, Any]:
    if response is None:
        return {}
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text[:2000]
    headers = {
        k.lower(): v
        for k, v in response.headers.items()
        if k.lower().startswith(("x-rate-limit", "x-user-limit", "x-app-limit"))
    }
    return {"status": response.status_code, "body": body, "headers": headers}


def _mentions_state(cursor: str | None) -> dict[str, str]:
    """The mentions cursor: {"since": newest id read, "token": next page while a sweep goes on, "top": the sweep's
    newest id}. A bare id (or nothing) is read as {"since": id}."""
    if not cursor:
        return {}
    try:
        state = json.loads(cursor)
    except ValueError:
        return {"since": cursor} if cursor.isdigit() else {}
    return {key: str(value) for key, value in state.items() if value} if isinstance(state, dict) else {}


def _mentions_cursor(state: dict[str, str]) -> str:
    return json.dumps({key: value for key, value in state.items() if value}, separators=(",", ":"), sort_keys=True)


def _mention_item(tweet: Any, *, users: dict[str, Any], media: dict[str, Any], ours: set[str]) -> ConversationItem:
    """A post of the mentions timeline as an inbox item: a reply to (or quote of) one of our posts threads under it;
    anything else is a mention."""
    references = {str(ref["type"]): str(ref["id"]) for ref in (tweet.data.get("referenced_tweets") or [])}
    replied_to, quoted = references.get("replied_to", ""), references.get("quoted", "")
    if replied_to in ours:
        kind, parent = "reply", replied_to
    elif quoted in ours:
        kind, parent = "quote", quoted
    else:
        kind, parent = "mention", replied_to or quoted
    author = users.get(str(tweet.author_id or ""))
    username = str(author.username) if author is not None else ""
    keys = (tweet.data.get("attachments") or {}).get("media_keys") or []
    attached = [media[key] for key in keys if key in media]
    return ConversationItem(
        remote_id=str(tweet.id),
        kind=kind,
        author_handle=f"@{username}" if username else str(tweet.author_id or ""),
        author_name=str(author.name) if author is not None else "",
        author_profile_url=f"https://x.com/{username}" if username else "",
        text=html.unescape(str(tweet.text or "")),
        created_at=tweet.created_at or timezone.now(),
        in_reply_to_remote_id=parent,
        root_remote_id=str(tweet.data.get("conversation_id") or ""),
        permalink=f"https://x.com/{username or 'i/web'}/status/{tweet.id}",
        media=tuple(
            {
                "url": str(m.data.get("url") or m.data.get("preview_image_url") or ""),
                "type": str(m.type or ""),
                "alt_text": str(m.data.get("alt_text") or ""),
            }
            for m in attached
        ),
        raw=dict(tweet.data),
    )


def _problem_type(response: requests.Response | None) -> str:
    try:
        body = response.json() if response is not None else {}
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return f"{body.get('type', '')} {body.get('reason', '')}".lower()


class XAdapter(PlatformAdapter):
    platform = "x"
    label = "X"
    max_media = MAX_IMAGES
    image_limits = ImageLimits(max_bytes=MAX_IMAGE_BYTES, mime_types=IMAGE_TYPES)
    requires_alt_text = True
    # GET /2/tweets?ids= takes up to 100 ids (https://docs.x.com/x-api/posts/get-posts-by-ids).
    metrics_batch_size = 100
    metrics_reads_are_paid = True
    metrics_gone_codes = frozenset({"x_not_found"})
    # POST /2/tweets with reply.in_reply_to_tweet_id (https://docs.x.com/x-api/posts/create-post): a thread's
    # parts answer the account's own previous post.
    supports_replies = True
    supports_threads = True
    # The inbox: the mentions timeline (paid reads); hide replies, mute authors.
    supports_inbox = True
    conversation_reads_are_paid = True
    moderation_actions = frozenset({"hide", "mute"})
    undo_actions = frozenset({"unhide", "unmute"})

    def __init__(self, account: ChannelAccount) -> None:
        super().__init__(account)
        self.credentials: dict[str, Any] = dict(account.credentials)
        # Set to the complete new credentials after an OAuth 2.0 refresh; the caller must save them.
        self.updated_credentials: dict[str, Any] | None = None
        self.base_url = platform_base_url("x", API_HOST)
        rewrite_to = self.base_url if "x" in settings.CIVICPOST_PLATFORM_URLS else None
        self.session = kept_alive_session(("x", account.channel_id), session=XSession(rewrite_to=rewrite_to))
        self._client: tweepy.Client | None = None

    # --- Auth -----------------------------------------------------------------------------------

    @property
    def uses_oauth1(self) -> bool:
        return bool(self.credentials.get("access_token_secret"))

    @property
    def username(self) -> str:
        return str(self.credentials.get("username") or self.account.handle or "").lstrip("@")

    def _oauth1_handler(self) -> tweepy.OAuth1UserHandler:
        key, secret = settings.CIVICPOST_X_CONSUMER_KEY, settings.CIVICPOST_X_CONSUMER_SECRET
        if not key or not secret:
            raise AuthExpired(
                "CivicPost's X app keys are not set up (CIVICPOST_X_CONSUMER_KEY and CIVICPOST_X_CONSUMER_SECRET); "
                "ask the city's IT team.",
                code="x_app_keys_missing",
            )
        return tweepy.OAuth1UserHandler(
            key, secret, self.credentials["access_token"], self.credentials["access_token_secret"]
        )

    def client(self) -> tweepy.Client:
        """Returns the tweepy client for this account, built on our session. Never waits on rate limits."""
        if self._client is None:
            _keep_tweepy_quiet()
            if not self.credentials.get("access_token"):
                raise AuthExpired("The X account is not connected: no access token is stored.", code="x_no_token")
            if self.uses_oauth1:
                handler = self._oauth1_handler()
                client = tweepy.Client(
                    consumer_key=handler.consumer_key,
                    consumer_secret=handler.consumer_secret,
                    access_token=handler.access_token,
                    access_token_secret=handler.access_token_secret,
                    wait_on_rate_limit=False,
                )
            else:
                client = tweepy.Client(bearer_token=self.credentials["access_token"], wait_on_rate_limit=False)
            client.session = self.session
            client.user_agent = f"{USER_AGENT} Tweepy/{tweepy.__version__}"
            self._client = client
        return self._client

    @property
    def _user_auth(self) -> bool:
        # tweepy: user_auth=True signs with OAuth 1.0a; False sends `Authorization: Bearer <user token>`.
        return self.uses_oauth1

    def _request_auth(self) -> tuple[dict[str, str], Any]:
        """Returns (headers, requests auth) for our own calls to api.x.com (media upload)."""
        if self.uses_oauth1:
            return {}, self._oauth1_handler().apply_auth()
        return {"Authorization": f"Bearer {self.credentials['access_token']}"}, None

    def _can_refresh(self) -> bool:
        return not self.uses_oauth1 and bool(self.credentials.get("refresh_token"))

    def _refresh_if_expiring(self) -> None:
        if not self._can_refresh():
            return
        expires_at = parse_expires_at(self.credentials.get("expires_at"))
        if expires_at is not None and expires_at - TOKEN_REFRESH_MARGIN <= timezone.now():
            self.refresh_credentials()

    def refresh_credentials(self) -> dict[str, Any]:
        """Exchanges the refresh token for a new access token (and a new refresh token, which X rotates).

        Returns the new credentials, also left in `updated_credentials` for the caller to save.
        Raises AuthExpired when X no longer accepts the refresh token (the department must reconnect),
        PublishError(permanent=False) / RateLimited when X could not answer now."""
        refresh_token = self.credentials.get("refresh_token")
        if not refresh_token:
            raise AuthExpired("X no longer accepts the stored sign-in; reconnect the X account.", code="x_unauthorized")
        client_id, client_secret = settings.CIVICPOST_X_CLIENT_ID, settings.CIVICPOST_X_CLIENT_SECRET
        # Confidential clients authenticate with HTTP Basic; public (PKCE-only) clients send client_id.
        auth = (client_id, client_secret) if client_secret else None
        try:
            response = self.session.post(
                f"{self.base_url}{OAUTH2_RENEW_PATH}",
                data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id},
                auth=auth,
            )
        except requests.RequestException as error:
            raise PublishError(
                f"Could not reach X to renew the sign-in ({type(error).__name__}); nothing was posted.", permanent=False
            ) from error
        if response.status_code == 429:
            raise RateLimited(
                "X is rate limiting sign-in renewals.",
                retry_after=self._retry_after(response),
                raw=_response_raw(response),
            )
        if response.status_code >= 500:
            raise PublishError(
                "X could not renew the sign-in right now; nothing was posted.",
                permanent=False,
                raw=_response_raw(response),
            )
        if response.status_code != 200:
            # 400 invalid_grant: the refresh token was revoked, expired or already used.
            raise AuthExpired(
                "X refused to renew the sign-in (the app was disconnected or the token expired); "
                "a department admin must reconnect the X account.",
                code="x_refresh_refused",
                raw=_response_raw(response),
            )
        token = response.json()
        new_credentials = dict(self.credentials)
        new_credentials["access_token"] = token["access_token"]
        if token.get("refresh_token"):
            new_credentials["refresh_token"] = token["refresh_token"]
        if token.get("expires_in"):
            expires_at = timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))
            new_credentials["expires_at"] = expires_at.astimezone(dt.UTC).isoformat()
        if token.get("scope"):
            new_credentials["scopes"] = token["scope"]
        self.credentials = new_credentials
        self.updated_credentials = new_credentials
        self._client = None
        return new_credentials

    # --- Calls and error classification -----------------------------------------------------

    @staticmethod
    def _retry_after(response: requests.Response | None, reset_time: int | None = None) -> float:
        if reset_time is None and response is not None:
            reset = response.headers.get("x-rate-limit-reset", "")
            reset_time = int(reset) if reset.isdigit() else None
        if reset_time is None:
            return DEFAULT_RATE_LIMIT_WAIT
        return max(1.0, reset_time - time.time())

    def _call(self, operation: Callable[[tweepy.Client], T], *, creates_post: bool) -> T:
        """Runs one X call, renewing an OAuth 2.0 token once on 401, and maps failures onto our errors."""
        try:
            self._refresh_if_expiring()
            try:
                return operation(self.client())
            except tweepy.Unauthorized:
                # A 401 means X did not apply the request: renewing and repeating it is safe.
                if not self._can_refresh():
                    raise
                self.refresh_credentials()
                return operation(self.client())
        except AdapterError:
            raise
        except (tweepy.HTTPException, requests.RequestException) as error:
            raise self._classify(error, creates_post=creates_post) from error

    def _classify(self, error: Exception, *, creates_post: bool) -> AdapterError:
        """Maps a tweepy / requests failure onto the shared vocabulary (platforms.md §2.8, ERRORS_DOC)."""
        if isinstance(error, requests.RequestException):
            if request_never_sent(error):
                return PublishError(
                    f"Could not connect to X ({type(error).__name__}); nothing was sent.", permanent=False
                )
            if creates_post:
                # X has no idempotency key: a request that may have arrived must be reconciled, not resent.
                return OutcomeUnknown(f"The connection to X broke while posting ({type(error).__name__}).")
            return PublishError(f"The connection to X broke ({type(error).__name__}).", permanent=False)

        if not isinstance(error, tweepy.HTTPException):
            return PublishError(f"Unexpected error talking to X: {type(error).__name__}", permanent=False)
        response = error.response
        raw = _response_raw(response)
        detail = "; ".join(str(m) for m in error.api_messages) or str(error)
        status = getattr(response, "status_code", 0)

        if isinstance(error, tweepy.TooManyRequests):
            # 429 is a rate limit or a usage cap; X sends no Retry-After, only x-rate-limit-reset (epoch s).
            return RateLimited(
                "X asked us to wait before posting again.",
                retry_after=self._retry_after(response, error.reset_time),
                code="x_rate_limited",
                raw=raw,
            )
        if isinstance(error, tweepy.Unauthorized):
            # OAuth 1.0a tokens do not expire: a 401 means the app was revoked. OAuth 2.0 was refreshed already.
            return AuthExpired(
                "X no longer accepts CivicPost's access to this account; a department admin must reconnect it.",
                code="x_unauthorized",
                raw=raw,
            )
        if isinstance(error, tweepy.Forbidden):
            lowered = detail.lower()
            problem = _problem_type(response)
            if "duplicate content" in lowered:
                # {"detail":"You are not allowed to create a Tweet with duplicate content."}: never tweak and resend.
                return Duplicate(
                    f"X says this exact post is already on the account: {detail}", code="x_duplicate", raw=raw
                )
            if "suspended" in lowered or "locked" in lowered:
                return AuthExpired(f"X says this account is suspended or locked: {detail}", code="x_suspended", raw=raw)
            if "oauth1-permissions" in problem or "unsupported-authentication" in problem or "permission" in lowered:
                # The token lacks write permission: reconnecting with "read and write" fixes it.
                return AuthExpired(
                    f"CivicPost's access to X lacks permission to post; reconnect the account. ({detail})",
                    code="x_permission_missing",
                    raw=raw,
                )
            # Client not enrolled, out of credits, policy block: an administrator must act; never retry.
            return PublishError(f"X refused the post: {detail}", permanent=True, code="x_forbidden", raw=raw)
        if isinstance(error, tweepy.BadRequest):
            return PublishError(f"X rejected the post: {detail}", permanent=True, code="x_bad_request", raw=raw)
        if isinstance(error, tweepy.TwitterServerError):
            if creates_post:
                # A 5xx may come after X stored the post, and X has no idempotency key: reconcile first.
                return OutcomeUnknown(
                    f"X answered with a server error ({status}); the post may or may not be up.", raw=raw
                )
            return PublishError(f"X answered with a server error ({status}).", permanent=False, raw=raw)
        return PublishError(
            f"X refused the request ({status}): {detail}", permanent=True, code=f"x_http_{status}", raw=raw
        )

    # --- Contract -------------------------------------------------------------------------------

    def text_length(self, content: PostContent) -> TextLength:
        limit = int(self.account.options.get("text_limit") or TEXT_LIMIT)
        return TextLength(used=weighted_length(content.text_with_link()), limit=limit)

    video_limits = X_VIDEO_LIMITS

    def validate(self, content: PostContent) -> list[Problem]:
        problems = super().validate(content)
        videos = [item for item in content.media if is_video(item)]
        if videos and len(content.media) > 1:
            problems.append(Problem(X_ONE_VIDEO_ALONE, "media"))
        for item in content.media:
            if not is_image(item) and not is_video(item):
                problems.append(Problem(X_IMAGES_ONLY, "media"))
            if len(item.alt_text) > MAX_ALT_TEXT:
                problems.append(Problem(f"X allows alt text up to {MAX_ALT_TEXT} characters.", "media"))
        return problems

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        videos = [item for item in content.media if is_video(item)]
        if any(not is_image(item) and not is_video(item) for item in content.media):
            raise PublishError(X_IMAGES_ONLY, permanent=True)
        if videos and len(content.media) > 1:
            raise PublishError(X_ONE_VIDEO_ALONE, permanent=True)
        pending = None
        if videos:
            # Chunked, resumable, processed by X (x/video.py); the post is created only once X has the video.
            media_ids = [upload_video(self, videos[0], idempotency_key=idempotency_key)]
            pending = PendingUpload.load(self.platform, idempotency_key)
            pending.save(post_sent=True)
        else:
            # Every image is fitted before anything is sent, so a refused one leaves no upload behind.
            images = [image_for_upload(item, self.image_limits, label=self.label) for item in content.media]
            media_ids = [self._upload_image(item, image) for item, image in zip(content.media, images, strict=True)]
        text = content.text_with_link()
        reply = self._reply_fields(content)
        response = self._call(
            lambda client: client.create_tweet(
                text=text, media_ids=media_ids or None, user_auth=self._user_auth, **reply
            ),
            creates_post=True,
        )
        if pending is not None:
            pending.clear()
        tweet_id = str(response.data["id"])
        return PublishResult(
            remote_id=tweet_id,
            permalink=self.permalink(tweet_id),
            raw={"data": dict(response.data), "media_ids": media_ids},
        )

    @staticmethod
    def _reply_fields(content: PostContent) -> dict[str, Any]:
        """tweepy's `in_reply_to_tweet_id`, sent as {"reply": {"in_reply_to_tweet_id": …}} when content answers a
        post (https://docs.x.com/x-api/posts/create-post); nothing otherwise."""
        if content.reply_to is None:
            return {}
        return {"in_reply_to_tweet_id": content.reply_to.remote_id}

    def permalink(self, tweet_id: str) -> str:
        if self.username:
            return f"https://x.com/{self.username}/status/{tweet_id}"
        return f"https://x.com/i/web/status/{tweet_id}"

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Looks for the post among the account's posts from just before the send to a little after it, page
        by page (next_token), matched on text with URLs left out (X rewrites them to t.co).

        Returns it if found; None only when the whole window was read and X has had time to show the post;
        raises CheckAgainLater when it is too early to tell, OutcomeUnknown when X cannot be read or the
        window holds more than RECONCILE_MAX_PAGES pages of posts (a person must look)."""
        if pending_reconcile(self, idempotency_key, lambda upload: poll_pending(self, upload)):
            return None  # the post was never sent: the next attempt resumes the video upload and posts
        user_id = self.credentials.get("x_user_id")
        if not user_id:
            raise OutcomeUnknown("The X account id is not stored, so CivicPost cannot look the post up.")
        expected = _normalise_for_match(content.text_with_link())
        now = timezone.now()
        start_time = sent_at - RECONCILE_LOOKBACK
        # Posts made after the margin are left out. While the margin has not run out the window ends now:
        # end_time is then left out, as X takes no end_time in the future (and it is sent in whole seconds).
        margin_end = sent_at + RECONCILE_MARGIN
        end_time: dt.datetime | None = None if margin_end >= now else margin_end
        next_token: str | None = None
        for _page in range(RECONCILE_MAX_PAGES):

            def read_page(client: tweepy.Client, token: str | None = next_token) -> Any:
                return client.get_users_tweets(
                    user_id,
                    start_time=start_time,
                    end_time=end_time,
                    max_results=RECONCILE_PAGE_SIZE,
                    pagination_token=token,
                    # A thread's later part is a reply: it must not be left out of the listing.
                    exclude=["retweets"] if content.reply_to is not None else ["retweets", "replies"],
                    tweet_fields=["created_at"],
                    user_auth=self._user_auth,
                )

            try:
                response = self._call(read_page, creates_post=False)
            except AdapterError as error:
                raise OutcomeUnknown(f"Could not check X for the post: {error.message}", raw=error.raw) from error
            for tweet in response.data or []:
                if _normalise_for_match(tweet.text) == expected:
                    return PublishResult(
                        remote_id=str(tweet.id), permalink=self.permalink(str(tweet.id)), raw=dict(tweet.data)
                    )
            next_token = (response.meta or {}).get("next_token")
            if not next_token:
                break
        else:
            raise OutcomeUnknown(
                f"X shows more posts around the send time than CivicPost reads ({RECONCILE_MAX_PAGES} pages) "
                "and the post is not among them: sent, but not confirmed — check the account before posting again.",
                code="reconcile_window_too_busy",
            )
        if now - sent_at > _reconcile_settle():
            return None
        raise CheckAgainLater("X does not show the post yet; it is too early to say it did not arrive.")

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        try:
            self._call(lambda client: client.delete_tweet(remote_id, user_auth=self._user_auth), creates_post=False)
        except PublishError as error:
            if error.code == "x_http_404":
                return  # Already gone.
            raise

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        """Returns likes, shares (reposts), replies, quotes, bookmarks and impressions. Every read is billed."""
        response = self._call(
            lambda client: client.get_tweet(remote_id, tweet_fields=["public_metrics"], user_auth=self._user_auth),
            creates_post=False,
        )
        if response.data is None:
            raise PublishError("X no longer has this post.", permanent=True, code="x_not_found")
        metrics = response.data.public_metrics or {}
        return {
            "likes": int(metrics.get("like_count", 0)),
            "shares": int(metrics.get("retweet_count", 0)),
            "replies": int(metrics.get("reply_count", 0)),
            "quotes": int(metrics.get("quote_count", 0)),
            "bookmarks": int(metrics.get("bookmark_count", 0)),
            "impressions": int(metrics.get("impression_count", 0)),
        }

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """One `GET /2/tweets?ids=…&tweet.fields=public_metrics` for up to 100 posts (platforms.md §2.7).

        Only public_metrics: non_public/organic metrics need user context and posts under 30 days old. X
        answers ids it cannot show in `errors` (resource-not-found: deleted; not-authorized: protected or
        withheld), which both mean residents no longer see the post."""
        response = self._call(
            lambda client: client.get_tweets(
                ids=remote_ids[: self.metrics_batch_size], tweet_fields=["public_metrics"], user_auth=self._user_auth
            ),
            creates_post=False,
        )
        readings: dict[str, MetricsReading | Removed] = {}
        for tweet in response.data or []:
            metrics = tweet.public_metrics or {}
            counts = {
                "likes": int(metrics.get("like_count", 0)),
                "shares": int(metrics.get("retweet_count", 0)),
                "replies": int(metrics.get("reply_count", 0)),
                "quotes": int(metrics.get("quote_count", 0)),
            }
            if "impression_count" in metrics:
                counts["views"] = int(metrics["impression_count"])
            readings[str(tweet.id)] = MetricsReading(counts=counts, raw=dict(tweet.data))
        for error in response.errors or []:
            remote_id = str(error.get("resource_id") or error.get("value") or "")
            problem = str(error.get("type") or "")
            if remote_id in remote_ids and ("resource-not-found" in problem or "not-authorized" in problem):
                readings[remote_id] = Removed(reason=str(error.get("detail") or error.get("title") or ""), raw=error)
        return readings

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """One page of the mentions timeline after the stored cursor (see the module docstring). Returns the page;
        raises RateLimited, AuthExpired, PublishError."""
        user_id = str(self.credentials.get("x_user_id") or "")
        if not user_id:
            raise PublishError("The X account id is not stored; reconnect the X account.", permanent=True)
        state = _mentions_state(cursor)
        response = self._call(
            lambda client: client.get_users_mentions(
                user_id,
                since_id=state.get("since") or None,
                pagination_token=state.get("token") or None,
                max_results=MENTIONS_PAGE_SIZE,
                tweet_fields=["created_at", "conversation_id", "referenced_tweets", "author_id", "attachments"],
                expansions=["author_id", "attachments.media_keys"],
                user_fields=["username", "name"],
                media_fields=["url", "type", "alt_text", "preview_image_url"],
                user_auth=self._user_auth,
            ),
            creates_post=False,
        )
        includes = response.includes or {}
        users = {str(user.id): user for user in includes.get("users") or []}
        media = {str(m.media_key): m for m in includes.get("media") or []}
        ours = set(our_remote_ids)
        items = tuple(
            _mention_item(tweet, users=users, media=media, ours=ours)
            for tweet in response.data or []
            if str(tweet.author_id or "") != user_id
        )
        meta = response.meta or {}
        top = state.get("top") or str(meta.get("newest_id") or "")
        next_token = str(meta.get("next_token") or "")
        if not state.get("since") and not state.get("token"):
            # The first read: the latest page only, never the whole history.
            return ConversationPage(items=items, next_cursor=_mentions_cursor({"since": top}) if top else None)
        if next_token:
            following = {"since": state.get("since", ""), "token": next_token, "top": top}
            return ConversationPage(items=items, next_cursor=_mentions_cursor(following), more=True)
        return ConversationPage(items=items, next_cursor=_mentions_cursor({"since": top or state.get("since", "")}))

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Hides / unhides a reply (PUT /2/tweets/:id/hidden) or mutes / unmutes its author (POST /2/users/:id/muting,
        DELETE /2/users/:id/muting/:target). Raises PublishError, RateLimited, AuthExpired."""
        user_id = str(self.credentials.get("x_user_id") or "")
        author_id = str(item.raw.get("author_id") or "")
        body: dict[str, Any] | None
        if action in ("hide", "unhide"):
            route, method, body = f"/2/tweets/{item.remote_id}/hidden", "PUT", {"hidden": action == "hide"}
        elif action == "mute" and user_id and author_id:
            route, method, body = f"/2/users/{user_id}/muting", "POST", {"target_user_id": author_id}
        elif action == "unmute" and user_id and author_id:
            route, method, body = f"/2/users/{user_id}/muting/{author_id}", "DELETE", None
        else:
            raise PublishError(f"X does not let CivicPost {action} this.", permanent=True)
        answer = self._call(
            lambda client: client.request(method, route, json=body, user_auth=self._user_auth), creates_post=False
        )
        try:
            body = answer.json() if isinstance(answer, requests.Response) else {}
        except ValueError:
            body = {}
        return ModerationResult(done=True, raw=body if isinstance(body, dict) else {})

    def fetch_followers(self) -> int | None:
        """`GET /2/users/me?user.fields=public_metrics` (one billed read): followers_count."""
        response = self._call(
            lambda client: client.get_me(user_fields=["public_metrics"], user_auth=self._user_auth), creates_post=False
        )
        metrics = (response.data.public_metrics if response.data else None) or {}
        value = metrics.get("followers_count")
        return int(value) if value is not None else None

    def check_connection(self) -> ConnectionCheck:
        try:
            response = self._call(lambda client: client.get_me(user_auth=self._user_auth), creates_post=False)
        except AuthExpired as error:
            return ConnectionCheck(ok=False, message=error.message)
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=f"Could not reach X: {error.message}")
        return ConnectionCheck(ok=True, message=f"Connected as @{response.data.username}.")

    # --- Media (tweepy 4.17 has no v2 upload) -------------------------------------------------

    def _upload_image(self, item: MediaItem, image: UploadImage) -> str:
        """Uploads one image and sets its alt text. Returns the media id.

        Nothing is posted yet, so every failure here is safe to retry (an unused upload expires)."""
        upload = self._call(
            lambda _client: self._post_api(
                MEDIA_UPLOAD_PATH,
                files={"media": (image.file_name, image.data, image.mime_type)},
                data={"media_category": "tweet_image"},
            ),
            creates_post=False,
        )
        media_id = str(upload["data"]["id"])
        if item.alt_text:
            self._call(
                lambda _client: self._post_api(
                    MEDIA_METADATA_PATH, json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}}
                ),
                creates_post=False,
            )
        return media_id

    def _post_api(self, path: str, **kwargs: Any) -> dict[str, Any]:
        headers, auth = self._request_auth()
        response = self.session.post(f"{self.base_url}{path}", headers=headers, auth=auth, **kwargs)
        _raise_for_x_status(response)
        body: dict[str, Any] = response.json()
        return body
