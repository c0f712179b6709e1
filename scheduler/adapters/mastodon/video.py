"""Video on Mastodon: asynchronous media processing (https://docs.joinmastodon.org/methods/media/#v2).

    upload   POST /api/v2/media (multipart file, description)  -> 202 {"id", "url": null, ...} while the
             server processes the file (200 with a url when it was quick)
    poll     GET /api/v1/media/:id  -> 206 Partial content while processing, 200 with `url` set when done,
             422 "There was an error processing the media attachment" when it failed
    post     POST /api/v1/statuses with media_ids[] (the status is refused, 422, while an attachment still
             processes)

Limits are the instance's own (GET /api/v2/instance, configuration.media_attachments): video_size_limit
(99 MiB by default since Mastodon 4.0), video_frame_rate_limit (120), video_matrix_limit (8,294,400 pixels,
4096 × 2025). The server transcodes what it takes (ffmpeg on the server): MP4, M4V, MOV and WebM; H.264,
HEVC, VP8/VP9 and AV1 are read. No length limit is documented.

Captions: Mastodon has no captions track; the attachment's description (the alt text, up to
description_limit characters) is all a resident gets, so a video sent here needs its captions burned in to
reach people who cannot hear it. CivicPost sends the alt text as the description.

The media id is saved (PendingUpload) as soon as the upload is accepted: a worker that lets go while the
server processes, or dies, leaves the next attempt to poll the same attachment instead of uploading again.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mastodon import MastodonAPIError, MastodonError

from scheduler.adapters.base import AdapterError, MediaItem, PublishError, VideoLimits
from scheduler.adapters.media import open_stored
from scheduler.adapters.video import PendingUpload, processing_failed, video_for_upload, wait_until_ready

if TYPE_CHECKING:
    from mastodon import Mastodon

    from scheduler.adapters.mastodon.adapter import MastodonAdapter

# Mastodon 4.x defaults (app/models/media_attachment.rb; configuration.media_attachments of /api/v2/instance).
DEFAULT_VIDEO_FRAME_RATE_LIMIT = 120
DEFAULT_VIDEO_MATRIX_LIMIT = 8_294_400
VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4")
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "")
CHECK_AFTER_SECONDS = 20.0


def mastodon_video_limits(limits: dict[str, int]) -> VideoLimits:
    """The instance's video limits (`limits`: DEFAULT_LIMITS merged with what the instance reported)."""
    matrix = int(limits.get("video_matrix_limit") or DEFAULT_VIDEO_MATRIX_LIMIT)
    side = int(math.isqrt(matrix))
    return VideoLimits(
        max_bytes=int(limits["video_size_limit"]),
        max_seconds=math.inf,
        mime_types=("video/mp4", "video/quicktime"),
        video_codecs=VIDEO_CODECS,
        audio_codecs=AUDIO_CODECS,
        max_frame_rate=float(limits.get("video_frame_rate_limit") or DEFAULT_VIDEO_FRAME_RATE_LIMIT),
        # A square frame of the matrix limit: what CivicPost can check without knowing the shape.
        max_width=max(side, 4096),
        max_height=max(side, 4096),
    )


def _ready(attachment: dict[str, Any]) -> str | None:
    return str(attachment["id"]) if attachment.get("url") else None


def _poll(api: Mastodon, media_id: str) -> str | None:
    """GET /api/v1/media/:id: the id once processed, None while processing. Raises PublishError (permanent)
    when the server could not process it (422); Mastodon.py errors otherwise."""
    try:
        attachment = api.media(media_id)
    except MastodonAPIError as error:
        status = error.args[1] if len(error.args) > 1 else None
        if status == 422:
            reason = str(error.args[3] if len(error.args) > 3 and error.args[3] else error.args[2])
            raise processing_failed("Mastodon", reason) from error
        raise
    return _ready(attachment)


def upload_video(adapter: MastodonAdapter, api: Mastodon, item: MediaItem, *, idempotency_key: str) -> str:
    """Uploads the video (or resumes the saved upload) and returns its media id once Mastodon processed it.
    Raises CheckAgainLater (the id saved) when processing takes longer than a worker waits, PublishError
    when it failed, Mastodon.py errors for the caller to map."""
    upload = PendingUpload.load("mastodon", idempotency_key)
    media_id = str(upload.state.get("media_id") or "")
    if not media_id:
        video = video_for_upload(adapter, item)
        with open_stored(video) as stored:
            attachment = api.media_post(stored, mime_type=video.mime_type, description=item.alt_text or None)
        media_id = str(attachment["id"])
        upload.save(media_id=media_id, check_after=CHECK_AFTER_SECONDS)
        if _ready(attachment):
            return media_id
    return wait_until_ready(lambda: _poll(api, media_id), label="Mastodon", retry_after=CHECK_AFTER_SECONDS)


def poll_pending(adapter: MastodonAdapter, upload: PendingUpload) -> bool | None:
    """For reconcile: True when the saved attachment is processed, False when processing failed (the next attempt
    reports it), None while it is still processing or the instance could not be asked (ask again later)."""
    try:
        ready = _poll(adapter._api(), str(upload.state["media_id"]))
    except PublishError:
        return False
    except (MastodonError, AdapterError):
        return None
    return True if ready else None
