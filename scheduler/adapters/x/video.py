"""Video on X: the v2 chunked media upload (tweepy 4.17 has none), processing polled, then POST /2/tweets.

Documented shapes (https://docs.x.com/x-api/media/upload-media, .../quickstart/media-upload-chunked):
    initialize  POST /2/media/upload/initialize  JSON {"media_type": "video/mp4", "total_bytes": N,
                "media_category": "tweet_video"}  -> {"data": {"id", "media_key", "expires_after_secs"}}
    append      POST /2/media/upload/{id}/append  multipart: media=<chunk>, segment_index=<0..999>  -> 2xx
    finalize    POST /2/media/upload/{id}/finalize  -> {"data": {"id", ..., "processing_info":
                {"state": "pending"|"in_progress"|"succeeded"|"failed", "check_after_secs", "error": {...}}}}
    status      GET /2/media/upload?command=STATUS&media_id={id}  -> the same `processing_info`
    alt text    POST /2/media/metadata  {"id", "metadata": {"alt_text": {"text"}}}
Errors: 400 (bad segment, size mismatch: permanent), 401/403 (as for posts), 429 with x-rate-limit-reset.

Limits (https://docs.x.com/x-api/media/quickstart/best-practices, "Video"): MP4 or MOV, H.264 (High profile)
with AAC-LC sound, at most 60 frames a second, 0.5 to 140 seconds, 512 MB, aspect ratio 1:3 to 3:1, frame at
most 1920 × 1200 (or 1200 × 1900; CivicPost checks a 1920-pixel side). Longer videos need X Premium on the
account (limits follow the user, not the API plan). Access: the same user-context token as posting, with the
`media.write` scope for OAuth 2.0.

Captions: X takes SubRip subtitles as a separate upload (media_category "subtitles") linked to the video; CivicPost
does not send them yet, so VideoLimits.takes_captions_file is False: burned-in captions reach residents on X.

Resuming: the media id, the number of segments X confirmed and whether FINALIZE was answered are saved after each
step (PendingUpload), so an interrupted upload goes on from the next unconfirmed segment and never starts again.
X keeps an unfinished upload for `expires_after_secs` (24 hours).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from scheduler.adapters.base import MediaItem, PublishError, VideoLimits
from scheduler.adapters.media import open_stored
from scheduler.adapters.video import PendingUpload, processing_failed, video_for_upload, wait_until_ready

if TYPE_CHECKING:
    from scheduler.adapters.x.adapter import XAdapter

MEDIA_INITIALIZE_PATH = "/2/media/upload/initialize"
MEDIA_APPEND_PATH = "/2/media/upload/{id}/append"
MEDIA_FINALIZE_PATH = "/2/media/upload/{id}/finalize"
MEDIA_STATUS_PATH = "/2/media/upload"
# Each APPEND carries at most 5 MB (docs); 4 MiB keeps a margin and bounds what a retry resends.
CHUNK_BYTES = 4 * 1024 * 1024

X_VIDEO_LIMITS = VideoLimits(
    max_bytes=512 * 1024 * 1024,
    max_seconds=140.0,
    min_seconds=0.5,
    mime_types=("video/mp4", "video/quicktime"),
    video_codecs=("h264",),
    audio_codecs=("aac", ""),
    aspect_range=(Fraction(1, 3), Fraction(3, 1)),
    max_frame_rate=60.0,
    max_width=1920,
    max_height=1920,
)


def _processing(data: dict[str, Any]) -> tuple[str, float]:
    info = data.get("processing_info") or {}
    return str(info.get("state") or "succeeded"), float(info.get("check_after_secs") or 5)


def _ready_or_raise(data: dict[str, Any]) -> bool:
    """True when processing succeeded; False while pending; raises PublishError (permanent) when it failed."""
    state, _wait = _processing(data)
    if state == "failed":
        error = (data.get("processing_info") or {}).get("error") or {}
        raise processing_failed("X", str(error.get("message") or error.get("name") or ""))
    return state == "succeeded"


def _status(adapter: XAdapter, media_id: str) -> dict[str, Any]:
    from scheduler.adapters.x.adapter import _raise_for_x_status  # adapter.py imports this module

    def read(_client: Any) -> dict[str, Any]:
        headers, auth = adapter._request_auth()
        response = adapter.session.get(
            f"{adapter.base_url}{MEDIA_STATUS_PATH}",
            params={"command": "STATUS", "media_id": media_id},
            headers=headers,
            auth=auth,
        )
        _raise_for_x_status(response)
        body: dict[str, Any] = response.json()
        return dict(body.get("data") or {})

    result: dict[str, Any] = adapter._call(read, creates_post=False)
    return result


def upload_video(adapter: XAdapter, item: MediaItem, *, idempotency_key: str) -> str:
    """Uploads the video in chunks (or goes on with the delivery's saved upload) and returns its media id once
    X processed it. Raises CheckAgainLater (state saved) while X still processes, PublishError (permanent) when
    processing failed or the file does not fit, and the adapter's mapped errors otherwise."""
    upload = PendingUpload.load("x", idempotency_key)
    video = video_for_upload(adapter, item)
    size = int(video.size_bytes or 0)
    media_id = str(upload.state.get("media_id") or "")
    if not media_id:
        if not size:
            with open_stored(video) as stored:
                size = len(stored.read())
        started = adapter._call(
            lambda _client: adapter._post_api(
                MEDIA_INITIALIZE_PATH,
                json={"media_type": "video/mp4", "total_bytes": size, "media_category": "tweet_video"},
            ),
            creates_post=False,
        )
        media_id = str(started["data"]["id"])
        upload.save(media_id=media_id, total_bytes=size, segments_done=0, finalized=False, check_after=5.0)
    if not upload.state.get("finalized"):
        _append_remaining(adapter, upload, video, media_id)
        finished = adapter._call(
            lambda _client: adapter._post_api(MEDIA_FINALIZE_PATH.format(id=media_id)), creates_post=False
        )
        state, wait = _processing(finished.get("data") or {})
        upload.save(finalized=True, check_after=wait)
        if _ready_or_raise(finished.get("data") or {}):
            return _with_alt_text(adapter, upload, item, media_id)
    wait_until_ready(
        lambda: True if _ready_or_raise(_status(adapter, media_id)) else None,
        label="X",
        retry_after=float(upload.state.get("check_after") or 5.0),
    )
    return _with_alt_text(adapter, upload, item, media_id)


def _append_remaining(adapter: XAdapter, upload: PendingUpload, video: MediaItem, media_id: str) -> None:
    """APPENDs every segment X has not confirmed yet, saving the count after each confirmed one."""
    done = int(upload.state.get("segments_done") or 0)
    with open_stored(video) as stored:
        stored.seek(done * CHUNK_BYTES)
        index = done
        while chunk := stored.read(CHUNK_BYTES):
            _append(adapter, media_id, chunk, index)
            index += 1
            upload.save(segments_done=index)
    if index * CHUNK_BYTES < int(upload.state.get("total_bytes") or 0):
        raise PublishError("The stored video is shorter than when its upload began.", permanent=True)


def _append(adapter: XAdapter, media_id: str, chunk: bytes, index: int) -> None:
    def send(_client: Any) -> dict[str, Any]:
        return adapter._post_api(
            MEDIA_APPEND_PATH.format(id=media_id),
            files={"media": ("blob", chunk, "application/octet-stream")},
            data={"segment_index": str(index)},
        )

    adapter._call(send, creates_post=False)


def _with_alt_text(adapter: XAdapter, upload: PendingUpload, item: MediaItem, media_id: str) -> str:
    if item.alt_text and not upload.state.get("alt_text_set"):
        adapter._call(
            lambda _client: adapter._post_api(
                "/2/media/metadata", json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}}
            ),
            creates_post=False,
        )
        upload.save(alt_text_set=True)
    return media_id


def poll_pending(adapter: XAdapter, upload: PendingUpload) -> bool | None:
    """For reconcile: True when X processed the saved media (or it never finished uploading: the next attempt
    resumes it), False when processing failed, None while X is still processing or could not be asked."""
    if not upload.state.get("finalized"):
        return True
    try:
        return True if _ready_or_raise(_status(adapter, str(upload.state["media_id"]))) else None
    except PublishError as error:
        return False if error.code == "video_processing_failed" else None
    except Exception:  # noqa: BLE001 - any other failure: ask again later
        return None
