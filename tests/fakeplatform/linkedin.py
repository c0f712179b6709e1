"""The fake platform's LinkedIn Page endpoints, in the documented shapes of LinkedIn's versioned REST API
(https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/): every /rest/ call needs
`Authorization: Bearer`, `LinkedIn-Version: YYYYMM` and `X-Restli-Protocol-Version: 2.0.0`.

- Posts API: POST /rest/posts -> 201 with the post urn in `x-restli-id` (422 DUPLICATE_POST for an exact repeat);
  GET /rest/posts?q=author&author=<urn>&count=&sortBy=CREATED -> {"elements": [...]} newest first.
- Videos API: POST /rest/videos?action=initializeUpload -> upload instructions in `part_bytes` parts (and a
  captionsUploadUrl when uploadCaptions); PUT each part -> 200 with an ETag; POST ?action=finalizeUpload with the
  ETags in order; GET /rest/videos/<urn> -> PROCESSING (``processing_polls`` reads), then AVAILABLE or
  PROCESSING_FAILED with ``processing_error`` as processingFailureReason (shared with tests/fakeplatform/video.py).
- Documents API: POST /rest/documents?action=initializeUpload -> uploadUrl; PUT the file; GET /rest/documents/<urn>.
A post whose content.media.id names a video or document that is not AVAILABLE is refused (400), as LinkedIn does.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakeplatform.server import _Handler


@dataclass
class LinkedInFake:
    part_bytes: int = 4 * 1024 * 1024
    # Part indexes whose PUT is dropped once, before anything is kept.
    drop_parts: set[int] = field(default_factory=set)
    # urn -> {"kind", "owner", "size", "parts": {index: bytes}, "etags", "captions", "finalized", "polls_left", "data"}
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def reset(self) -> None:
        self.part_bytes = 4 * 1024 * 1024
        self.drop_parts.clear()
        self.media.clear()
        self.requests.clear()


def _error(handler: _Handler, status: int, message: str, code: str = "") -> None:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    handler._json(status, body)


def handle(handler: _Handler, method: str, path: str) -> None:
    fake = handler.fake
    state: LinkedInFake = fake.linkedin
    upload = re.fullmatch(r"/upload/(video|captions|document)/(\d+)(?:/(\d+))?", path)
    if upload and method == "PUT":
        state.requests.append((method, f"upload/{upload[1]}" + (f"/{upload[3]}" if upload[3] else "")))
        _put(handler, state, upload[1], upload[2], upload[3])
        return
    if not path.startswith("/rest/"):
        _error(handler, 404, f"No route for {method} {path}")
        return
    action = handler.query.get("action", "")
    state.requests.append((method, urllib.parse.unquote(path) + (f"?action={action}" if action else "")))
    if not handler.bearer() or handler.bearer() in fake.revoked_tokens:
        _error(handler, 401, "Invalid access token", "REVOKED_ACCESS_TOKEN")
        return
    if not re.fullmatch(r"\d{6}", handler.headers.get("LinkedIn-Version", "")):
        _error(
            handler, 400, "A version must be present. Please specify a version by adding the LinkedIn-Version header."
        )
        return
    if handler.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        _error(handler, 400, "X-Restli-Protocol-Version 2.0.0 is required")
        return
    outcome = handler.fault("linkedin", write=method != "GET")
    if outcome == "answered":
        return
    body = handler.form() if method == "POST" else {}
    kind_path = re.fullmatch(r"/rest/(videos|documents)(?:/([^/]+))?", path)
    if kind_path and method == "POST" and action == "initializeUpload":
        _initialize(handler, state, kind_path[1], body.get("initializeUploadRequest") or {})
    elif kind_path and method == "POST" and action == "finalizeUpload":
        _finalize(handler, state, body.get("finalizeUploadRequest") or {})
    elif kind_path and method == "GET" and kind_path[2]:
        _status(handler, state, urllib.parse.unquote(kind_path[2]))
    elif path == "/rest/posts" and method == "POST":
        _create_post(handler, state, body, outcome)
    elif path == "/rest/posts" and method == "GET":
        author = handler.query.get("author", "")
        count = int(handler.query.get("count") or 10)
        entries = sorted(fake.ledger.find(platform="linkedin", account=author), key=lambda e: -e.seq)[:count]
        elements = [
            {"id": e.remote_id, "author": author, "commentary": e.text, "createdAt": int(e.received_at * 1000)}
            for e in entries
            if not e.deleted
        ]
        handler._json(200, {"elements": elements, "paging": {"start": 0, "count": count, "links": []}})
    else:
        _error(handler, 404, f"No route for {method} {path}")


def _initialize(handler: _Handler, state: LinkedInFake, kind: str, request: dict[str, Any]) -> None:
    owner = str(request.get("owner") or "")
    if not owner.startswith("urn:li:organization:"):
        _error(handler, 400, "/initializeUploadRequest/owner :: Invalid URN")
        return
    media_id = handler.fake.next_id()
    base = f"{handler._base()}{handler.route_prefix}/upload"
    if kind == "documents":
        urn = f"urn:li:document:D{media_id}"
        state.media[urn] = {"kind": "document", "owner": owner, "data": b"", "finalized": False, "polls_left": 0}
        value = {"uploadUrlExpiresAt": 1_900_000_000_000, "uploadUrl": f"{base}/document/{media_id}", "document": urn}
        handler._json(200, {"value": value})
        return
    size = int(request.get("fileSizeBytes") or 0)
    if size <= 0:
        _error(handler, 400, "/initializeUploadRequest/fileSizeBytes :: field is required but not found")
        return
    urn = f"urn:li:video:C{media_id}"
    step = state.part_bytes
    instructions = [
        {"uploadUrl": f"{base}/video/{media_id}/{index}", "firstByte": first, "lastByte": min(first + step, size) - 1}
        for index, first in enumerate(range(0, size, step))
    ]
    state.media[urn] = {
        "kind": "video",
        "owner": owner,
        "size": size,
        "parts": {},
        "etags": [f'"etag-{media_id}-{index}"' for index in range(len(instructions))],
        "captions": b"",
        "finalized": False,
        "polls_left": handler.fake.video.processing_polls,
    }
    value: dict[str, Any] = {
        "uploadUrlsExpireAt": 1_900_000_000_000,
        "video": urn,
        "uploadInstructions": instructions,
        "uploadToken": "",
    }
    if request.get("uploadCaptions"):
        value["captionsUploadUrl"] = f"{base}/captions/{media_id}"
    handler._json(200, {"value": value})


def _put(handler: _Handler, state: LinkedInFake, kind: str, media_id: str, index: str | None) -> None:
    prefix = {"video": "urn:li:video:C", "captions": "urn:li:video:C", "document": "urn:li:document:D"}[kind]
    record = state.media.get(f"{prefix}{media_id}")
    if record is None:
        _error(handler, 404, "Upload not found")
        return
    if kind == "captions":
        record["captions"] = handler._body_bytes
        handler._json(201, {})
        return
    if kind == "document":
        record["data"] = handler._body_bytes
        record["finalized"] = True
        handler._json(201, {})
        return
    part = int(index or 0)
    if part in state.drop_parts:
        state.drop_parts.discard(part)
        from tests.fakeplatform.server import _Drop  # server imports this module

        raise _Drop
    record["parts"][part] = handler._body_bytes
    handler._json(200, {}, {"ETag": record["etags"][part]})


def _finalize(handler: _Handler, state: LinkedInFake, request: dict[str, Any]) -> None:
    record = state.media.get(str(request.get("video") or ""))
    if record is None or record["kind"] != "video":
        _error(handler, 404, "Video not found")
        return
    if list(request.get("uploadedPartIds") or []) != record["etags"]:
        _error(handler, 400, "/finalizeUploadRequest/uploadedPartIds :: the ETags do not match the uploaded parts")
        return
    data = b"".join(record["parts"][index] for index in sorted(record["parts"]))
    if len(data) != record["size"]:
        _error(handler, 400, "The uploaded size does not match fileSizeBytes")
        return
    record["data"] = data
    record["finalized"] = True
    handler._json(200, {})


def _state_of(handler: _Handler, record: dict[str, Any]) -> tuple[str, str]:
    if not record["finalized"]:
        return "WAITING_UPLOAD", ""
    if record["polls_left"] > 0:
        record["polls_left"] -= 1
        return "PROCESSING", ""
    if record["kind"] == "video" and handler.fake.video.processing_error:
        return "PROCESSING_FAILED", handler.fake.video.processing_error
    return "AVAILABLE", ""


def _status(handler: _Handler, state: LinkedInFake, urn: str) -> None:
    record = state.media.get(urn)
    if record is None:
        _error(handler, 404, f"{urn} not found")
        return
    status, reason = _state_of(handler, record)
    body: dict[str, Any] = {"id": urn, "owner": record["owner"], "status": status}
    if reason:
        body["processingFailureReason"] = reason
    if record["kind"] == "video" and status == "AVAILABLE":
        body["duration"] = 4000
    record["last_status"] = status
    handler._json(200, body)


def _create_post(handler: _Handler, state: LinkedInFake, body: dict[str, Any], outcome: str) -> None:
    fake = handler.fake
    author = str(body.get("author") or "")
    text = str(body.get("commentary") or "")
    media = ((body.get("content") or {}).get("media") or {}) if isinstance(body.get("content"), dict) else {}
    media_id = str(media.get("id") or "")
    if media_id.startswith(("urn:li:video:", "urn:li:document:")):
        record = state.media.get(media_id)
        if record is None or record.get("last_status") != "AVAILABLE":
            _error(handler, 400, f"/content/media/id :: {media_id} is not available yet", "MEDIA_ASSET_PROCESSING")
            return
        if media_id.startswith("urn:li:document:") and not media.get("title"):
            _error(handler, 400, "/content/media/title :: field is required for documents")
            return
    earlier = fake.duplicate_of("linkedin", author, text)
    if earlier is not None:
        _error(handler, 422, f"Content is a duplicate of {earlier.remote_id}", "DUPLICATE_POST")
        return
    entry = fake.ledger.add(
        platform="linkedin",
        account=author,
        remote_id=f"urn:li:share:{fake.next_id()}",
        text=text,
        extra={"content": body.get("content") or {}},
    )
    handler.after_accept(outcome, "linkedin")
    handler._json(201, {}, {"x-restli-id": entry.remote_id})
