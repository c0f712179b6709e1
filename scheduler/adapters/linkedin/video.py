"""Video and documents (PDF) on a LinkedIn Page: the Videos API's multi-part upload with its captions file, the
Documents API, processing polled, then one POST /rest/posts per delivery.

Videos API (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api); every call
carries the three /rest/ headers (Authorization, LinkedIn-Version, X-Restli-Protocol-Version: adapter.rest_headers):
    initialize  POST /rest/videos?action=initializeUpload  {"initializeUploadRequest": {"owner": <org urn>,
                "fileSizeBytes": N, "uploadCaptions": true|false, "uploadThumbnail": false}}
                -> {"value": {"uploadUrlsExpireAt": ms, "video": "urn:li:video:…", "uploadInstructions":
                [{"uploadUrl", "firstByte", "lastByte"}, …] (4 MiB parts), "uploadToken": "",
                "captionsUploadUrl": <url, when uploadCaptions>}}
    parts       PUT <uploadUrl> with bytes firstByte..lastByte (application/octet-stream) -> 200, `ETag` header
    captions    PUT <captionsUploadUrl> with the SubRip file -> 200/201 (CivicPost's WebVTT is converted)
    finalize    POST /rest/videos?action=finalizeUpload  {"finalizeUploadRequest": {"video": <urn>, "uploadToken":
                <token>, "uploadedPartIds": [<ETag of each part, in order>]}} -> 200
    status      GET /rest/videos/<encoded urn> -> {"id", "status": "WAITING_UPLOAD"|"PROCESSING"|"AVAILABLE"|
                "PROCESSING_FAILED", "processingFailureReason", "duration", "aspectRatioWidth", …}
    post        POST /rest/posts with "content": {"media": {"id": "urn:li:video:…", "title": <first line>}}
Limits (the Videos API's "Video specifications"): MP4, 75 KB to 500 MB for organic posts, 3 seconds to 30 minutes,
aspect ratio 1:2.4 to 2.4:1; captions: one SRT file. Upload URLs expire (uploadUrlsExpireAt, about a day): a
delivery that waits longer starts a new upload on its next attempt (nothing was posted).

Documents API (https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/documents-api):
    initialize  POST /rest/documents?action=initializeUpload {"initializeUploadRequest": {"owner": <org urn>}}
                -> {"value": {"uploadUrlExpiresAt": ms, "uploadUrl": <url>, "document": "urn:li:document:…"}}
    upload      PUT <uploadUrl> with the file -> 201
    status      GET /rest/documents/<encoded urn> -> {"status": "WAITING_UPLOAD"|"PROCESSING"|"AVAILABLE"|
                "PROCESSING_FAILED", "downloadUrl", …}
    post        POST /rest/posts with "content": {"media": {"id": "urn:li:document:…", "title": <title, required>}}
Limits: PDF, PPT, PPTX, DOC or DOCX, at most 100 MB and 300 pages. CivicPost sends PDF: the media library keeps PDFs
as the "document" kind (checked by their `%PDF-` header, 100 MB at most), with the title LinkedIn requires in the
attachment's alt text; every other adapter's validate refuses a document (PlatformAdapter.takes_documents).

Access a city needs: the **Community Management API** product on its LinkedIn developer app (LinkedIn reviews the
application; the app's organisation must be verified), the scope w_organization_social (post as the organisation;
r_organization_social to read its posts back for reconciliation), and a connecting member who is ADMINISTRATOR or
CONTENT_ADMINISTRATOR of the Page. Video and documents need nothing beyond what image posts need.

Errors as for posts (adapter.classify): 401/403 reconnect, 422 DUPLICATE_POST, 426 version sunset, 429 RateLimited
(Retry-After when sent, else 15 minutes), 400 permanent with LinkedIn's `message`; upload, finalize and status
failures never create a post, so only POST /rest/posts is `creates_post` (5xx or a broken connection there is
OutcomeUnknown). PROCESSING_FAILED is permanent with LinkedIn's processingFailureReason.

Resuming (PendingUpload, one per delivery): the video or document urn, the upload instructions and every confirmed
part's ETag are saved as they arrive, so an interrupted upload goes on from the next part and never starts a second
video; `post_sent` is saved before POST /rest/posts, after which the adapter's ordinary reconcile (the
organisation's latest posts) decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scheduler.adapters.base import AdapterError, MediaItem, PublishError, RateLimited
from scheduler.adapters.media import open_stored
from scheduler.adapters.video import (
    PendingUpload,
    captions_srt,
    processing_failed,
    video_for_upload,
    wait_until_ready,
)

if TYPE_CHECKING:
    from scheduler.adapters.linkedin.adapter import LinkedInAdapter

VIDEOS_PATH = "/rest/videos"
DOCUMENTS_PATH = "/rest/documents"
CHECK_AFTER_SECONDS = 30.0
DOCUMENT_TYPES = ("application/pdf",)
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024


def is_document(item: MediaItem) -> bool:
    return item.mime_type in DOCUMENT_TYPES


def _encode(urn: str) -> str:
    from scheduler.adapters.linkedin.adapter import encode_urn  # adapter.py imports this module

    return encode_urn(urn)


def _status(adapter: LinkedInAdapter, path: str, urn: str) -> dict[str, Any]:
    body: dict[str, Any] = adapter._request("GET", f"{path}/{_encode(urn)}").json()
    return body


def _available(adapter: LinkedInAdapter, path: str, urn: str) -> bool | None:
    """True when LinkedIn processed the media, None while it is still at it; raises PublishError (permanent, with
    LinkedIn's reason) when processing failed."""
    body = _status(adapter, path, urn)
    state = str(body.get("status") or "")
    if state == "PROCESSING_FAILED":
        reason = str(body.get("processingFailureReason") or "")
        if path == DOCUMENTS_PATH:
            raise PublishError(
                f"LinkedIn could not process the document ({reason.rstrip('.') or 'no reason given'}). "
                "Save it again as a PDF and attach that.",
                permanent=True,
                code="video_processing_failed",
            )
        raise processing_failed("LinkedIn", reason)
    return True if state == "AVAILABLE" else None


def upload_video(adapter: LinkedInAdapter, item: MediaItem, *, idempotency_key: str) -> str:
    """Uploads the video in LinkedIn's parts (or goes on with the delivery's saved upload), with its captions, and
    returns its urn once LinkedIn processed it. Raises CheckAgainLater (state saved) while LinkedIn processes it,
    PublishError (permanent) when processing failed or the file does not fit, the adapter's mapped errors
    otherwise."""
    upload = PendingUpload.load(adapter.platform, idempotency_key)
    video = video_for_upload(adapter, item)
    urn = str(upload.state.get("media_id") or "")
    if not urn:
        with open_stored(video) as stored:
            size = len(stored.read()) if not video.size_bytes else int(video.size_bytes)
        value = adapter._request(
            "POST",
            f"{VIDEOS_PATH}?action=initializeUpload",
            json={
                "initializeUploadRequest": {
                    "owner": adapter.organization_urn,
                    "fileSizeBytes": size,
                    "uploadCaptions": bool(item.captions_path),
                    "uploadThumbnail": False,
                }
            },
        ).json()["value"]
        urn = str(value["video"])
        upload.save(
            media_id=urn,
            kind="video",
            parts=[
                {"url": str(part["uploadUrl"]), "first": int(part["firstByte"]), "last": int(part["lastByte"])}
                for part in value.get("uploadInstructions") or []
            ],
            upload_token=str(value.get("uploadToken") or ""),
            captions_url=str(value.get("captionsUploadUrl") or ""),
            etags=[],
            finalized=False,
            check_after=CHECK_AFTER_SECONDS,
        )
    if not upload.state.get("finalized"):
        _put_parts(adapter, upload, video)
        if upload.state.get("captions_url") and "captions" not in upload.state:
            upload.save(captions=_put_captions(adapter, upload, item))
        adapter._request(
            "POST",
            f"{VIDEOS_PATH}?action=finalizeUpload",
            json={
                "finalizeUploadRequest": {
                    "video": urn,
                    "uploadToken": upload.state.get("upload_token") or "",
                    "uploadedPartIds": list(upload.state["etags"]),
                }
            },
        )
        upload.save(finalized=True)
    wait_until_ready(
        lambda: _available(adapter, VIDEOS_PATH, urn), label="LinkedIn", retry_after=CHECK_AFTER_SECONDS, interval=5.0
    )
    return urn


def _put_parts(adapter: LinkedInAdapter, upload: PendingUpload, video: MediaItem) -> None:
    """PUTs every part LinkedIn has not confirmed yet, saving each ETag as it arrives."""
    etags = list(upload.state.get("etags") or [])
    parts = list(upload.state.get("parts") or [])
    with open_stored(video) as stored:
        for part in parts[len(etags) :]:
            stored.seek(part["first"])
            chunk = stored.read(part["last"] - part["first"] + 1)
            if len(chunk) != part["last"] - part["first"] + 1:
                raise PublishError("The stored video is shorter than when its upload began.", permanent=True)
            response = adapter._request(
                "PUT", part["url"], data=chunk, headers={"Content-Type": "application/octet-stream"}
            )
            etag = response.headers.get("ETag", "")
            if not etag:
                raise PublishError("LinkedIn did not confirm a part of the video (no ETag).", permanent=False)
            etags.append(etag)
            upload.save(etags=etags)


def _put_captions(adapter: LinkedInAdapter, upload: PendingUpload, item: MediaItem) -> dict[str, Any]:
    """Sends the SubRip captions. Returns what happened for the delivery's record; a refused file never stops the
    video (LinkedIn shows it without captions, and the captions can be added on the Page)."""
    try:
        srt = captions_srt(item) or b""
        adapter._request(
            "PUT", str(upload.state["captions_url"]), data=srt, headers={"Content-Type": "application/octet-stream"}
        )
    except RateLimited:
        raise
    except (AdapterError, OSError) as error:
        return {"status": "not sent", "reason": getattr(error, "message", type(error).__name__)}
    return {"status": "sent", "format": "srt"}


def upload_document(adapter: LinkedInAdapter, item: MediaItem, *, idempotency_key: str) -> str:
    """Uploads the PDF once per delivery and returns its urn once LinkedIn processed it. Raises as upload_video."""
    upload = PendingUpload.load(adapter.platform, idempotency_key)
    urn = str(upload.state.get("media_id") or "")
    if not urn:
        value = adapter._request(
            "POST",
            f"{DOCUMENTS_PATH}?action=initializeUpload",
            json={"initializeUploadRequest": {"owner": adapter.organization_urn}},
        ).json()["value"]
        urn = str(value["document"])
        upload.save(media_id=urn, kind="document", upload_url=str(value["uploadUrl"]), uploaded=False)
    if not upload.state.get("uploaded"):
        with open_stored(item) as stored:
            data = stored.read()
        adapter._request(
            "PUT", str(upload.state["upload_url"]), data=data, headers={"Content-Type": "application/octet-stream"}
        )
        upload.save(uploaded=True, finalized=True, check_after=CHECK_AFTER_SECONDS)
    wait_until_ready(
        lambda: _available(adapter, DOCUMENTS_PATH, urn),
        label="LinkedIn",
        retry_after=CHECK_AFTER_SECONDS,
        interval=5.0,
    )
    return urn


def poll_pending(adapter: LinkedInAdapter, upload: PendingUpload) -> bool | None:
    """For reconcile: True when LinkedIn processed the saved media (or its upload never finished: the next attempt
    resumes it), False when processing failed, None while LinkedIn is still at it or could not be asked."""
    if not upload.state.get("finalized"):
        return True
    path = DOCUMENTS_PATH if upload.state.get("kind") == "document" else VIDEOS_PATH
    try:
        return _available(adapter, path, str(upload.state["media_id"]))
    except PublishError as error:
        return False if error.code == "video_processing_failed" else None
    except Exception:  # noqa: BLE001 - any other failure: ask again later
        return None
