"""YouTube captions: the post's captions file sent as the video's captions track once the upload finished.

captions.insert (https://developers.google.com/youtube/v3/docs/captions/insert):
    POST {base}/upload/youtube/v3/captions?uploadType=multipart&part=snippet
    multipart/related: the caption resource {"snippet": {"videoId", "language", "name", "isDraft": false}}, then
    the file (WebVTT and SubRip are among the formats YouTube reads) -> 200 the caption resource {"id", ...}
Quota: 400 units (https://developers.google.com/youtube/v3/determine_quota_cost). Scope: youtube.force-ssl (the
upload scope is not enough): a channel connected before CivicPost asked for it gets 403 insufficientPermissions
until a department admin reconnects it.

The video is already live when captions are sent, so a refused captions track never turns the delivery into a
failure (that would invite a second upload): the answer is kept in the delivery's record (`raw["captions"]`) and
the captions can be added in YouTube Studio.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from scheduler.adapters.base import AdapterError, MediaItem, PublishError
from scheduler.adapters.google.client import json_body
from scheduler.adapters.media import open_stored

if TYPE_CHECKING:
    from scheduler.adapters.youtube.adapter import YouTubeAdapter

CAPTIONS_UPLOAD_PATH = "/upload/youtube/v3/captions"
CAPTIONS_NAME = "Captions"


def insert_captions(adapter: YouTubeAdapter, video_id: str, item: MediaItem, *, language: str) -> dict[str, Any]:
    """Sends the item's captions file as the video's captions track. Returns what happened, for the record:
    {"status": "sent", "id"} or {"status": "not sent", "reason"} (never raises an AdapterError: see above)."""
    if not item.captions_path:
        reason = "burned into the picture" if item.captions_burned_in else "no captions file"
        return {"status": "not sent", "reason": reason}
    boundary = f"civicpost-{uuid.uuid4().hex}"
    resource = {"snippet": {"videoId": video_id, "language": language or "en", "name": CAPTIONS_NAME, "isDraft": False}}
    try:
        with open_stored(MediaItem(url=item.captions_url, mime_type="text/vtt", path=item.captions_path)) as stored:
            captions = stored.read()
        body = (
            (
                f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{json.dumps(resource)}\r\n"
                f"--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + captions
            + f"\r\n--{boundary}--\r\n".encode()
        )
        response = adapter._call(
            "captions.insert",
            "POST",
            f"{CAPTIONS_UPLOAD_PATH}?uploadType=multipart&part=snippet",
            data=body,
            headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        )
    except (AdapterError, PublishError) as error:
        return {"status": "not sent", "reason": error.message}
    return {"status": "sent", "id": str(json_body(response).get("id") or "")}
