"""Video on Bluesky: the video service (https://docs.bsky.app/docs/tutorials/video), then an
app.bsky.embed.video embed with the captions track.

    service auth   GET {pds}/xrpc/com.atproto.server.getServiceAuth?aud=did:web:{pds host}
                   &lxm=com.atproto.repo.uploadBlob&exp=<unix time>  -> {"token"}   (session token)
                   (and aud=did:web:video.bsky.app, lxm=app.bsky.video.getUploadLimits for the limits)
    limits         GET {video}/xrpc/app.bsky.video.getUploadLimits  -> {"canUpload", "remainingDailyVideos",
                   "remainingDailyBytes", "message", "error"}
    upload         POST {video}/xrpc/app.bsky.video.uploadVideo?did={did}&name={file}  (the bytes, Content-Type
                   video/mp4, Bearer service token)  -> {"jobId", "did", "state", ...} (409 "already_exists"
                   with the jobId when the same file was processed before)
    job status     GET {video}/xrpc/app.bsky.video.getJobStatus?jobId=  -> {"jobStatus": {"jobId", "state":
                   JOB_STATE_CREATED|JOB_STATE_ENCODING|JOB_STATE_COMPLETED|JOB_STATE_FAILED, "progress",
                   "blob", "error", "message"}}
    captions       POST {pds}/xrpc/com.atproto.repo.uploadBlob (text/vtt, at most 20,000 bytes)
    post           app.bsky.embed.video {"video": blob, "captions": [{"lang", "file"}], "alt", "aspectRatio"}

Limits (the announcement of 2025-03 and the app.bsky.embed.video lexicon): MP4, MPEG, WebM or MOV, up to 3
minutes and 100 MB; 25 videos / 10 GB a day per account (getUploadLimits says how much is left); captions are
WebVTT only. The account's email must be verified to upload video. No separate access level: the same app
password as posting.

The job id is saved as soon as the service accepts the upload: a worker that lets go while the service encodes, or
dies, leaves the next attempt to ask for the same job instead of uploading again.
"""

from __future__ import annotations

import time
from fractions import Fraction
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from atproto_client import Client, models
from atproto_client.models.blob_ref import BlobRef

from scheduler.adapters.base import MediaItem, PublishError, RateLimited, VideoLimits
from scheduler.adapters.http import USER_AGENT, httpx_timeout, platform_base_url
from scheduler.adapters.media import open_stored
from scheduler.adapters.ssrf import guarded_httpx_transport
from scheduler.adapters.video import PendingUpload, processing_failed, video_for_upload, wait_until_ready

if TYPE_CHECKING:
    from scheduler.adapters.bluesky.adapter import BlueskyAdapter

DEFAULT_VIDEO_SERVICE_URL = "https://video.bsky.app"
VIDEO_SERVICE_DID = "did:web:video.bsky.app"
MAX_CAPTION_BYTES = 20_000
SERVICE_TOKEN_SECONDS = 30 * 60
CHECK_AFTER_SECONDS = 15.0

BLUESKY_VIDEO_LIMITS = VideoLimits(
    max_bytes=100 * 1000 * 1000,
    max_seconds=180.0,
    mime_types=("video/mp4", "video/quicktime"),
    video_codecs=("h264", "hevc", "vp9", "av1"),
    audio_codecs=("aac", "opus", "mp3", ""),
    aspect_range=(Fraction(1, 3), Fraction(3, 1)),
    takes_captions_file=True,
)


def video_service_url() -> str:
    return platform_base_url("bluesky_video", DEFAULT_VIDEO_SERVICE_URL)


def _service_token(client: Client, *, aud: str, lxm: str) -> str:
    params = models.ComAtprotoServerGetServiceAuth.Params(
        aud=aud, lxm=lxm, exp=int(time.time()) + SERVICE_TOKEN_SECONDS
    )
    token: str = client.com.atproto.server.get_service_auth(params).token
    return token


def _video_call(method: str, path: str, *, token: str, **kwargs: Any) -> dict[str, Any]:
    """One request to the video service. Raises RateLimited (429), PublishError (anything refused: permanent for
    4xx, else not), httpx errors for the caller (nothing posted yet either way)."""
    with httpx.Client(transport=guarded_httpx_transport(), timeout=httpx_timeout(), trust_env=False) as http:
        response = http.request(
            method,
            f"{video_service_url()}/xrpc/{path}",
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, **kwargs.pop("headers", {})},
            **kwargs,
        )
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code == 429:
        reset = response.headers.get("ratelimit-reset", "")
        wait = float(reset) - time.time() if reset.isdigit() else 60.0
        raise RateLimited("Bluesky's video service asked us to slow down.", retry_after=max(1.0, wait))
    if response.status_code == 409 and body.get("jobId"):
        return body  # "already_exists": the same file was processed before; its job is reused
    if response.status_code >= 400:
        message = str(body.get("message") or body.get("error") or response.status_code)
        raise PublishError(
            f"Bluesky's video service refused the video: {message}",
            permanent=400 <= response.status_code < 500,
            code=str(body.get("error") or response.status_code),
        )
    return body


def _job(state: dict[str, Any]) -> dict[str, Any] | None:
    """The finished job's blob, None while encoding; raises PublishError when the job failed."""
    current = str(state.get("state") or "")
    if current == "JOB_STATE_FAILED":
        raise processing_failed("Bluesky", str(state.get("error") or state.get("message") or ""))
    blob = state.get("blob")
    if current == "JOB_STATE_COMPLETED" and isinstance(blob, dict):
        return blob
    return None


def _job_status(token: str, job_id: str) -> dict[str, Any] | None:
    answer = _video_call("GET", "app.bsky.video.getJobStatus", token=token, params={"jobId": job_id})
    return _job(dict(answer.get("jobStatus") or {}))


def upload_video(adapter: BlueskyAdapter, client: Client, item: MediaItem, *, idempotency_key: str) -> dict[str, Any]:
    """Uploads the video to the video service (or asks about the delivery's saved job) and returns the blob once
    encoded. Raises CheckAgainLater (job saved) while it encodes, PublishError when it failed or the daily limit
    is used up, RateLimited, and atproto / httpx errors for the caller to map."""
    upload = PendingUpload.load("bluesky", idempotency_key)
    if upload.state.get("blob"):
        return dict(upload.state["blob"])
    job_id = str(upload.state.get("media_id") or "")
    if not job_id:
        video = video_for_upload(adapter, item)
        limits_token = _service_token(client, aud=VIDEO_SERVICE_DID, lxm="app.bsky.video.getUploadLimits")
        limits = _video_call("GET", "app.bsky.video.getUploadLimits", token=limits_token)
        if not limits.get("canUpload", True):
            reason = limits.get("message") or limits.get("error") or "the daily video limit is used up"
            raise PublishError(f"Bluesky will not take a video from this account now: {reason}.", permanent=False)
        pds_host = urlsplit(adapter.pds_url).hostname or ""
        token = _service_token(client, aud=f"did:web:{pds_host}", lxm="com.atproto.repo.uploadBlob")
        with open_stored(video) as stored:
            data = stored.read()
        answer = _video_call(
            "POST",
            "app.bsky.video.uploadVideo",
            token=token,
            params={"did": adapter.did, "name": f"{idempotency_key}.mp4"},
            headers={"Content-Type": "video/mp4"},
            content=data,
        )
        # The lexicon wraps the job in {"jobStatus": ...}; the service has also answered it bare (and a 409
        # "already_exists" names only the jobId).
        status = dict(answer.get("jobStatus") or answer)
        job_id = str(status["jobId"])
        upload.save(media_id=job_id, check_after=CHECK_AFTER_SECONDS)
        if blob := _job(status):
            upload.save(blob=blob)
            return blob
    status_token = _service_token(client, aud=VIDEO_SERVICE_DID, lxm="app.bsky.video.getJobStatus")
    blob = wait_until_ready(lambda: _job_status(status_token, job_id), label="Bluesky", retry_after=CHECK_AFTER_SECONDS)
    upload.save(blob=blob)
    return blob


def video_embed(
    client: Client, item: MediaItem, blob: dict[str, Any], *, language: str
) -> models.AppBskyEmbedVideo.Main:
    """The app.bsky.embed.video of a processed video, with its WebVTT captions uploaded as a blob."""
    captions = None
    if item.captions_path and item.captions_path.endswith(".vtt"):
        with open_stored(MediaItem(url=item.captions_url, mime_type="text/vtt", path=item.captions_path)) as stored:
            data = stored.read()
        if len(data) > MAX_CAPTION_BYTES:
            raise PublishError(
                f"Bluesky takes captions files up to {MAX_CAPTION_BYTES // 1000} KB; this one is larger.",
                permanent=True,
                code="captions_too_large",
            )
        # https://docs.bsky.app/docs/api/com-atproto-repo-upload-blob
        uploaded = client.com.atproto.repo.upload_blob(data, headers={"Content-Type": "text/vtt"})
        captions = [models.AppBskyEmbedVideo.Caption(file=uploaded.blob, lang=language or "en")]
    aspect = None
    if item.width and item.height:
        aspect = models.AppBskyEmbedDefs.AspectRatio(width=item.width, height=item.height)
    return models.AppBskyEmbedVideo.Main(
        video=BlobRef.model_validate(blob), alt=item.alt_text or None, aspect_ratio=aspect, captions=captions
    )


def poll_pending(adapter: BlueskyAdapter, upload: PendingUpload) -> bool | None:
    """For reconcile: True when the saved job finished, False when it failed, None while the service encodes or
    could not be asked."""
    if upload.state.get("blob"):
        return True

    def ask(client: Client) -> dict[str, Any] | None:
        token = _service_token(client, aud=VIDEO_SERVICE_DID, lxm="app.bsky.video.getJobStatus")
        return _job_status(token, str(upload.state["media_id"]))

    try:
        blob = adapter._run(ask, sent=False)
    except PublishError as error:
        return False if error.code == "video_processing_failed" else None
    except Exception:  # noqa: BLE001 - any other failure: ask again later
        return None
    if blob is None:
        return None
    upload.save(blob=blob)  # the next attempt posts without asking again
    return True
