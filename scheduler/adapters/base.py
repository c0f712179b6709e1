"""The contract every platform adapter implements, the one error vocabulary they all speak, and the
contract of each platform's connect flow (`ConnectFlow`).

The publishing service only ever sees these types: a platform's quirks (length counting, escaping,
media rules, its error codes) stay inside its own package. The boundary holds both ways: an adapter
touches no database and imports no app module. What it needs comes in (PostContent, ChannelAccount, the
attempt times of reconcile, the media fitter); what it changes goes out (`updated_credentials`,
`updated_options`), and the caller saves it.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import IO, TYPE_CHECKING, Any, ClassVar, Literal, Protocol

if TYPE_CHECKING:
    from django import forms


@dataclass(frozen=True)
class MediaItem:
    url: str
    mime_type: str
    alt_text: str = ""
    # The file's name in Django's default storage (MediaAsset.file_name), not a file system path.
    path: str = ""
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    # Video only (medialibrary/video.py read them at upload; None: not known): checked against each adapter's
    # `video_limits` (scheduler/adapters/video.py). captions_path is the captions file's storage name.
    duration_seconds: float | None = None
    video_codec: str = ""
    audio_codec: str = ""
    frame_rate: float | None = None
    captions_url: str = ""
    captions_path: str = ""
    captions_burned_in: bool = False
    # Fits this stored file to a platform's limits (the caller's media library does it). None: the media
    # fitter configured in CIVICPOST_MEDIA_FITTER (scheduler/adapters/media.py).
    fitter: MediaFitter | None = field(default=None, compare=False, repr=False)


DOCUMENT_MIME_TYPES = ("application/pdf",)


def is_document(item: MediaItem) -> bool:
    """True for a PDF document (the media library's "document" kind)."""
    return item.mime_type in DOCUMENT_MIME_TYPES


@dataclass(frozen=True)
class FittedImage:
    """An image's bytes within one platform's limits."""

    data: bytes
    mime_type: str
    width: int
    height: int


class MediaFitter(Protocol):
    """What adapters need from the media library: fitted bytes for platforms that take uploads, and a
    fitted copy's public address for platforms that download. Errors: FileNotFoundError (missing file),
    OSError (storage hiccup), MediaDoesNotFit (cannot be made to fit, or unreadable)."""

    def fit(self, item: MediaItem, limits: ImageLimits) -> FittedImage: ...

    def rendition_url(self, item: MediaItem, limits: ImageLimits, *, platform: str) -> str: ...

    def open(self, item: MediaItem) -> IO[bytes]: ...


class VideoFitter(Protocol):
    """What adapters need from the media library for video: whether it can transcode here (ffmpeg installed),
    and the video's bytes within a platform's VideoLimits (the stored file when it fits, else a transcoded copy
    kept next to it). Errors as MediaFitter's."""

    def can_transcode(self) -> bool: ...

    def video_rendition(self, item: MediaItem, limits: VideoLimits, *, platform: str) -> MediaItem: ...


class MediaDoesNotFit(Exception):
    """Raised by a MediaFitter. `too_large`: the image cannot be made small enough; else it is unreadable."""

    def __init__(self, message: str, *, too_large: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.too_large = too_large


@dataclass(frozen=True)
class ImageLimits:
    """What one platform accepts for a still image. Images outside them are fitted at publish time
    (scheduler/adapters/media.py): scaled down, converted, re-compressed, padded to the aspect range."""

    max_bytes: int
    mime_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/webp")
    max_side: int | None = None
    max_pixels: int | None = None
    # Width / height, inclusive; None: any shape.
    aspect_range: tuple[Fraction, Fraction] | None = None

    def fits_shape(self, width: int, height: int) -> bool:
        """True when an image of this size needs no scaling or padding for these limits."""
        if self.max_side is not None and max(width, height) > self.max_side:
            return False
        if self.max_pixels is not None and width * height > self.max_pixels:
            return False
        if self.aspect_range is not None:
            lowest, highest = self.aspect_range
            return lowest <= Fraction(width, height) <= highest
        return True


@dataclass(frozen=True)
class VideoLimits:
    """What one platform accepts for a video (each adapter writes the documented values with their source).
    A video outside them is transcoded at publish time where ffmpeg is installed (H.264/AAC MP4, scaled and
    padded), else refused at compose time with one sentence naming the limit (scheduler/adapters/video.py)."""

    max_bytes: int
    max_seconds: float
    min_seconds: float = 0.0
    mime_types: tuple[str, ...] = ("video/mp4", "video/quicktime")
    video_codecs: tuple[str, ...] = ("h264",)
    # "" in the tuple: a silent video is fine.
    audio_codecs: tuple[str, ...] = ("aac", "")
    # Width / height, inclusive; None: any shape.
    aspect_range: tuple[Fraction, Fraction] | None = None
    min_frame_rate: float | None = None
    max_frame_rate: float | None = None
    max_width: int | None = None
    max_height: int | None = None
    # True: the platform takes a captions file with the video (else the captions must be burned in to reach
    # residents there, and the adapter says so in validate).
    takes_captions_file: bool = False


@dataclass(frozen=True)
class ReplyTarget:
    """The platform post that content answers: a resident's comment (an inbox reply) or the previous part of a
    thread of posts. `remote_id` is what the adapter's publish returned (or the inbox read) for that post."""

    remote_id: str
    # The first post of the conversation, for platforms whose reply names it too (Bluesky's reply.root).
    root_remote_id: str = ""
    # Whatever else the platform needs to address it (e.g. Bluesky cids: {"cid": ..., "root_cid": ...}).
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PostContent:
    """What is sent to one channel: built only from the approved snapshot."""

    text: str
    link: str = ""
    media: tuple[MediaItem, ...] = ()
    language: str = "en"
    # Who and where, for platforms whose payload names them (the webhook's `post` object). Filled by
    # publishing from the delivery; empty when there is no post behind the content (a connection test).
    post_id: int | None = None
    department_slug: str = ""
    department_name: str = ""
    channel_name: str = ""
    # (platform, display name) of every channel the post goes to.
    post_channels: tuple[tuple[str, str], ...] = ()
    # Set when this content is a reply (inbox answer) or a later part of a thread; adapters whose
    # `supports_replies` is False refuse it in validate().
    reply_to: ReplyTarget | None = None
    # An emergency post (set by governance's delivery content filter): platforms with an urgent kind of post
    # (Nextdoor's urgent alert, an e-mail bulletin's subject) raise it; the others ignore it.
    urgent: bool = False

    def text_with_link(self) -> str:
        if not self.link or self.link in self.text:
            return self.text
        return f"{self.text}\n\n{self.link}"


@dataclass(frozen=True)
class ChannelAccount:
    """What an adapter knows about the account it publishes to (credentials already decrypted)."""

    channel_id: int
    display_name: str
    handle: str = ""
    credentials: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishResult:
    remote_id: str
    permalink: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


# The metrics CivicPost compares across platforms (analytics.MetricSnapshot has one column each).
METRIC_NAMES: tuple[str, ...] = ("likes", "shares", "replies", "quotes", "views", "clicks")


@dataclass(frozen=True)
class MetricsReading:
    """One post's figures as the platform reported them. `counts` holds only what the platform reports
    (a missing key is "not reported", never 0); `raw` is the platform's answer for this post."""

    counts: dict[str, int]
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def not_reported(self) -> tuple[str, ...]:
        return tuple(name for name in METRIC_NAMES if name not in self.counts)


@dataclass(frozen=True)
class Removed:
    """The platform no longer shows this post (deleted or hidden) when its metrics were read."""

    reason: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    """A reason the post cannot go to this platform as written, in plain words."""

    message: str
    field: str = "text"


@dataclass(frozen=True)
class TextLength:
    used: int
    limit: int

    @property
    def over_by(self) -> int:
        return max(0, self.used - self.limit)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str = ""
    expires_at: dt.datetime | None = None


# --- Conversations (the inbox: residents' replies, comments and mentions) ---------------------------


@dataclass(frozen=True)
class ConversationItem:
    """One thing a resident said to or about the account, as the platform reported it.

    `remote_id` is the platform's id of the reply / comment / mention (unique per channel);
    `in_reply_to_remote_id` the id of the post it answers (ours when it answers one of our posts: the inbox
    threads it under that delivery), empty for a mention outside any of our posts. `kind` is one of
    "reply", "comment", "mention", "quote". `raw` is the platform's answer for this item, kept for the record."""

    remote_id: str
    kind: str
    author_handle: str
    text: str
    created_at: dt.datetime
    in_reply_to_remote_id: str = ""
    # The first post of the conversation where the platform names it (Bluesky root, Facebook post of a comment).
    root_remote_id: str = ""
    author_name: str = ""
    author_profile_url: str = ""
    permalink: str = ""
    # Attachments as the platform describes them: [{"url", "type", "alt_text"}].
    media: tuple[dict[str, Any], ...] = ()
    # What a reply to this item needs besides its id (Bluesky: {"cid", "root_cid"}).
    reply_details: Mapping[str, Any] = field(default_factory=dict)
    # True when the platform says the comment was deleted (or is no longer visible to us).
    deleted: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConversationPage:
    """One read of an account's conversations. `next_cursor` is what the next read starts from (store it
    once these items are stored; None: keep the cursor you had). `more` says the platform has more right away
    (read again in this pass if the request budget allows)."""

    items: tuple[ConversationItem, ...]
    next_cursor: str | None
    more: bool = False
    # Requests this read made (a platform read in two steps counts 2), for budgets and the benchmark.
    requests: int = 1


# Moderation actions an adapter may offer (PlatformAdapter.moderation_actions); "un*" undo the first ones.
MODERATION_ACTIONS: tuple[str, ...] = ("hide", "delete", "block", "mute")
UNDO_ACTIONS: dict[str, str] = {"hide": "unhide", "block": "unblock", "mute": "unmute"}


@dataclass(frozen=True)
class ModerationResult:
    """What the platform answered to a moderation action."""

    done: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


# --- Errors -------------------------------------------------------------------------------------


class AdapterError(Exception):
    """Base of everything an adapter raises about a platform call."""

    def __init__(self, message: str, *, code: str = "", raw: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.raw = raw or {}


class PublishError(AdapterError):
    """The platform refused the request and did not publish it.

    permanent=True: the same request will fail again (content rejected, bad media): never retry.
    permanent=False: the request provably did not take effect (connection refused, documented 5xx): retry.
    """

    def __init__(self, message: str, *, permanent: bool, code: str = "", raw: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, raw=raw)
        self.permanent = permanent


class RateLimited(AdapterError):
    """The platform asked us to wait; the request was not applied."""

    def __init__(
        self, message: str = "The platform asked us to slow down.", *, retry_after: float, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(0.0, float(retry_after))


class AuthExpired(AdapterError):
    """The token was revoked or expired: a department admin must reconnect the channel."""


class Duplicate(AdapterError):
    """The platform says this exact content is already there (X 403, Facebook 506, ...)."""

    def __init__(self, message: str, *, existing: PublishResult | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing = existing


class OutcomeUnknown(AdapterError):
    """The request may have reached the platform (timeout, dropped connection): never blindly resend."""


class CheckAgainLater(OutcomeUnknown):
    """Raised by reconcile() when the platform may not show a new post yet: ask again after
    `retry_after` seconds instead of handing the delivery to a person right away."""

    def __init__(self, message: str, *, retry_after: float = 60.0, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


# --- The contract -------------------------------------------------------------------------------


class PlatformAdapter(ABC):
    """One platform. Instances are built per channel and per call; they hold no global state."""

    platform: ClassVar[str]
    label: ClassVar[str]
    supports_delete: ClassVar[bool] = True
    supports_metrics: ClassVar[bool] = True
    max_media: int = 4  # per class; Mastodon sets it per instance from the server's limits
    requires_alt_text: ClassVar[bool] = True
    # None: the platform gets the stored file as it is (links in a payload, the city feed).
    image_limits: ClassVar[ImageLimits | None] = None
    # True: PostContent.post_channels is filled (one more query per delivery, so only where it is sent).
    names_post_channels: ClassVar[bool] = False
    # True: publish() honours PostContent.reply_to (threads of posts, inbox replies).
    supports_replies: ClassVar[bool] = False
    # True: a post may be a thread of parts here, each part published as a reply to the one before
    # (X, Bluesky, Mastodon, Threads). Needs supports_replies.
    supports_threads: ClassVar[bool] = False
    # True: publish() with reply_to set to one of this account's own posts comments on it, and a post may
    # carry a first comment (Facebook, Instagram, LinkedIn); `first_comment_max_chars` is the comment's limit.
    supports_first_comment: ClassVar[bool] = False
    first_comment_max_chars: ClassVar[int] = 0
    # True: publish() takes one PDF document on its own (LinkedIn Pages); elsewhere validate refuses it.
    takes_documents: ClassVar[bool] = False
    # True: publish() reads PostContent.urgent, so publishing tells it whether the post is an emergency post.
    uses_urgent_flag: ClassVar[bool] = False

    def __init__(self, account: ChannelAccount) -> None:
        self.account = account
        # Set by adapters whose platform renewed a token or session during a call: the complete new
        # credentials, which the caller must save (X rotates its refresh token on every renewal).
        self.updated_credentials: dict[str, Any] | None = None
        # Set by adapters that learned something about the account worth keeping (Mastodon's instance
        # limits): only the changed keys, which the caller merges into the channel's options.
        self.updated_options: dict[str, Any] | None = None

    def _renewed_credentials(self, changes: Mapping[str, Any]) -> None:
        """Keeps renewed credentials in memory for the rest of this call and hands them to the caller."""
        self.account.credentials.update(changes)
        self.updated_credentials = dict(self.account.credentials)

    def _learned_options(self, changes: Mapping[str, Any]) -> None:
        """Keeps changed options in memory and hands the changed keys to the caller."""
        self.account.options.update(changes)
        self.updated_options = {**(self.updated_options or {}), **changes}

    @abstractmethod
    def text_length(self, content: PostContent) -> TextLength:
        """Returns the length under the platform's own counting rule and its limit."""

    def validate(self, content: PostContent) -> list[Problem]:
        """Returns every reason the content cannot be published here (empty list: it can)."""
        problems: list[Problem] = []
        length = self.text_length(content)
        if length.over_by:
            problems.append(
                Problem(
                    f"{self.label} allows {length.limit} characters; this post has {length.used} "
                    f"({length.over_by} too many)."
                )
            )
        if len(content.media) > self.max_media:
            problems.append(Problem(f"{self.label} takes at most {self.max_media} images per post.", "media"))
        if self.requires_alt_text and any(not m.alt_text.strip() for m in content.media):
            problems.append(
                Problem("Every image needs alt text, so residents who use screen readers get the message.", "media")
            )
        if content.reply_to is not None and not self.supports_replies:
            problems.append(Problem(f"{self.label} cannot publish a reply from CivicPost."))
        if not self.takes_documents and any(is_document(item) for item in content.media):
            problems.append(Problem(f"{self.label} cannot post a PDF document; only LinkedIn Pages take one.", "media"))
        problems.extend(self.video_problems(content))
        return problems

    # The platform's video limits; None: this adapter publishes no video (validate refuses it).
    video_limits: ClassVar[VideoLimits | None] = None

    def current_video_limits(self) -> VideoLimits | None:
        """The video limits for this account (Mastodon reads them from the instance)."""
        return self.video_limits

    def video_problems(self, content: PostContent) -> list[Problem]:
        """Returns one Problem per attached video that cannot go to this platform (scheduler/adapters/video.py)."""
        from scheduler.adapters.video import video_problems  # video.py imports this module

        return video_problems(self, content)

    def current_image_limits(self) -> ImageLimits | None:
        """The image limits for this account (Mastodon reads them from the instance)."""
        return self.image_limits

    @abstractmethod
    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Publishes once. Returns the remote id and permalink; raises an AdapterError subclass."""

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Decides an `unknown` outcome. Returns the post if it is live, None when it is proved absent
        (or the platform replays idempotently, so resending with the same key is safe); raises
        OutcomeUnknown when it cannot tell.

        `sent_at` is the start of the latest attempt; `first_sent_at` the start of the first attempt whose outcome
        is unclear (None: the same as sent_at). Both come from publishing: adapters never read the database."""
        raise OutcomeUnknown(f"{self.label} gives no way to check whether the post arrived.")

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        """Removes a published post (`post_id`: CivicPost's post, for platforms whose event names it)."""
        raise PublishError(f"{self.label} does not let apps delete posts.", permanent=True)

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        return {}

    # How many posts one metrics request reads (X 100, Bluesky 25, Facebook 50; 1: one request per post).
    # Per class; Mastodon decides per instance (its batch read needs Mastodon 4.3).
    metrics_batch_size: int = 1
    # True where every read is billed (X): analytics counts these requests against a monthly budget.
    metrics_reads_are_paid: ClassVar[bool] = False
    # The error codes (AdapterError.code) of fetch_metrics that mean "this post is no longer there" (deleted,
    # or hidden from us). Any other permanent error is a problem with the reading, never taken for a removal.
    metrics_gone_codes: ClassVar[frozenset[str]] = frozenset()

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """Reads up to `metrics_batch_size` posts in one request where the platform allows it. Returns a
        reading or Removed for each id it could read (an id left out was not answered: ask again later).
        Raises RateLimited (stop this channel for this pass), AuthExpired or PublishError.

        The default makes one fetch_metrics call per id; an error whose code is in `metrics_gone_codes`
        means the platform no longer has that post."""
        readings: dict[str, MetricsReading | Removed] = {}
        for remote_id in remote_ids:
            try:
                counts = self.fetch_metrics(remote_id)
            except PublishError as error:
                if not (error.permanent and error.code in self.metrics_gone_codes):
                    raise
                readings[remote_id] = Removed(reason=error.message, raw=error.raw)
                continue
            readings[remote_id] = MetricsReading(counts=_comparable(counts), raw=dict(counts))
        return readings

    # --- Conversations (inbox) ---
    # True: fetch_conversation reads residents' replies, comments and mentions of this account.
    supports_inbox: ClassVar[bool] = False
    # True where every conversation read is billed (X): the inbox counts them against the department's budget.
    conversation_reads_are_paid: ClassVar[bool] = False
    # What moderate() can do here (a subset of MODERATION_ACTIONS) and what it can undo (UNDO_ACTIONS' values).
    moderation_actions: ClassVar[frozenset[str]] = frozenset()
    undo_actions: ClassVar[frozenset[str]] = frozenset()

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """Reads what residents said since `cursor` (None: the first read; platforms then start from now or
        from a short window back, never the whole history). `our_remote_ids` are the account's recent posts
        (platforms that read replies per post use them). Returns one page; raises RateLimited (stop reading
        this channel until retry_after), AuthExpired or PublishError."""
        raise PublishError(f"{self.label} conversations cannot be read by CivicPost.", permanent=True)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        """Hides, deletes, blocks or mutes (or undoes that: "unhide", "unblock", "unmute") on the platform.
        `item` is the stored item (its remote id, author, raw). Raises PublishError (permanent: the platform
        does not allow it), RateLimited, AuthExpired."""
        raise PublishError(f"{self.label} does not let CivicPost {action} this.", permanent=True)

    def fetch_followers(self) -> int | None:
        """Returns the account's follower count, or None where the platform does not report it."""
        return None

    @abstractmethod
    def check_connection(self) -> ConnectionCheck:
        """Returns whether the stored credentials still work."""


# Platform-specific names mapped onto METRIC_NAMES (X calls views "impressions").
_METRIC_ALIASES = {"impressions": "views", "reposts": "shares", "comments": "replies"}


def _comparable(counts: Mapping[str, int]) -> dict[str, int]:
    """The counts under CivicPost's metric names; names outside METRIC_NAMES are dropped (kept in raw)."""
    result: dict[str, int] = {}
    for name, value in counts.items():
        key = _METRIC_ALIASES.get(name, name)
        if key in METRIC_NAMES and key not in result:
            result[key] = int(value)
    return result


def parse_expires_at(value: Any) -> dt.datetime | None:
    """Reads an expiry as stored in credentials (ISO 8601 text; a datetime; a Unix timestamp) into an aware
    datetime (UTC when it carries no zone). Returns None when there is none or it cannot be read."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


# --- Connecting a channel ---------------------------------------------------------------------------


class ConnectError(Exception):
    """Connecting did not work; `message` says why in plain words for the admin (never a secret)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ConnectedAccount:
    """What a finished flow hands to connections.services.channel_connect to save on a Channel (the
    credentials are encrypted by the model field, never kept in allauth's SocialToken)."""

    platform: str
    display_name: str
    account_handle: str = ""
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)
    options: dict[str, Any] = field(default_factory=dict)
    token_expires_at: dt.datetime | None = None
    # A secret CivicPost made for the account and must show the admin once (the webhook signing secret),
    # and the page that shows it (with how to use it).
    show_once_secret: str = field(default="", repr=False)
    show_once_template: str = ""


@dataclass(frozen=True)
class OAuthStart:
    """Where to send the admin, and what the callback will need (kept in the session, never logged)."""

    authorize_url: str
    pending: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class AccountPick:
    """The sign-in worked but the admin must pick which account to connect (Meta: which Page). The token
    only lists the choices; the caller keeps it encrypted, for minutes."""

    access_token: str = field(repr=False)
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class PageChoice:
    """A Facebook Page (or the Instagram account linked to it) the admin may pick."""

    id: str
    name: str
    detail: str = ""
    usable: bool = True


@dataclass(frozen=True)
class InstanceApp:
    """CivicPost's OAuth app registration on one server (a Mastodon instance)."""

    id: int
    client_id: str
    client_secret: str = field(repr=False)


class InstanceApps(Protocol):
    """Where registrations per server are kept; the caller (connections) provides it."""

    def get_or_register(
        self, *, instance_url: str, redirect_uri: str, scopes: str, register: Callable[[], tuple[str, str]]
    ) -> InstanceApp:
        """Returns the stored registration, calling `register()` -> (client_id, client_secret) the first time.
        Raises ConnectError."""
        ...

    def get(self, app_id: Any) -> InstanceApp | None: ...


ConnectKind = Literal["oauth", "form"]


class ConnectFlow(Protocol):
    """How a department admin connects one platform's account: the flow lives beside the adapter
    (scheduler/adapters/<platform>/connect.py) and the connections app runs every flow the same way.

    `kind` "form": the form's data is enough (`connect`). `kind` "oauth": the admin is sent to
    `start(...).authorize_url` and comes back with a code (`finish`); `finish` may return an AccountPick,
    then the admin picks one of `choices` and `picked` gives the account."""

    @property
    def platform(self) -> str: ...

    @property
    def kind(self) -> ConnectKind: ...

    @property
    def error_field(self) -> str | None:
        """Which form field a ConnectError belongs to (None: the whole form)."""
        ...

    @property
    def normalize_form_text(self) -> bool:
        """Normalise typed text (NFC, line ends) before the form cleans it; never for forms with secrets."""
        ...

    @property
    def identity_keys(self) -> tuple[str, ...]:
        """The option keys that identify the remote account: a reconnect must not move a channel to another."""
        ...

    def form_class(self) -> type[forms.Form]:
        """Returns the form of the connect page (imported only when a page needs it)."""
        ...

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        """Returns the form's initial data (`channel`: the channel being reconnected, without credentials)."""
        ...

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        """Returns the paragraphs the connect page shows above the form, translated, as plain text."""
        ...

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        """kind "form": returns the account for the cleaned form data. Raises ConnectError."""
        ...

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        """kind "oauth": returns where to send the admin. Raises ConnectError."""
        ...

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        """kind "oauth": exchanges the callback's code. Raises ConnectError."""
        ...

    def choices(self, *, access_token: str) -> list[PageChoice]:
        """After an AccountPick: the accounts to pick from. Raises ConnectError."""
        ...

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        """After an AccountPick: the account picked (looked up again, never taken from the form)."""
        ...

    def identity(self, options: Mapping[str, Any]) -> str:
        """Returns what identifies the remote account (from `identity_keys`), or "" when nothing does."""
        ...


class BaseConnectFlow:
    """Defaults for ConnectFlow: a flow overrides what its kind uses."""

    platform: str
    kind: ConnectKind = "form"
    error_field: str | None = None
    normalize_form_text: bool = False
    identity_keys: tuple[str, ...] = ()

    def form_class(self) -> type[forms.Form]:
        raise NotImplementedError

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        return {}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return []

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        raise ConnectError(f"{self.platform} is connected by signing in on the platform.")

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        raise ConnectError(f"{self.platform} is connected with a form, not a sign-in.")

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        raise ConnectError(f"{self.platform} is connected with a form, not a sign-in.")

    def choices(self, *, access_token: str) -> list[PageChoice]:
        return []

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        raise ConnectError(f"{self.platform} has no accounts to pick from.")

    def identity(self, options: Mapping[str, Any]) -> str:
        """Returns what identifies the remote account, or "" where any target may replace the old one."""
        values = [str(options.get(key) or "") for key in self.identity_keys]
        return "|".join(values) if any(values) else ""
