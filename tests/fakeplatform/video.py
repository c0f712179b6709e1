"""The fake platform's video endpoints, in each platform's documented shapes (hooked into server.py's
per-platform handlers: a hook answers the request and returns True, or leaves it to the handler).

- Mastodon (https://docs.joinmastodon.org/methods/media/): POST /api/v2/media with a video answers 202 with
  ``url: null``; GET /api/v1/media/:id answers 206 while processing, then 200 with the url, or 422 with the
  processing error.
- X (https://docs.x.com/x-api/media/upload-media): POST /2/media/upload/initialize, POST
  /2/media/upload/{id}/append (multipart `media`, `segment_index`), POST /2/media/upload/{id}/finalize
  (``processing_info``), GET /2/media/upload?command=STATUS&media_id= (pending / in_progress / succeeded /
  failed with ``error``).
- Bluesky's video service (https://docs.bsky.app/docs/tutorials/video): com.atproto.server.getServiceAuth on
  the PDS, app.bsky.video.getUploadLimits, app.bsky.video.uploadVideo (?did=&name=, bytes, service token) and
  app.bsky.video.getJobStatus (JOB_STATE_CREATED, JOB_STATE_ENCODING, JOB_STATE_COMPLETED with a blob, or
  JOB_STATE_FAILED with an error).

`VideoFake` (``fake.video``) keeps what arrived, how many status reads answer "processing" before a media is
done (``processing_polls``), an error to fail processing with (``processing_error``), and append segments to
break (``drop_segments``: the segment is not kept and the connection is closed, as a network drop would).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakeplatform.server import _Handler


@dataclass
class VideoFake:
    processing_polls: int = 0
    processing_error: str = ""
    # X append segments (by segment_index) whose request is dropped once, before anything is kept.
    drop_segments: set[int] = field(default_factory=set)
    # media id -> {"platform", "total", "received" (bytes), "segments", "polls_left", "state", "finalized"}
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Bluesky jobs: job id -> {"did", "polls_left", "blob_cid", "size"}
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Bluesky service tokens issued by getServiceAuth: token -> {"did", "aud", "lxm"}
    service_tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    can_upload: bool = True
    # Facebook reels by video id: {"page", "received", "total", "captions", "finished", "polls_left", "description"};
    # finish requests that made a reel go live; a rupload that keeps this many bytes and then drops the connection.
    reels: dict[str, dict[str, Any]] = field(default_factory=dict)
    finishes: int = 0
    rupload_drop_after: int | None = None

    def reset(self) -> None:
        self.reels.clear()
        self.finishes = 0
        self.rupload_drop_after = None
        self.processing_polls = 0
        self.processing_error = ""
        self.drop_segments.clear()
        self.media.clear()
        self.jobs.clear()
        self.requests.clear()
        self.service_tokens.clear()
        self.can_upload = True

    def _new(self, handler: _Handler, platform: str, **extra: Any) -> tuple[str, dict[str, Any]]:
        media_id = handler.fake.next_id()
        record = {"platform": platform, "polls_left": self.processing_polls, "state": "pending", **extra}
        self.media[media_id] = record
        return media_id, record

    def _advance(self, record: dict[str, Any]) -> str:
        """One status read: "in_progress" while polls are left, then "failed" or "succeeded"."""
        if record["polls_left"] > 0:
            record["polls_left"] -= 1
            record["state"] = "in_progress"
        else:
            record["state"] = "failed" if self.processing_error else "succeeded"
            record["error"] = self.processing_error
        return str(record["state"])


def _is_video_part(body: bytes) -> bool:
    return re.search(rb"Content-Type:\s*video/", body[:4096], re.IGNORECASE) is not None


# --- Mastodon -------------------------------------------------------------------------------------------


def mastodon(handler: _Handler, method: str, path: str) -> bool:
    video: VideoFake = handler.fake.video
    if path == "/api/v2/media" and method == "POST" and _is_video_part(handler._body_bytes):
        fields = handler.form()
        media_id, record = video._new(handler, "mastodon", description=fields.get("description"))
        handler.fake._media[media_id] = {"description": fields.get("description")}
        video.requests.append((method, path))
        handler._json(202, _mastodon_media(handler, media_id, record, ready=False))
        return True
    match = re.fullmatch(r"/api/v1/media/(\d+)", path)
    if match and method == "GET" and match[1] in video.media:
        record = video.media[match[1]]
        video.requests.append((method, path))
        state = video._advance(record)
        if state == "failed":
            handler._json(422, {"error": video.processing_error})
        elif state == "in_progress":
            handler._json(206, _mastodon_media(handler, match[1], record, ready=False))
        else:
            handler._json(200, _mastodon_media(handler, match[1], record, ready=True))
        return True
    return False


def _mastodon_media(handler: _Handler, media_id: str, record: dict[str, Any], *, ready: bool) -> dict[str, Any]:
    base = handler._base()
    return {
        "id": media_id,
        "type": "video",
        "url": f"{base}/media/{media_id}.mp4" if ready else None,
        "preview_url": f"{base}/media/{media_id}_small.png",
        "remote_url": None,
        "text_url": None,
        "meta": {},
        "description": record.get("description"),
        "blurhash": None,
    }


# --- X --------------------------------------------------------------------------------------------------


def x(handler: _Handler, method: str, path: str) -> bool:
    video: VideoFake = handler.fake.video
    if path == "/2/media/upload/initialize" and method == "POST":
        body = json.loads(handler._body_bytes or b"{}")
        if body.get("media_category") not in ("tweet_video", "amplify_video"):
            return False
        media_id, record = video._new(
            handler,
            "x",
            total=int(body.get("total_bytes") or 0),
            media_type=body.get("media_type"),
            category=body.get("media_category"),
            received=bytearray(),
            segments=[],
            finalized=False,
        )
        video.requests.append((method, path))
        handler._json(200, {"data": {"id": media_id, "media_key": f"7_{media_id}", "expires_after_secs": 86400}})
        return True
    match = re.fullmatch(r"/2/media/upload/(\d+)/(append|finalize)", path)
    if match and method == "POST":
        record = video.media.get(match[1])
        if record is None:
            handler._json(400, _x_problem("Invalid Request", f"media_id {match[1]} is not valid"))
            return True
        video.requests.append((method, path))
        if match[2] == "append":
            return _x_append(handler, video, record)
        if len(record["received"]) != record["total"]:
            handler._json(
                400, _x_problem("Invalid Request", "File size does not match the total_bytes given at initialize.")
            )
            return True
        record["finalized"] = True
        record["state"] = "pending" if video.processing_polls or video.processing_error else "succeeded"
        handler._json(200, {"data": _x_media(match[1], record)})
        return True
    if path == "/2/media/upload" and method == "GET" and handler.query.get("command") == "STATUS":
        record = video.media.get(handler.query.get("media_id", ""))
        if record is None:
            return False
        video.requests.append((method, f"{path}?command=STATUS"))
        video._advance(record)
        handler._json(200, {"data": _x_media(handler.query["media_id"], record)})
        return True
    return False


def _x_append(handler: _Handler, video: VideoFake, record: dict[str, Any]) -> bool:
    ctype = handler.headers.get("Content-Type", "")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + handler._body_bytes
    )
    chunk, index = b"", -1
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "media":
            chunk = part.get_payload(decode=True) or b""
        elif name == "segment_index":
            index = int(part.get_content())
    if index in video.drop_segments:
        video.drop_segments.discard(index)
        from tests.fakeplatform.server import _Drop  # server imports this module

        raise _Drop
    if index != len(record["segments"]):
        handler._json(400, _x_problem("Invalid Request", f"segment_index {index} is out of order"))
        return True
    record["segments"].append(len(chunk))
    record["received"].extend(chunk)
    handler._json(200, {"data": {"expires_at": int(time.time()) + 86400}})
    return True


def _x_media(media_id: str, record: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"id": media_id, "media_key": f"7_{media_id}", "size": record["total"]}
    state = record["state"]
    if state in ("pending", "in_progress"):
        data["processing_info"] = {"state": state, "check_after_secs": 1, "progress_percent": 40}
    elif state == "failed":
        data["processing_info"] = {
            "state": "failed",
            "error": {"code": 1, "name": "InvalidMedia", "message": record.get("error") or "Unsupported video"},
        }
    else:
        data["processing_info"] = {"state": "succeeded", "progress_percent": 100}
    return data


def _x_problem(title: str, detail: str) -> dict[str, Any]:
    return {"title": title, "detail": detail, "type": "https://api.twitter.com/2/problems/invalid-request"}


# --- Bluesky --------------------------------------------------------------------------------------------

VIDEO_SERVICE_DID = "did:web:video.bsky.app"


def bluesky(handler: _Handler, method: str, nsid: str) -> bool:
    video: VideoFake = handler.fake.video
    if nsid == "com.atproto.server.getServiceAuth" and method == "GET":
        claims, error = handler._bluesky_claims(handler.bearer(), refresh=False)
        if claims is None:
            handler._xrpc_error(401, error or "AuthenticationRequired", "Authentication Required")
            return True
        token = f"svc-{secrets.token_hex(12)}"
        video.service_tokens[token] = {
            "did": claims["sub"],
            "aud": handler.query.get("aud", ""),
            "lxm": handler.query.get("lxm", ""),
        }
        video.requests.append((method, f"{nsid}?aud={handler.query.get('aud')}&lxm={handler.query.get('lxm')}"))
        handler._json(200, {"token": token})
        return True
    if not nsid.startswith("app.bsky.video."):
        return False
    video.requests.append((method, nsid))
    grant = video.service_tokens.get(handler.bearer())
    if nsid == "app.bsky.video.uploadVideo" and method == "POST":
        if grant is None or grant["lxm"] != "com.atproto.repo.uploadBlob" or not grant["aud"].startswith("did:web:"):
            handler._xrpc_error(401, "Unauthorized", "The service token is not for com.atproto.repo.uploadBlob")
            return True
        data = handler._body_bytes
        from tests.fakeplatform.server import _cid  # server imports this module

        cid = _cid(data, 0x55)
        with handler.fake._lock:
            handler.fake.blobs[cid] = {"did": grant["did"], "mime_type": "video/mp4", "size": len(data)}
        job_id = f"job{handler.fake.next_id()}"
        video.jobs[job_id] = {
            "did": handler.query.get("did", ""),
            "name": handler.query.get("name", ""),
            "content_type": handler.headers.get("Content-Type", ""),
            "size": len(data),
            "cid": cid,
            "polls_left": video.processing_polls,
            "state": "JOB_STATE_CREATED",
        }
        handler._json(200, {"jobStatus": _bluesky_job(job_id, video.jobs[job_id])})
        return True
    if grant is None or grant["aud"] != VIDEO_SERVICE_DID or grant["lxm"] != nsid:
        handler._xrpc_error(401, "Unauthorized", f"The service token is not for {nsid}")
        return True
    if nsid == "app.bsky.video.getUploadLimits":
        limits: dict[str, Any] = {"canUpload": video.can_upload, "remainingDailyVideos": 25}
        limits["remainingDailyBytes"] = 10_000_000_000
        if not video.can_upload:
            limits["message"] = "You have reached your daily upload limit"
        handler._json(200, limits)
        return True
    if nsid == "app.bsky.video.getJobStatus":
        job = video.jobs.get(handler.query.get("jobId", ""))
        if job is None:
            handler._xrpc_error(404, "NotFound", "Job not found")
            return True
        if job["polls_left"] > 0:
            job["polls_left"] -= 1
            job["state"] = "JOB_STATE_ENCODING"
        else:
            job["state"] = "JOB_STATE_FAILED" if video.processing_error else "JOB_STATE_COMPLETED"
            job["error"] = video.processing_error
        handler._json(200, {"jobStatus": _bluesky_job(handler.query["jobId"], job)})
        return True
    return False


def _bluesky_job(job_id: str, job: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = {"jobId": job_id, "did": job["did"], "state": job["state"], "progress": 50}
    if job["state"] == "JOB_STATE_COMPLETED":
        status["progress"] = 100
        status["blob"] = {"$type": "blob", "ref": {"$link": job["cid"]}, "mimeType": "video/mp4", "size": job["size"]}
    elif job["state"] == "JOB_STATE_FAILED":
        status["error"] = job.get("error")
        status["message"] = job.get("error")
    return status


# --- Facebook Page reels --------------------------------------------------------------------------------
# https://developers.facebook.com/docs/video-api/guides/reels-publishing: POST /{page-id}/video_reels
# upload_phase=start -> {video_id, upload_url}; POST /video-upload/{version}/{video-id} (rupload: Authorization:
# OAuth <token>, offset, file_size headers) -> {"success": true}; GET /{video-id}?fields=status; POST
# /{video-id}/captions (captions_file=<name>.<locale>.srt, default_locale); upload_phase=finish, video_state,
# description -> {"success": true}, then processing and publishing as the status shows.


def facebook(handler: _Handler, method: str, path: str) -> bool:
    video: VideoFake = handler.fake.video
    rupload = re.fullmatch(r"/video-upload/v\d+\.\d+/(\d+)", path)
    graph = re.fullmatch(r"/v\d+\.\d+/(\d+)(?:/(video_reels|captions))?", path)
    if rupload is None and graph is None:
        return False
    if graph is not None and graph[2] is None and graph[1] not in video.reels:
        return False  # a Page or a post: server.py answers
    if rupload is not None:
        auth = handler.headers.get("Authorization", "")
        if not auth.startswith("OAuth ") or auth[6:] in handler.fake.revoked_tokens:
            handler._fb_error(400, 190, "Invalid OAuth access token.")
            return True
        return _fb_rupload(handler, video, rupload[1])
    token = handler.bearer()
    if not token or token in handler.fake.revoked_tokens:
        handler._fb_error(400, 190, "Error validating access token: The session has been invalidated.")
        return True
    outcome = handler.fault("facebook", write=method != "GET")
    if outcome == "answered":
        return True
    object_id, edge = graph[1], graph[2]
    video.requests.append((method, f"{edge or 'video'}:{handler.query.get('fields') or ''}"))
    if edge == "video_reels" and method == "POST":
        fields = handler.form()
        phase = fields.get("upload_phase")
        if phase == "start":
            video_id = handler.fake.next_id()
            video.reels[video_id] = {
                "page": object_id,
                "received": bytearray(),
                "total": None,
                "captions": [],
                "finished": False,
                "polls_left": video.processing_polls,
                "description": "",
            }
            upload_url = f"https://rupload.facebook.com/video-upload/v27.0/{video_id}"
            handler._json(200, {"video_id": video_id, "upload_url": upload_url})
            return True
        if phase == "finish":
            reel = video.reels.get(str(fields.get("video_id") or ""))
            if reel is None or reel["page"] != object_id:
                handler._fb_error(400, 100, "(#100) Invalid video_id")
                return True
            if reel["total"] is None or len(reel["received"]) != reel["total"]:
                handler._fb_error(400, 6000, "There was a problem uploading your video file. Please try again.")
                return True
            if fields.get("video_state") != "PUBLISHED":
                handler._fb_error(400, 100, "(#100) video_state must be one of PUBLISHED, DRAFT, SCHEDULED")
                return True
            if not reel["finished"]:
                reel["finished"] = True
                reel["description"] = str(fields.get("description") or "")
                video.finishes += 1
            handler.after_accept(outcome, "facebook")
            handler._json(200, {"success": True})
            return True
        handler._fb_error(400, 100, "(#100) upload_phase must be one of start, finish")
        return True
    reel = video.reels.get(object_id)
    if reel is None:
        handler._fb_error(400, 100, f"(#100) Unknown video {object_id}")
        return True
    if edge == "captions" and method == "POST":
        fields = handler.form()
        captions = fields.get("captions_file") or {}
        name = str(captions.get("filename") or "")
        if not re.fullmatch(r".+\.[a-z]{2}_[A-Z]{2}\.srt", name):
            handler._fb_error(400, 100, "(#100) The captions file name must be filename.locale.srt")
            return True
        reel["captions"].append({"filename": name, "default_locale": fields.get("default_locale")})
        handler._json(200, {"success": True})
        return True
    if method == "GET":
        handler._json(200, {"id": object_id, "status": _fb_status(handler, video, object_id, reel)})
        return True
    if method == "DELETE":
        handler.fake.ledger.delete("facebook", object_id)
        handler._json(200, {"success": True})
        return True
    handler._fb_error(400, 100, "Unsupported request")
    return True


def _fb_rupload(handler: _Handler, video: VideoFake, video_id: str) -> bool:
    reel = video.reels.get(video_id)
    video.requests.append(("POST", f"rupload:offset={handler.headers.get('offset')}"))
    if reel is None:
        handler._json(400, {"debug_info": {"type": "NotFoundError", "message": "Video not found"}})
        return True
    try:
        offset, total = int(handler.headers["offset"]), int(handler.headers["file_size"])
    except (KeyError, ValueError):
        handler._json(
            400,
            {
                "debug_info": {
                    "type": "ParameterValidationError",
                    "message": "HeaderValuePredicate: Header Offset not convertable to unsigned long",
                }
            },
        )
        return True
    if offset != len(reel["received"]):
        handler._json(
            400, {"debug_info": {"type": "OffsetInvalidError", "message": f"Offset must be {len(reel['received'])}"}}
        )
        return True
    reel["total"] = total
    data = handler._body_bytes
    if video.rupload_drop_after is not None:
        keep, video.rupload_drop_after = video.rupload_drop_after, None
        reel["received"].extend(data[:keep])
        from tests.fakeplatform.server import _Drop  # server imports this module

        raise _Drop
    reel["received"].extend(data)
    handler._json(200, {"success": True})
    return True


def _fb_status(handler: _Handler, video: VideoFake, video_id: str, reel: dict[str, Any]) -> dict[str, Any]:
    received, total = len(reel["received"]), reel["total"]
    uploaded = total is not None and received == total
    status: dict[str, Any] = {
        "video_status": "upload_complete" if uploaded else "processing",
        "uploading_phase": {"status": "complete" if uploaded else "in_progress", "bytes_transferred": received},
        "processing_phase": {"status": "not_started"},
        "publishing_phase": {"status": "not_started"},
    }
    if not reel["finished"]:
        return status
    if reel["polls_left"] > 0:
        reel["polls_left"] -= 1
        status["video_status"] = "processing"
        status["processing_phase"] = {"status": "in_progress"}
        status["publishing_phase"] = {"status": "in_progress"}
        return status
    if video.processing_error:
        status["video_status"] = "error"
        status["processing_phase"] = {
            "status": "error",
            "errors": [{"code": 1363008, "message": video.processing_error}],
        }
        return status
    if handler.fake.ledger.get("facebook", video_id) is None:
        handler.fake.ledger.add(
            platform="facebook",
            account=reel["page"],
            remote_id=video_id,
            text=reel["description"],
            extra={"reel": True, "bytes": len(reel["received"]), "captions": list(reel["captions"])},
        )
    status["video_status"] = "ready"
    status["processing_phase"] = {"status": "complete"}
    status["publishing_phase"] = {"status": "complete", "publish_status": "published", "publish_time": int(time.time())}
    return status
