"""Video across platforms: each adapter's VideoLimits checked at compose time, the file each platform gets at
publish time, and uploads that outlive one attempt (platform processing, interrupted chunked uploads).

Compose time (`video_problems`): a video outside the platform's limits is fine where the media library can
transcode it (ffmpeg installed: it is converted at publish time); else one sentence names the limit. A length
outside the limits is never fixed by converting (CivicPost does not cut videos), so it is always refused.

Publish time (`video_for_upload`): the stored file when it fits, else a transcoded copy (VideoFitter).

Uploads that outlive one attempt (`PendingUpload`): a platform that processes video after the upload (X,
Bluesky, Mastodon, Instagram, Threads, LinkedIn) answers "in progress" for seconds to minutes. A worker waits
at most CIVICPOST_VIDEO_INLINE_WAIT_SECONDS; then the adapter saves where it is (the platform's media id, the
confirmed offset of a chunked upload) in the UploadProgressStore under the delivery's idempotency key and
raises CheckAgainLater. Publishing records the delivery as `unknown` (nothing was posted, but the adapter, not
publishing, knows that), and the reconciler asks the adapter again later: `reconcile` looks at the saved
upload first (`pending_upload`) and, while the platform is still processing, answers CheckAgainLater (no
attempt is spent); once the media is ready (or failed), it answers None ("not posted: send again"), and the
next attempt resumes from the saved state, creating the post exactly once. The state records `post_sent`
before the request that creates the post: from then on the adapter's ordinary reconcile decides, as for any
post.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from typing import Any, Protocol, TypeVar, cast

from django.conf import settings
from django.utils.module_loading import import_string

from scheduler.adapters.base import (
    CheckAgainLater,
    MediaItem,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    VideoFitter,
    VideoLimits,
)
from scheduler.adapters.media import _as_publish_errors, fitter_for, open_stored

T = TypeVar("T")

MB = 1024 * 1024


def is_video(item: MediaItem) -> bool:
    return item.mime_type.startswith("video/")


# --- Compose time -------------------------------------------------------------------------------------


def duration_label(seconds: float) -> str:
    """ "2 minutes 20 seconds", "90 seconds", "1 hour" — how the limits are said to people."""
    whole = round(seconds)
    if whole < 120:
        return f"{whole} seconds"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    if secs:
        parts.append(f"{secs} second{'s' if secs != 1 else ''}")
    return " ".join(parts)


def size_label(size: int) -> str:
    if size >= 1024 * MB and size % (1024 * MB) == 0:
        return f"{size // (1024 * MB)} GB"
    if size >= MB:
        return f"{size / MB:.0f} MB"
    return f"{size / 1024:.0f} KB"


def _aspect_label(value: Fraction) -> str:
    known = {
        Fraction(9, 16): "9:16",
        Fraction(16, 9): "16:9",
        Fraction(1, 1): "1:1",
        Fraction(4, 5): "4:5",
        Fraction(1, 3): "1:3",
        Fraction(3, 1): "3:1",
        Fraction(1, 2): "1:2",
        Fraction(2, 1): "2:1",
        Fraction(1, 1000): "any",
    }
    return known.get(value, f"{float(value):.2f}:1")


def _fixable_problems(item: MediaItem, limits: VideoLimits, label: str) -> list[str]:
    """What converting the file (ffmpeg) would fix: container, codecs, frame size, frame rate, shape, size."""
    found = []
    if item.mime_type not in limits.mime_types:
        found.append(
            f"{label} takes {' or '.join(_kind(m) for m in limits.mime_types)} video, not {_kind(item.mime_type)}."
        )
    if item.video_codec and item.video_codec not in limits.video_codecs:
        found.append(
            f"{label} takes video encoded as {', '.join(c.upper() for c in limits.video_codecs)}; "
            f"this one is {item.video_codec.upper()}."
        )
    if item.video_codec and item.audio_codec not in limits.audio_codecs:
        found.append(
            f"{label} takes sound encoded as {', '.join(c.upper() for c in limits.audio_codecs if c)}; "
            f"this video's sound is {item.audio_codec.upper() or 'missing'}."
        )
    if item.frame_rate and limits.max_frame_rate and item.frame_rate > limits.max_frame_rate + 0.01:
        found.append(
            f"{label} takes video up to {limits.max_frame_rate:g} frames a second; this one has {item.frame_rate:g}."
        )
    if item.frame_rate and limits.min_frame_rate and item.frame_rate < limits.min_frame_rate - 0.01:
        found.append(
            f"{label} takes video of at least {limits.min_frame_rate:g} frames a second; this one has "
            f"{item.frame_rate:g}."
        )
    if item.width and item.height:
        if (limits.max_width and item.width > limits.max_width) or (
            limits.max_height and item.height > limits.max_height
        ):
            found.append(
                f"{label} takes video up to {limits.max_width} × {limits.max_height} pixels; this one is "
                f"{item.width} × {item.height}."
            )
        if limits.aspect_range is not None:
            lowest, highest = limits.aspect_range
            if not lowest <= Fraction(item.width, item.height) <= highest:
                found.append(
                    f"{label} takes video shaped between {_aspect_label(lowest)} and {_aspect_label(highest)} "
                    f"(width to height); this one is {item.width} × {item.height}."
                )
    if item.size_bytes and item.size_bytes > limits.max_bytes:
        found.append(
            f"{label} takes videos up to {size_label(limits.max_bytes)}; this one is {size_label(item.size_bytes)}."
        )
    return found


def _kind(mime_type: str) -> str:
    return {"video/mp4": "MP4", "video/quicktime": "MOV"}.get(mime_type, mime_type)


def video_problems(adapter: PlatformAdapter, content: PostContent) -> list[Problem]:
    """Returns one Problem for each attached video this platform cannot take as it is and CivicPost cannot
    convert: a length outside the limits always; anything else only where ffmpeg is not installed."""
    limits = adapter.current_video_limits()
    if limits is None:
        return []
    problems = []
    for item in content.media:
        if not is_video(item):
            continue
        seconds = item.duration_seconds
        if seconds is not None and seconds > limits.max_seconds + 0.5:
            problems.append(
                Problem(
                    f"{adapter.label} takes videos up to {duration_label(limits.max_seconds)}; this one is "
                    f"{duration_label(seconds)}.",
                    "media",
                )
            )
            continue
        if seconds is not None and seconds < limits.min_seconds - 0.05:
            problems.append(
                Problem(
                    f"{adapter.label} takes videos of at least {duration_label(limits.min_seconds)}; this one is "
                    f"{duration_label(seconds)}.",
                    "media",
                )
            )
            continue
        fixable = _fixable_problems(item, limits, adapter.label)
        if fixable and not video_fitter().can_transcode():
            problems.append(Problem(fixable[0], "media"))
    return problems


# --- Publish time --------------------------------------------------------------------------------------


@cache
def _configured_video_fitter() -> VideoFitter:
    return cast(VideoFitter, import_string(settings.CIVICPOST_MEDIA_FITTER)())


def video_fitter(item: MediaItem | None = None) -> VideoFitter:
    """The item's own fitter (publishing hands the media library's in), else the configured one."""
    if item is not None and item.fitter is not None:
        return cast(VideoFitter, fitter_for(item))
    return _configured_video_fitter()


def video_for_upload(adapter: PlatformAdapter, item: MediaItem) -> MediaItem:
    """Returns the video as the platform must get it: `item` itself when it is within the adapter's limits (or
    its facts are unknown), else a transcoded copy (path, size and facts of the copy). Raises PublishError
    (permanent) when it does not fit and cannot be converted here."""
    limits = adapter.current_video_limits()
    if limits is None or not _fixable_problems(item, limits, adapter.label):
        return item
    fitter = video_fitter(item)
    if not fitter.can_transcode():
        problem = _fixable_problems(item, limits, adapter.label)[0]
        raise PublishError(problem, permanent=True, code="video_does_not_fit")
    with _as_publish_errors():
        return fitter.video_rendition(item, limits, platform=adapter.platform)


# --- Uploads that outlive one attempt ---------------------------------------------------------------------


class UploadProgressStore(Protocol):
    """Where an unfinished platform upload is kept between attempts of one delivery (medialibrary.uploads
    keeps it in the database). Each save is committed at once: it must survive the worker."""

    def load(self, *, key: str, platform: str) -> dict[str, Any] | None: ...

    def save(self, *, key: str, platform: str, state: Mapping[str, Any]) -> None: ...

    def clear(self, *, key: str, platform: str) -> None: ...


@cache
def progress_store() -> UploadProgressStore:
    return cast(UploadProgressStore, import_string(settings.CIVICPOST_UPLOAD_PROGRESS_STORE)())


@dataclass
class PendingUpload:
    """One delivery's unfinished video upload to one platform. `state` is the platform's own (media id,
    confirmed offset, container id, ...), plus `post_sent` once the request creating the post went out."""

    platform: str
    key: str
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, platform: str, key: str) -> PendingUpload:
        return cls(platform=platform, key=key, state=dict(progress_store().load(key=key, platform=platform) or {}))

    def save(self, **changes: Any) -> None:
        self.state.update(changes)
        progress_store().save(key=self.key, platform=self.platform, state=self.state)

    def clear(self) -> None:
        self.state = {}
        progress_store().clear(key=self.key, platform=self.platform)

    @property
    def processing(self) -> bool:
        """True while the media was uploaded and the post not yet sent: the platform may still be processing."""
        return bool(self.state.get("media_id")) and not self.state.get("post_sent")


def inline_wait_seconds() -> float:
    return float(getattr(settings, "CIVICPOST_VIDEO_INLINE_WAIT_SECONDS", 10))


def wait_until_ready(
    check: Callable[[], T | None],
    *,
    label: str,
    retry_after: float,
    interval: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Calls `check` until it returns something (the platform finished processing), for at most
    CIVICPOST_VIDEO_INLINE_WAIT_SECONDS; then raises CheckAgainLater (the caller saved its state first).
    `check` raises PublishError itself when processing failed."""
    deadline = time.monotonic() + inline_wait_seconds()
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() + interval > deadline:
            raise CheckAgainLater(
                f"{label} is still processing the video; CivicPost checks again shortly and then publishes it.",
                retry_after=retry_after,
                code="video_processing",
            )
        sleep(interval)


def pending_reconcile(
    adapter: PlatformAdapter, idempotency_key: str, poll: Callable[[PendingUpload], bool | None]
) -> bool:
    """For an adapter's reconcile: True when the delivery has a video upload whose post was never sent, and
    the platform is done with it (`poll` returned True: ready, or False: failed), so the caller answers None
    ("send again": the next attempt resumes the upload and posts, or reports the failure). Raises
    CheckAgainLater while `poll` answers None (still processing). False: no such upload; reconcile as usual."""
    upload = PendingUpload.load(adapter.platform, idempotency_key)
    if not upload.state or upload.state.get("post_sent"):
        return False
    if not upload.processing:
        # Interrupted before the platform had the whole file: nothing can be live. Resume on the next attempt.
        return True
    if poll(upload) is None:
        raise CheckAgainLater(
            f"{adapter.label} is still processing the video; CivicPost checks again shortly and then publishes it.",
            retry_after=float(upload.state.get("check_after") or 30.0),
            code="video_processing",
        )
    return True


def processing_failed(label: str, reason: str) -> PublishError:
    """The platform could not process the video: permanent, with the platform's own reason."""
    reason = reason.strip().rstrip(".") or "no reason given"
    return PublishError(
        f"{label} could not process the video ({reason}). Export it again as MP4 (H.264/AAC) and attach that.",
        permanent=True,
        code="video_processing_failed",
    )


# --- Captions files ----------------------------------------------------------------------------------------

_VTT_TIME = re.compile(r"(?:(\d+):)?(\d{2}):(\d{2})\.(\d{3})")


def _srt_time(match: re.Match[str]) -> str:
    hours, minutes, seconds, millis = match.groups()
    return f"{int(hours or 0):02d}:{minutes}:{seconds},{millis}"


def captions_as_srt(data: bytes) -> bytes:
    """Returns a captions file as SubRip (what Facebook's captions edge and LinkedIn's captions upload take):
    SRT as it is, WebVTT converted (header, NOTE/STYLE/REGION blocks and cue settings dropped, cues numbered,
    "00:01.000" times written "00:00:01,000"). The media library checked the file's cues at upload."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n")
    if not text.lstrip().startswith("WEBVTT"):
        return text.encode()
    cues: list[str] = []
    for block in re.split(r"\n{2,}", text.strip())[1:]:
        lines = block.split("\n")
        timing = next((index for index, line in enumerate(lines) if "-->" in line), None)
        if timing is None:
            continue  # NOTE, STYLE, REGION
        start, _, rest = lines[timing].partition("-->")
        end = rest.strip().split(" ")[0]
        times = f"{_VTT_TIME.sub(_srt_time, start.strip())} --> {_VTT_TIME.sub(_srt_time, end)}"
        cues.append("\n".join([str(len(cues) + 1), times, *lines[timing + 1 :]]))
    return ("\n\n".join(cues) + "\n").encode()


def captions_srt(item: MediaItem) -> bytes | None:
    """The item's captions file as SubRip bytes, or None when it has none (burned in). Raises OSError or
    FileNotFoundError when the stored file cannot be read."""
    if not item.captions_path:
        return None
    with open_stored(MediaItem(url=item.captions_url, mime_type="text/vtt", path=item.captions_path)) as stored:
        return captions_as_srt(stored.read())
