"""The contract every platform adapter implements, and the one error vocabulary they all speak.

The publishing service only ever sees these types: a platform's quirks (length counting, escaping,
media rules, its error codes) stay inside its own module.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, ClassVar


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


@dataclass(frozen=True)
class PostContent:
    """What is sent to one channel: built only from the approved snapshot."""

    text: str
    link: str = ""
    media: tuple[MediaItem, ...] = ()
    language: str = "en"

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

    def __init__(self, account: ChannelAccount) -> None:
        self.account = account
        # Set by adapters whose platform renewed a token or session during a call: the complete new
        # credentials, which the caller must save (X rotates its refresh token on every renewal).
        self.updated_credentials: dict[str, Any] | None = None

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
        return problems

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

    def delete(self, remote_id: str) -> None:
        raise PublishError(f"{self.label} does not let apps delete posts.", permanent=True)

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        return {}

    @abstractmethod
    def check_connection(self) -> ConnectionCheck:
        """Returns whether the stored credentials still work."""
