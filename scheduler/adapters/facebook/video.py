"""Video on a Facebook Page: a reel through the Reels Publishing API, uploaded once per delivery, resumable across
attempts, captions attached before it goes live, processing polled without holding a worker.

Documented shapes (https://developers.facebook.com/docs/video-api/guides/reels-publishing, base
{graph host}/{CIVICPOST_GRAPH_API_VERSION}; the token is the Page token, as for posts):
    start      POST /{page-id}/video_reels  upload_phase=start
               -> {"video_id": "<id>", "upload_url": "https://rupload.facebook.com/video-upload/<version>/<id>"}
    upload     POST https://rupload.facebook.com/video-upload/<version>/<video-id>   (CivicPost builds this address
               itself from the video id: the token never goes to a host named in an answer)
               headers  Authorization: OAuth <page token>, offset: <first byte>, file_size: <total bytes>
               body     the bytes from `offset` to the end  -> {"success": true}
               errors   {"debug_info": {"type": "ParameterValidationError", "message": ...}} (4xx)
    status     GET /{video-id}?fields=status  -> {"status": {"video_status": "upload_complete"|"processing"|"ready"|
               "error", "uploading_phase": {"status", "bytes_transferred"}, "processing_phase": {"status":
               "not_started"|"in_progress"|"complete"|"error", "errors": [{"code", "message"}]},
               "publishing_phase": {"status": "not_started"|"in_progress"|"complete", "publish_status",
               "publish_time"}}, "id"}
               An interrupted upload resumes from `uploading_phase.bytes_transferred` (the guide's "Resume an
               interrupted upload").
    captions   POST /{video-id}/captions  multipart captions_file=<name>.<locale>.srt (SubRip; the file name carries
               the locale), default_locale=<locale>  -> {"success": true}
               (https://developers.facebook.com/docs/graph-api/reference/video/captions, "Creating"). CivicPost's
               WebVTT captions are converted to SubRip (scheduler/adapters/video.py captions_as_srt).
    finish     POST /{page-id}/video_reels  upload_phase=finish, video_id, video_state=PUBLISHED, description
               -> {"success": true}; Meta then processes and publishes the reel (status above).
    permalink  https://www.facebook.com/reel/<video-id>;  delete: DELETE /{video-id} -> {"success": true}

Limits (the guide's "Reel specifications"): MP4 (recommended), 9:16, 1080 x 1920 recommended and at least
540 x 960, 24 to 60 frames a second, 3 to 90 seconds, H.264/H.265/VP9/AV1 video with AAC sound (48 kHz, stereo
or mono). The guide names no file size; CivicPost caps a reel at 1 GB [k]. At most 30 API-published reels per
Page in a moving 24 hours (enforced on POST /{page-id}/video_reels; over it, Meta answers a rate-limit error that
graph.py maps onto RateLimited with its own wait).

Access a city needs: a Page token from a person who can do the CREATE_CONTENT task on the Page, with
pages_show_list, pages_read_engagement and pages_manage_posts (the guide's "Before You Start"; all three come
with CivicPost's Facebook Login, after Meta's App Review for Advanced Access).

Not used: regular Page videos (POST graph-video.facebook.com/{page-id}/videos with title, description and
fbuploader_video_file_chunk=<handle>, https://developers.facebook.com/docs/video-api/guides/publishing). Their
file handle comes from the Resumable Upload API (POST /{app-id}/uploads, then POST /upload:<session> with a
file_offset header; https://developers.facebook.com/docs/graph-api/guides/upload), which needs a *User* access
token of someone with a role on the app, and Page video publishing asks for publish_video too. CivicPost keeps
only the Page token, so longer or landscape videos reach a Page as reels only after the media library fits them to
9:16 (ffmpeg pads them), and videos longer than 90 seconds are refused at compose time in one sentence.

Errors: the Graph envelope on graph.facebook.com through graph.classify (190 reconnect, 10/200-299 missing
permission, 4/17/32/613/80001+ rate limits with Meta's wait, 1/2 transient, 100 rejected); rupload's
`debug_info` 4xx answers are permanent with Meta's words, its 5xx and dropped connections are retried (the next
attempt asks for bytes_transferred and sends only the rest). Processing `error` is permanent with Meta's message.

Exactly once: the delivery's video id is saved the moment Meta hands it out (PendingUpload), so every attempt of
the delivery works on the same video and at most one reel can exist. `post_sent` is saved before finish; an
unclear finish is decided by the video's own status (publishing_phase), never by sending a second video.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from scheduler.adapters.base import (
    AdapterError,
    CheckAgainLater,
    MediaItem,
    PostContent,
    PublishError,
    PublishResult,
    RateLimited,
)
from scheduler.adapters.graph import GraphClient, GraphError, Usage, classify, graph_api_version, transport_error
from scheduler.adapters.http import platform_base_url
from scheduler.adapters.media import open_stored
from scheduler.adapters.video import (
    PendingUpload,
    captions_srt,
    processing_failed,
    video_for_upload,
    wait_until_ready,
)

if TYPE_CHECKING:
    from scheduler.adapters.facebook.adapter import FacebookPageAdapter

RUPLOAD_HOST = "https://rupload.facebook.com"
REELS_DOC = "https://developers.facebook.com/docs/video-api/guides/reels-publishing"
CAPTIONS_DOC = "https://developers.facebook.com/docs/graph-api/reference/video/captions"
CHECK_AFTER_SECONDS = 30.0
# Facebook's caption locales are language_TERRITORY; CivicPost keeps two-letter languages.
CAPTION_LOCALES = {"en": "en_US", "es": "es_LA", "fr": "fr_FR", "pt": "pt_BR", "zh": "zh_CN", "vi": "vi_VN"}


def rupload_url(video_id: str) -> str:
    return f"{platform_base_url('facebook_rupload', RUPLOAD_HOST)}/video-upload/{graph_api_version()}/{video_id}"


def reel_permalink(video_id: str) -> str:
    return f"https://www.facebook.com/reel/{video_id}"


def caption_locale(language: str) -> str:
    language = (language or "en").split("-")[0].lower()
    return CAPTION_LOCALES.get(language, f"{language}_{language.upper()}")


def read_status(client: GraphClient, video_id: str) -> dict[str, Any]:
    body: dict[str, Any] = client.get(video_id, {"fields": "status"})
    return dict(body.get("status") or {})


def _phase(status: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(status.get(name) or {})


def processing_error(status: dict[str, Any]) -> str | None:
    """Meta's reason when it could not process the video, else None."""
    processing = _phase(status, "processing_phase")
    if status.get("video_status") != "error" and processing.get("status") != "error":
        return None
    errors = processing.get("errors") or [{}]
    return str(errors[0].get("message") or "no reason given")


def is_published(status: dict[str, Any]) -> bool:
    publishing = _phase(status, "publishing_phase")
    return publishing.get("status") == "complete" or publishing.get("publish_status") == "published"


def finish_arrived(status: dict[str, Any]) -> bool:
    """True when Meta has the finish request (publishing started or done)."""
    publishing = _phase(status, "publishing_phase")
    return publishing.get("status") in ("in_progress", "complete") or bool(publishing.get("publish_status"))


def publish_reel(
    adapter: FacebookPageAdapter, client: GraphClient, content: PostContent, *, idempotency_key: str
) -> PublishResult:
    """Publishes the post's one video as a reel: start (once per delivery), upload (resumed from what Meta kept),
    captions, finish, then Meta's processing. Returns the video id and permalink. Raises CheckAgainLater (state
    saved) while Meta processes it, PublishError (permanent, Meta's words) when processing failed or the file
    does not fit, OutcomeUnknown when the finish answer was lost, and graph.py's mapped errors otherwise."""
    item = content.media[0]
    upload = PendingUpload.load(adapter.platform, idempotency_key)
    video = video_for_upload(adapter, item)
    video_id = str(upload.state.get("media_id") or "")
    if not video_id:
        size = int(video.size_bytes or 0) or _stored_size(video)
        started = client.post(f"{adapter.page_id}/video_reels", {"upload_phase": "start"})
        video_id = str(started.get("video_id") or "")
        if not video_id:
            raise PublishError("Facebook did not start the video upload (no video id).", permanent=False, raw=started)
        upload.save(media_id=video_id, total_bytes=size, uploaded=False, check_after=CHECK_AFTER_SECONDS)
    if not upload.state.get("uploaded"):
        _upload_rest(adapter, client, upload, video, video_id)
    if "captions" not in upload.state:
        upload.save(captions=_send_captions(client, video_id, item, language=content.language))
    if not upload.state.get("finished"):
        known = read_status(client, video_id) if upload.state.get("post_sent") else {}
        if known and (finish_arrived(known) or processing_error(known) is not None):
            upload.save(finished=True)
        else:
            upload.save(post_sent=True)
            client.post(
                f"{adapter.page_id}/video_reels",
                {
                    "upload_phase": "finish",
                    "video_id": video_id,
                    "video_state": "PUBLISHED",
                    "description": adapter._message(content),
                },
                publishing=True,
            )
            upload.save(finished=True)
    status = wait_until_ready(
        lambda: _settled(client, video_id), label="Facebook", retry_after=CHECK_AFTER_SECONDS, interval=5.0
    )
    raw = {"video_id": video_id, "status": status, "captions": upload.state.get("captions")}
    upload.clear()
    return PublishResult(remote_id=video_id, permalink=reel_permalink(video_id), raw=raw)


def _stored_size(video: MediaItem) -> int:
    with open_stored(video) as stored:
        return len(stored.read())


def _settled(client: GraphClient, video_id: str) -> dict[str, Any] | None:
    status = read_status(client, video_id)
    reason = processing_error(status)
    if reason is not None:
        raise processing_failed("Facebook", reason)
    return status if is_published(status) else None


def _upload_rest(
    adapter: FacebookPageAdapter, client: GraphClient, upload: PendingUpload, video: MediaItem, video_id: str
) -> None:
    """Sends the bytes Meta does not have yet in one request. After an interrupted attempt Meta is asked how many
    it kept (bytes_transferred) and only the rest goes."""
    total = int(upload.state.get("total_bytes") or 0)
    offset = 0
    if upload.state.get("upload_started"):
        uploading = _phase(read_status(client, video_id), "uploading_phase")
        offset = int(uploading.get("bytes_transferred") or 0)
    upload.save(upload_started=True)
    if offset < total:
        with open_stored(video) as stored:
            stored.seek(offset)
            data = stored.read()
        if offset + len(data) != total:
            raise PublishError("The stored video is not the size it was when its upload began.", permanent=True)
        _rupload(adapter, client, video_id, data, offset=offset, total=total)
    upload.save(uploaded=True, offset=total)


def _rupload(
    adapter: FacebookPageAdapter, client: GraphClient, video_id: str, data: bytes, *, offset: int, total: int
) -> None:
    headers = {
        "Authorization": f"OAuth {client.access_token}",
        "offset": str(offset),
        "file_size": str(total),
        "Content-Type": "application/octet-stream",
    }
    try:
        response = client.session.post(rupload_url(video_id), data=data, headers=headers)
    except requests.RequestException as error:
        raise transport_error(error, publishing=False, label="Facebook") from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    if isinstance(body.get("error"), dict):
        raise classify(
            GraphError.from_body(body, http_status=response.status_code),
            usage=Usage.from_headers(response.headers),
            publishing=False,
            label="Facebook",
        )
    if response.status_code == 429:
        raise RateLimited("Facebook asked us to slow down the video upload.", retry_after=900.0, raw=body)
    if response.status_code >= 500:
        raise PublishError(
            f"Facebook's upload service had a problem ({response.status_code}).", permanent=False, raw=body
        )
    debug = body.get("debug_info") or {}
    if response.status_code >= 400 or not body.get("success"):
        words = str(debug.get("message") or f"HTTP {response.status_code}")
        raise PublishError(
            f"Facebook refused the video upload: {words}", permanent=True, code="facebook_rupload", raw=body
        )


def _send_captions(client: GraphClient, video_id: str, item: MediaItem, *, language: str) -> dict[str, Any]:
    """Attaches the captions file before the reel goes live. Returns what happened, for the delivery's record:
    {"status": "sent", "locale"} or {"status": "not sent", "reason"}. A refused captions file never fails the
    delivery (the captions can be added in Meta Business Suite); a rate limit waits and tries again."""
    if not item.captions_path:
        return {"status": "not sent", "reason": "burned into the picture" if item.captions_burned_in else "no file"}
    locale = caption_locale(language)
    try:
        srt = captions_srt(item) or b""
        client.post(
            f"{video_id}/captions",
            {"default_locale": locale},
            files={"captions_file": (f"captions.{locale}.srt", srt, "application/x-subrip")},
        )
    except (RateLimited, CheckAgainLater):
        raise
    except (AdapterError, OSError) as error:
        return {"status": "not sent", "reason": getattr(error, "message", type(error).__name__)}
    return {"status": "sent", "locale": locale}


def reconcile_reel(adapter: FacebookPageAdapter, client: GraphClient, upload: PendingUpload) -> PublishResult | None:
    """For reconcile, with the delivery's saved video: the reel when Meta published it; None when it is proved not
    live (never finished, or failed: the next attempt resumes and finishes, or reports Meta's reason); raises
    CheckAgainLater while Meta still processes a finished one."""
    video_id = str(upload.state["media_id"])
    if not upload.state.get("post_sent"):
        return None
    status = read_status(client, video_id)
    if is_published(status):
        upload.clear()
        return PublishResult(remote_id=video_id, permalink=reel_permalink(video_id), raw={"status": status})
    if finish_arrived(status) and processing_error(status) is None:
        raise CheckAgainLater(
            "Facebook is still processing the video; CivicPost checks again shortly.",
            retry_after=CHECK_AFTER_SECONDS,
            code="video_processing",
        )
    return None
