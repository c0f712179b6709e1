"""YouTube (Data API v3): the channel connection, a daily quota kept per channel, and the resumable upload
that publishes a post's video.

ACCESS A CITY MUST OBTAIN. A Google Cloud project with the YouTube Data API v3 enabled and an OAuth client
(CIVICPOST_GOOGLE_CLIENT_ID / _SECRET). Scopes youtube.upload and youtube.readonly are sensitive: Google
verifies the app, and videos uploaded by an unverified app (created after 28 July 2020) are locked private
until the project passes YouTube's API compliance audit
(https://developers.google.com/youtube/v3/docs/videos/insert#request-body). More quota than the default
needs the same audit (YouTube API Services quota extension form). Tested against a local fake only.

Quota (https://developers.google.com/youtube/v3/determine_quota_cost, read December 2026): a project has
10,000 units a day for all methods except search.list and videos.insert, which now have their own buckets
of 100 calls a day each (cost 1 per call). Earlier versions of the page charged videos.insert 1,600 units
from the shared 10,000; COSTS below follows the current page. Quotas reset at midnight Pacific Time. Every
request costs, even an invalid one. CivicPost keeps a count per channel (options["youtube_quota"]: day,
units, uploads), refuses a call that would pass CIVICPOST_YOUTUBE_DAILY_QUOTA_UNITS or
CIVICPOST_YOUTUBE_DAILY_UPLOADS with RateLimited until midnight PT, and hands the new count back through
`updated_options`. (Google counts per project; the per-channel count keeps one busy channel from using the
whole project's day. Two workers on the same channel at once can each miss the other's count.)
    channels.list 1   videos.list 1   videos.delete 50   videos.insert 1 (uploads bucket)

Resumable upload (https://developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
    1. POST {base}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status
       headers X-Upload-Content-Length, X-Upload-Content-Type; body the video resource:
       {"snippet": {"title" (<= 100 chars, no < >), "description" (<= 5,000 bytes, no < >), "categoryId",
        "defaultLanguage"}, "status": {"privacyStatus": "public" | "unlisted" | "private",
        "publishAt" (ISO 8601; only with "private"), "selfDeclaredMadeForKids": false}}
       -> 200, the session URI in the Location header
    2. PUT <session URI> one chunk at a time (a multiple of 256 KiB) with Content-Range: bytes a-b/total
       -> 308 Resume Incomplete with Range: bytes=0-N (the next chunk starts at N+1; no Range: nothing kept)
       -> 200/201 with the video resource ({"id", "status": {"uploadStatus": "uploaded"}}) after the last one
    3. After an interruption (connection lost, 5xx): PUT <session URI> with an empty body and
       Content-Range: bytes */total -> 308 with Range (resume from there) or 200/201 (already complete);
       404 means the session expired (sessions last about a week): start again.
The session URI is kept in options["youtube_upload"] with the delivery's idempotency key before any byte
is sent, so a retried delivery resumes the same session instead of uploading a second video, and
reconcile() asks the session: complete -> the video; incomplete or expired -> no video exists (YouTube
creates the video only when the last byte arrives), so the upload may be resumed.

Other calls: GET {base}/youtube/v3/channels?part=snippet&mine=true (connect, check_connection);
GET {base}/youtube/v3/videos?part=statistics&id= (metrics); DELETE {base}/youtube/v3/videos?id= -> 204.
Errors (https://developers.google.com/youtube/v3/docs/errors) map through scheduler/adapters/google/client.py:
403 quotaExceeded -> RateLimited until midnight PT; 400 invalidTitle / invalidDescription /
mediaBodyRequired -> permanent; 401 -> renew once, then AuthExpired; 403 forbidden -> AuthExpired;
5xx on the final chunk -> the upload is queried, never blindly repeated.
Limits: 256 GB or 12 hours per file; title 100 characters; description 5,000 bytes. Captions: the post's
captions file is sent with captions.insert after the upload (youtube/video.py; scope youtube.force-ssl).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import IO, Any, ClassVar

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    ChannelAccount,
    ConnectionCheck,
    MediaItem,
    MetricsReading,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    Problem,
    PublishError,
    PublishResult,
    RateLimited,
    Removed,
    TextLength,
)
from scheduler.adapters.google.client import (
    GoogleAPI,
    classify,
    json_body,
    quota_day,
    seconds_until_quota_reset,
)
from scheduler.adapters.http import platform_base_url
from scheduler.adapters.media import open_stored
from scheduler.adapters.youtube.video import insert_captions

API_HOST = "https://www.googleapis.com"
UPLOAD_PATH = "/upload/youtube/v3/videos"
CHANNELS_PATH = "/youtube/v3/channels"
VIDEOS_PATH = "/youtube/v3/videos"
SCOPES = (
    "https://www.googleapis.com/auth/youtube.upload",
    "https://www.googleapis.com/auth/youtube.readonly",
    # captions.insert needs it (youtube/video.py).
    "https://www.googleapis.com/auth/youtube.force-ssl",
)
LABEL = "YouTube"

TITLE_LIMIT = 100
DESCRIPTION_LIMIT_BYTES = 5000
PRIVACY_STATUSES = ("public", "unlisted", "private")
DEFAULT_CATEGORY = "25"  # News & Politics
CHUNK_QUANTUM = 256 * 1024
MAX_RESUMES = 5
UPLOADS_BUCKET = "uploads"
COSTS: dict[str, tuple[str, int]] = {
    "channels.list": ("units", 1),
    "videos.list": ("units", 1),
    "videos.delete": ("units", 50),
    "videos.insert": (UPLOADS_BUCKET, 1),
    "captions.insert": ("units", 400),
}
NEEDS_VIDEO = "YouTube needs a video: attach one video file to publish this post there."
_RANGE = re.compile(r"bytes=0-(\d+)")


def is_video(item: MediaItem) -> bool:
    return item.mime_type.startswith("video/")


def video_title(text: str) -> str:
    """The post's first line, without the < and > YouTube refuses, cut to 100 characters."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    title = first.replace("<", "").replace(">", "")
    return title if len(title) <= TITLE_LIMIT else title[: TITLE_LIMIT - 1].rstrip() + "…"


def video_description(content: PostContent) -> str:
    description = content.text_with_link().replace("<", "‹").replace(">", "›")
    encoded = description.encode("utf-8")
    if len(encoded) <= DESCRIPTION_LIMIT_BYTES:
        return description
    return encoded[: DESCRIPTION_LIMIT_BYTES - 3].decode("utf-8", errors="ignore") + "…"


class YouTubeAdapter(PlatformAdapter):
    platform = "youtube"
    label = LABEL
    max_media = 1
    requires_alt_text = False  # a video has captions, not alt text (the captions gate comes with video support)
    chunk_size: ClassVar[int] = 32 * CHUNK_QUANTUM  # 8 MiB

    def __init__(self, account: ChannelAccount) -> None:
        super().__init__(account)
        self.api = GoogleAPI(self, label=LABEL)
        self.base_url = platform_base_url("youtube", API_HOST)

    # --- Quota --------------------------------------------------------------------------------------

    def quota(self) -> dict[str, Any]:
        """Today's count for this channel (a new day starts at zero)."""
        stored = self.account.options.get("youtube_quota") or {}
        if stored.get("day") != quota_day():
            return {"day": quota_day(), "units": 0, "uploads": 0}
        return dict(stored)

    def _limits(self) -> dict[str, int]:
        return {
            "units": int(settings.CIVICPOST_YOUTUBE_DAILY_QUOTA_UNITS),
            UPLOADS_BUCKET: int(settings.CIVICPOST_YOUTUBE_DAILY_UPLOADS),
        }

    def _spend(self, method: str) -> None:
        """Counts one call of `method`, or raises RateLimited (until midnight PT) when it would pass today's
        limit. The count is kept even when the call then fails: Google charges invalid requests too."""
        bucket, cost = COSTS[method]
        count = self.quota()
        limit = self._limits()[bucket]
        if int(count.get(bucket, 0)) + cost > limit:
            what = "video uploads" if bucket == UPLOADS_BUCKET else "API units"
            raise RateLimited(
                f"This YouTube channel has used today's {limit} {what}; CivicPost tries again after midnight "
                "Pacific Time.",
                retry_after=seconds_until_quota_reset(),
                code="youtube_daily_quota",
            )
        count[bucket] = int(count.get(bucket, 0)) + cost
        self._learned_options({"youtube_quota": count})

    def _call(self, method: str, http_method: str, path: str, **kwargs: Any) -> requests.Response:
        self._spend(method)
        return self.api.request(http_method, f"{self.base_url}{path}", **kwargs)

    # --- Contract -------------------------------------------------------------------------------------

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(video_description(content).encode("utf-8")), limit=DESCRIPTION_LIMIT_BYTES)

    def validate(self, content: PostContent) -> list[Problem]:
        videos = [item for item in content.media if is_video(item)]
        if not videos:
            return [Problem(NEEDS_VIDEO, "media")]
        problems: list[Problem] = []
        if len(content.media) > 1:
            problems.append(Problem("YouTube takes one video per post, and no images.", "media"))
        if not video_title(content.text):
            problems.append(Problem("Write a first line: it becomes the video's title on YouTube."))
        return problems

    def video_resource(self, content: PostContent, *, now: dt.datetime | None = None) -> dict[str, Any]:
        """Returns the video resource sent when the upload starts, from the post and the channel's options
        (privacy_status: public / unlisted / private; publish_delay_minutes: upload as private and let
        YouTube publish it that long after, once processed; category_id; made_for_kids)."""
        options = self.account.options
        privacy = str(options.get("privacy_status") or "public")
        if privacy not in PRIVACY_STATUSES:
            privacy = "private"
        status: dict[str, Any] = {
            "privacyStatus": privacy,
            "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False)),
        }
        delay = int(options.get("publish_delay_minutes") or 0)
        if delay > 0 and privacy == "public":
            publish_at = (now or timezone.now()) + dt.timedelta(minutes=delay)
            status["privacyStatus"] = "private"  # YouTube only schedules private videos
            status["publishAt"] = publish_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
        return {
            "snippet": {
                "title": video_title(content.text),
                "description": video_description(content),
                "categoryId": str(options.get("category_id") or DEFAULT_CATEGORY),
                "defaultLanguage": content.language or "en",
            },
            "status": status,
        }

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        """Uploads the post's video with the resumable protocol (resuming this delivery's own session when
        there is one). Returns the video id and its watch URL. Raises PublishError(permanent) for a post
        without a video."""
        videos = [item for item in content.media if is_video(item)]
        if not videos:
            raise PublishError(NEEDS_VIDEO, permanent=True, code="youtube_needs_video")
        video = videos[0]
        stream = open_stored(video)
        try:
            total = video.size_bytes or _stream_size(stream)
            session_uri = self._session_for(idempotency_key)
            resume = bool(session_uri)
            if not session_uri:
                session_uri = self.start_session(self.video_resource(content), total=total, mime_type=video.mime_type)
                self._learned_options({"youtube_upload": {"key": idempotency_key, "uri": session_uri}})
            body = self.upload(session_uri, stream, total=total, resume=resume)
        finally:
            stream.close()
        video_id = str(body.get("id") or "")
        if not video_id:
            raise OutcomeUnknown("YouTube finished the upload without a video id.", raw=body)
        captions = insert_captions(self, video_id, video, language=content.language)
        return PublishResult(remote_id=video_id, permalink=watch_url(video_id), raw={**body, "captions": captions})

    def _session_for(self, idempotency_key: str) -> str:
        stored = self.account.options.get("youtube_upload") or {}
        return str(stored.get("uri") or "") if stored.get("key") == idempotency_key else ""

    # --- The resumable upload client ------------------------------------------------------------------

    def start_session(self, resource: dict[str, Any], *, total: int, mime_type: str) -> str:
        """Starts a resumable session (counted as one videos.insert). Returns the session URI. Nothing is
        published by this call, so every failure is safe to retry."""
        try:
            response = self._call(
                "videos.insert",
                "POST",
                f"{UPLOAD_PATH}?uploadType=resumable&part=snippet,status",
                json=resource,
                headers={"X-Upload-Content-Length": str(total), "X-Upload-Content-Type": mime_type},
            )
        except OutcomeUnknown as error:
            # A lost answer here leaves at most an unused session: no video exists until the upload ends.
            raise PublishError(f"{error.message} No video was created.", permanent=False, raw=error.raw) from error
        location = response.headers.get("Location", "")
        if not location:
            raise PublishError("YouTube started no upload session.", permanent=False, raw=json_body(response))
        return location

    def upload(
        self,
        session_uri: str,
        stream: IO[bytes],
        *,
        total: int,
        resume: bool = False,
        on_chunk: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Sends the file from wherever the session stands, chunk by chunk; after an interruption asks the
        session how far it got and carries on (up to MAX_RESUMES times). Returns the video resource.

        Raises OutcomeUnknown when the session cannot be asked after an interruption (the last chunk may
        have completed the video), PublishError(permanent=False) when resuming did not help, and the
        classified error of a refusal."""
        offset: int | dict[str, Any] = self.query_session(session_uri, total=total) if resume else 0
        resumes = 0
        while True:
            if isinstance(offset, dict):
                return offset
            end = min(offset + self.chunk_size, total) - 1
            stream.seek(offset)
            chunk = stream.read(end - offset + 1)
            try:
                response = self.api.request(
                    "PUT",
                    session_uri,
                    data=chunk,
                    headers={"Content-Length": str(len(chunk)), "Content-Range": f"bytes {offset}-{end}/{total}"},
                    ok=(308,),
                    creates=True,
                    allow_redirects=False,
                )
            except (OutcomeUnknown, PublishError) as error:
                if isinstance(error, PublishError) and error.permanent:
                    raise
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise PublishError(
                        f"The upload to YouTube kept breaking ({error.message}); it will resume later.",
                        permanent=False,
                        raw=error.raw,
                    ) from error
                offset = self.query_session(session_uri, total=total)
                continue
            if on_chunk is not None:
                on_chunk(end + 1)
            offset = self._next_offset(response)

    def query_session(self, session_uri: str, *, total: int) -> int | dict[str, Any]:
        """Asks the session how far it got (PUT, empty body, Content-Range: bytes */total). Returns the
        next byte to send, or the video resource when the upload is already complete. Raises
        OutcomeUnknown when the session cannot be asked, PublishError(permanent=False, code
        "youtube_session_expired") when it no longer exists (no video was made: start again)."""
        try:
            response = self.api.request(
                "PUT",
                session_uri,
                headers={"Content-Length": "0", "Content-Range": f"bytes */{total}"},
                ok=(308, 404, 410),
                creates=True,
                allow_redirects=False,
            )
        except PublishError as error:
            if error.permanent:
                raise
            raise OutcomeUnknown(f"Could not ask YouTube how far the upload got: {error.message}") from error
        if response.status_code == 308:
            return self._next_offset(response)
        if response.status_code in (200, 201):
            return json_body(response)
        if response.status_code in (404, 410):
            self._learned_options({"youtube_upload": {}})
            raise PublishError(
                "The YouTube upload session expired before the video was complete; it starts again.",
                permanent=False,
                code="youtube_session_expired",
            )
        raise classify(response, label=LABEL, creates=False)  # pragma: no cover - 2xx/308/404/410 only

    @staticmethod
    def _next_offset(response: requests.Response) -> int | dict[str, Any]:
        if response.status_code in (200, 201):
            return json_body(response)
        match = _RANGE.match(response.headers.get("Range", ""))
        return int(match.group(1)) + 1 if match else 0

    # --- Reconcile, delete, metrics, connection --------------------------------------------------------

    def reconcile(
        self,
        content: PostContent,
        *,
        idempotency_key: str,
        sent_at: dt.datetime,
        first_sent_at: dt.datetime | None = None,
    ) -> PublishResult | None:
        """Asks this delivery's upload session. Returns the video when the upload completed; None when no
        video exists (no session, an incomplete one — publishing resumes it —, or an expired one); raises
        OutcomeUnknown when the session cannot be asked."""
        session_uri = self._session_for(idempotency_key)
        if not session_uri:
            return None
        total = next((item.size_bytes for item in content.media if is_video(item) and item.size_bytes), None)
        if total is None:
            raise OutcomeUnknown("CivicPost does not know the video's size, so it cannot ask YouTube.")
        try:
            state = self.query_session(session_uri, total=total)
        except PublishError as error:
            if error.code == "youtube_session_expired":
                return None
            raise OutcomeUnknown(error.message, raw=error.raw) from error
        if isinstance(state, dict) and state.get("id"):
            return PublishResult(remote_id=str(state["id"]), permalink=watch_url(str(state["id"])), raw=state)
        return None

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        self._call("videos.delete", "DELETE", VIDEOS_PATH, params={"id": remote_id}, ok=(404,))

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        reading = self.fetch_metrics_batch([remote_id]).get(remote_id)
        return dict(reading.counts) if isinstance(reading, MetricsReading) else {}

    # videos.list takes up to 50 comma-separated ids for one quota unit
    # (https://developers.google.com/youtube/v3/docs/videos/list#parameters).
    metrics_batch_size = 50

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """Reads up to 50 videos' statistics in one videos.list call. A video left out of `items` is deleted
        or no longer public to this channel (Removed); a statistic YouTube leaves out (likes hidden, comments
        off) is not reported, never 0."""
        ids = remote_ids[: self.metrics_batch_size]
        body = json_body(
            self._call("videos.list", "GET", VIDEOS_PATH, params={"part": "statistics", "id": ",".join(ids)})
        )
        found = {str(item.get("id")): item.get("statistics") or {} for item in body.get("items") or []}
        readings: dict[str, MetricsReading | Removed] = {}
        names = {"viewCount": "views", "likeCount": "likes", "commentCount": "replies"}
        for video_id in ids:
            if video_id not in found:
                readings[video_id] = Removed(reason="YouTube no longer lists this video: deleted, or made private.")
                continue
            stats = found[video_id]
            counts = {name: int(stats[key]) for key, name in names.items() if stats.get(key) is not None}
            readings[video_id] = MetricsReading(counts=counts, raw={"id": video_id, **stats})
        return readings

    def my_channel(self) -> dict[str, Any]:
        """Returns the signed-in account's channel (channels.list?mine=true). Raises AdapterError."""
        body = json_body(self._call("channels.list", "GET", CHANNELS_PATH, params={"part": "snippet", "mine": "true"}))
        items = body.get("items") or []
        if not items:
            raise PublishError("This Google account has no YouTube channel.", permanent=True, code="youtube_no_channel")
        return dict(items[0])

    def check_connection(self) -> ConnectionCheck:
        try:
            channel = self.my_channel()
        except AdapterError as error:
            return ConnectionCheck(ok=False, message=error.message)
        expected = str(self.account.options.get("channel_id") or "")
        if expected and channel.get("id") != expected:
            return ConnectionCheck(ok=False, message="The stored sign-in belongs to another YouTube channel.")
        count = self.quota()
        return ConnectionCheck(
            ok=True,
            message=(
                f"Connected to {(channel.get('snippet') or {}).get('title') or channel.get('id')}. Today: "
                f"{count['units']} of {self._limits()['units']} API units and {count['uploads']} of "
                f"{self._limits()[UPLOADS_BUCKET]} uploads used."
            ),
        )


def watch_url(video_id: str) -> str:
    return f"https://www.youtube.com/watch?v={video_id}"


def _stream_size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def channel_for(credentials: dict[str, Any]) -> tuple[dict[str, Any], YouTubeAdapter]:
    """Returns the channel of freshly obtained credentials and the adapter that read it (its options hold
    the quota spent). Raises AdapterError."""
    adapter = YouTubeAdapter(ChannelAccount(channel_id=0, display_name="", credentials=credentials))
    return adapter.my_channel(), adapter
