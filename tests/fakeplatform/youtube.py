"""A fake of YouTube's resumable upload and the few Data API calls CivicPost makes, on `responses`, built
from the documented shapes (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol).

It keeps a ledger of the videos it created (a video exists only once its last byte arrived) and can break
the connection in the middle of a chunk after keeping part of it, as a real network drop would."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import requests
import responses

HOST = "https://www.googleapis.com"
INIT_URL = f"{HOST}/upload/youtube/v3/videos"
SESSION_PREFIX = f"{HOST}/upload/youtube/v3/videos?uploadType=resumable&upload_id="
CAPTIONS_URL = f"{HOST}/upload/youtube/v3/captions"
CHANNEL = {
    "kind": "youtube#channel",
    "etag": "x0Hq3XkDg5zQ",
    "id": "UCk5VJmP9sLgR3d1o2CityHall",
    "snippet": {"title": "Springfield City Hall", "customUrl": "@springfieldcityhall", "description": "Official"},
}
_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_QUERY = re.compile(r"bytes \*/(\d+)")


@dataclass
class Session:
    total: int
    resource: dict[str, Any]
    received: bytearray = field(default_factory=bytearray)
    video_id: str = ""


@dataclass
class FakeYouTube:
    mock: responses.RequestsMock
    sessions: dict[str, Session] = field(default_factory=dict)
    videos: list[dict[str, Any]] = field(default_factory=list)
    # Chunk PUTs (by their order, 1-based) to break after keeping this many of their bytes.
    break_chunks: dict[int, int] = field(default_factory=dict)
    # Chunk PUTs to fail with an exception before anything of them arrives (a worker stopped by its time limit).
    crash_chunks: dict[int, Exception] = field(default_factory=dict)
    chunk_puts: int = 0
    init_headers: list[dict[str, str]] = field(default_factory=list)
    # captions.insert: (caption resource, file bytes) of each track received; an error reason to refuse them with.
    captions: list[tuple[dict[str, Any], bytes]] = field(default_factory=list)
    captions_refusal: str = ""

    def install(self) -> FakeYouTube:
        self.mock.add_callback(responses.POST, INIT_URL, callback=self._init)
        self.mock.add_callback(responses.PUT, re.compile(re.escape(SESSION_PREFIX) + r".*"), callback=self._put)
        self.mock.get(f"{HOST}/youtube/v3/channels", json={"kind": "youtube#channelListResponse", "items": [CHANNEL]})
        self.mock.add_callback(responses.POST, re.compile(re.escape(CAPTIONS_URL) + r".*"), callback=self._captions)
        return self

    def _captions(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        """captions.insert (https://developers.google.com/youtube/v3/docs/captions/insert): multipart/related,
        the caption resource then the file."""
        if self.captions_refusal:
            error = {"code": 403, "message": self.captions_refusal, "errors": [{"reason": "insufficientPermissions"}]}
            return 403, {}, json.dumps({"error": error})
        boundary = request.headers["Content-Type"].split("boundary=", 1)[1].encode()
        body = request.body if isinstance(request.body, bytes) else str(request.body).encode()
        parts = [part for part in body.split(b"--" + boundary) if part.strip() not in (b"", b"--")]
        resource = json.loads(parts[0].split(b"\r\n\r\n", 1)[1])
        data = parts[1].split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n")
        self.captions.append((resource, data))
        track = {"kind": "youtube#caption", "id": f"AUieDa{len(self.captions)}", "snippet": resource["snippet"]}
        return 200, {}, json.dumps(track)

    def _init(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        self.init_headers.append(dict(request.headers))
        upload_id = f"AEnB2U{len(self.sessions) + 1:04d}"
        total = int(request.headers["X-Upload-Content-Length"])
        self.sessions[upload_id] = Session(total=total, resource=json.loads(request.body or b"{}"))
        return 200, {"Location": f"{SESSION_PREFIX}{upload_id}"}, ""

    def _state(self, session: Session) -> tuple[int, dict[str, str], str]:
        if session.video_id:
            video = next(v for v in self.videos if v["id"] == session.video_id)
            return 201, {}, json.dumps(video)
        headers = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
        return 308, headers, ""

    def _put(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        session = self.sessions.get(str(request.url).rsplit("upload_id=", 1)[-1])
        if session is None:
            return 404, {}, json.dumps({"error": {"code": 404, "message": "Not Found"}})
        content_range = request.headers.get("Content-Range", "")
        if _QUERY.fullmatch(content_range):
            return self._state(session)
        match = _RANGE.fullmatch(content_range)
        if not match:
            return 400, {}, json.dumps({"error": {"code": 400, "message": "Bad Content-Range"}})
        start, end, total = (int(x) for x in match.groups())
        body = request.body or b""
        data = body if isinstance(body, bytes) else body.encode()
        if start != len(session.received) or total != session.total or len(data) != end - start + 1:
            return 400, {}, json.dumps({"error": {"code": 400, "message": "Range out of order"}})
        self.chunk_puts += 1
        if self.chunk_puts in self.crash_chunks:
            raise self.crash_chunks.pop(self.chunk_puts)
        keep = self.break_chunks.get(self.chunk_puts)
        session.received.extend(data if keep is None else data[:keep])
        if len(session.received) == session.total:
            video = {
                "kind": "youtube#video",
                "id": f"dQw4w9WgXc{len(self.videos)}",
                "snippet": session.resource.get("snippet", {}),
                "status": {**session.resource.get("status", {}), "uploadStatus": "uploaded"},
            }
            self.videos.append(video)
            session.video_id = video["id"]
        if keep is not None:
            # The connection drops: what arrived is kept (a complete file is a video), the answer is lost.
            raise requests.ConnectionError("Connection reset by peer")
        return self._state(session)

    def data_of(self, video_id: str) -> bytes:
        return bytes(next(s.received for s in self.sessions.values() if s.video_id == video_id))
