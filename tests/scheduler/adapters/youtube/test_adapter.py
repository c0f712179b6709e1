"""The YouTube adapter against a local fake of the resumable upload (tests/fakeplatform/youtube.py): the
exact session start (video resource from the post and channel options, privacy and scheduled publishAt),
chunks with Content-Range, an upload interrupted mid-chunk resumed from the Range the session reports, a
retried delivery resuming its own session instead of uploading twice, reconcile asking the session, the
daily quota counted per channel and enforced, posts without a video refused, and the dispatcher."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses
import time_machine
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from scheduler import publishing
from scheduler.adapters.base import (
    ChannelAccount,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.youtube.adapter import CHUNK_QUANTUM, NEEDS_VIDEO, YouTubeAdapter, video_title
from scheduler.models import Channel, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.fakeplatform.youtube import CHANNEL, HOST, SESSION_PREFIX, FakeYouTube
from tests.scheduler import make_due, tick
from tests.scheduler.adapters.meta_helpers import approved_post_with_media

pytestmark = pytest.mark.django_db

TOKEN = "ya29.youtube-access-SECRET"
FAR = "2030-01-01T00:00:00+00:00"
CREDENTIALS = {"access_token": TOKEN, "access_expires_at": FAR, "refresh_token": "1//refresh"}
TEXT = "Council meeting, December 4\nThe full recording of Thursday's council meeting."
# Three and a half chunks of 256 KiB: the last chunk is short.
VIDEO_BYTES = bytes(range(256)) * (CHUNK_QUANTUM * 7 // 2 // 256)


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeYouTube(mock).install()


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(YouTubeAdapter, "chunk_size", CHUNK_QUANTUM)


@pytest.fixture
def video(settings, tmp_path) -> MediaItem:
    settings.MEDIA_ROOT = str(tmp_path)
    path = default_storage.save("posts/council.mp4", ContentFile(VIDEO_BYTES))
    return MediaItem(
        url=f"https://city.example/media/{path}", mime_type="video/mp4", path=path, size_bytes=len(VIDEO_BYTES)
    )


def adapter(options: dict | None = None) -> YouTubeAdapter:
    return YouTubeAdapter(
        ChannelAccount(
            channel_id=1,
            display_name="Springfield City Hall",
            credentials=dict(CREDENTIALS),
            options={"channel_id": CHANNEL["id"], **(options or {})},
        )
    )


def chunk_ranges(fake: FakeYouTube) -> list[str]:
    return [
        c.request.headers["Content-Range"]
        for c in fake.mock.calls
        if c.request.method == "PUT" and not c.request.headers["Content-Range"].startswith("bytes */")
    ]


# --- validate ----------------------------------------------------------------------------------------------


def test_a_post_without_a_video_is_refused_in_one_sentence():
    assert [p.message for p in adapter().validate(PostContent(text=TEXT))] == [NEEDS_VIDEO]
    image = MediaItem(url="https://city.example/a.png", mime_type="image/png", alt_text="a")
    assert [p.message for p in adapter().validate(PostContent(text=TEXT, media=(image,)))] == [NEEDS_VIDEO]
    with pytest.raises(PublishError) as raised:
        adapter().publish(PostContent(text=TEXT), idempotency_key="k")
    assert raised.value.permanent is True


def test_title_is_the_first_line_without_angle_brackets_and_cut_to_100_characters(video):
    assert video_title("  \n<b>Budget</b> hearing\nmore") == "bBudget/b hearing"
    assert len(video_title("x" * 150)) == 100
    assert adapter().validate(PostContent(text=TEXT, media=(video,))) == []


# --- the resumable upload ------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC), tick=False)
def test_the_session_starts_with_the_video_resource_then_sends_every_chunk(fake, video, small_chunks):
    result = adapter({"privacy_status": "public", "publish_delay_minutes": 90}).publish(
        PostContent(text=TEXT, link="https://city.example/council", media=(video,)), idempotency_key="delivery-7"
    )

    start = fake.mock.calls[0].request
    assert start.url == f"{HOST}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status"
    assert start.headers["Authorization"] == f"Bearer {TOKEN}"
    assert start.headers["X-Upload-Content-Length"] == str(len(VIDEO_BYTES))
    assert start.headers["X-Upload-Content-Type"] == "video/mp4"
    assert json.loads(start.body) == {
        "snippet": {
            "title": "Council meeting, December 4",
            "description": f"{TEXT}\n\nhttps://city.example/council",
            "categoryId": "25",
            "defaultLanguage": "en",
        },
        # A delay publishes through YouTube's own schedule: private until publishAt.
        "status": {"privacyStatus": "private", "selfDeclaredMadeForKids": False, "publishAt": "2026-12-05T21:30:00Z"},
    }
    total = len(VIDEO_BYTES)
    q = CHUNK_QUANTUM
    assert chunk_ranges(fake) == [
        f"bytes 0-{q - 1}/{total}",
        f"bytes {q}-{2 * q - 1}/{total}",
        f"bytes {2 * q}-{3 * q - 1}/{total}",
        f"bytes {3 * q}-{total - 1}/{total}",
    ]
    assert result.remote_id == "dQw4w9WgXc0"
    assert result.permalink == "https://www.youtube.com/watch?v=dQw4w9WgXc0"
    assert fake.data_of(result.remote_id) == VIDEO_BYTES


def test_an_upload_interrupted_mid_chunk_resumes_from_the_range_the_session_reports(fake, video, small_chunks):
    # The second chunk breaks after 1000 of its bytes arrived; the session then reports bytes=0-(q+999).
    fake.break_chunks = {2: 1000}
    result = adapter().publish(PostContent(text=TEXT, media=(video,)), idempotency_key="k")

    total, q = len(VIDEO_BYTES), CHUNK_QUANTUM
    queries = [c for c in fake.mock.calls if c.request.headers.get("Content-Range") == f"bytes */{total}"]
    assert len(queries) == 1
    assert queries[0].request.body in (None, b"", "")
    assert chunk_ranges(fake) == [
        f"bytes 0-{q - 1}/{total}",
        f"bytes {q}-{2 * q - 1}/{total}",  # broken after 1000 bytes
        f"bytes {q + 1000}-{2 * q + 999}/{total}",
        f"bytes {2 * q + 1000}-{3 * q + 999}/{total}",
        f"bytes {3 * q + 1000}-{total - 1}/{total}",
    ]
    assert len(fake.videos) == 1
    assert fake.data_of(result.remote_id) == VIDEO_BYTES


def test_a_lost_answer_to_the_last_chunk_finds_the_finished_video_without_a_second_upload(fake, video, small_chunks):
    fake.break_chunks = {4: CHUNK_QUANTUM}  # the last (short) chunk arrives whole; its answer is lost
    result = adapter().publish(PostContent(text=TEXT, media=(video,)), idempotency_key="k")
    assert len(fake.videos) == 1
    assert result.remote_id == fake.videos[0]["id"]
    assert len(chunk_ranges(fake)) == 4  # nothing re-sent: the session said it was complete


def test_a_retried_delivery_resumes_its_own_session_instead_of_uploading_a_second_video(fake, video, small_chunks):
    fake.break_chunks = {2: 0, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0}  # the network stays down: resuming does not help
    first = adapter()
    with pytest.raises(PublishError) as raised:
        first.publish(PostContent(text=TEXT, media=(video,)), idempotency_key="delivery-9")
    assert raised.value.permanent is False
    session = first.updated_options["youtube_upload"]
    assert session["key"] == "delivery-9"
    assert session["uri"].startswith(SESSION_PREFIX)

    fake.break_chunks = {}
    again = adapter({"youtube_upload": session})
    result = again.publish(PostContent(text=TEXT, media=(video,)), idempotency_key="delivery-9")

    assert len(fake.sessions) == 1  # no second session, so no second video
    assert len(fake.videos) == 1
    assert fake.data_of(result.remote_id) == VIDEO_BYTES


def test_reconcile_asks_the_session(fake, video, small_chunks):
    content = PostContent(text=TEXT, media=(video,))
    now = dt.datetime.now(tz=dt.UTC)
    assert adapter().reconcile(content, idempotency_key="k", sent_at=now) is None  # never started: no video

    fake.break_chunks = {2: 10, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0}
    first = adapter()
    with pytest.raises(PublishError):
        first.publish(content, idempotency_key="k")
    options = first.updated_options
    assert adapter(options).reconcile(content, idempotency_key="k", sent_at=now) is None  # incomplete: no video

    fake.break_chunks = {}
    done = adapter(options).publish(content, idempotency_key="k")
    found = adapter(options).reconcile(content, idempotency_key="k", sent_at=now)
    assert found.remote_id == done.remote_id
    assert adapter(options).reconcile(content, idempotency_key="another", sent_at=now) is None


def test_a_session_that_cannot_be_asked_is_an_unknown_outcome(fake, video):
    uri = "https://uploads.example/upload/youtube/v3/videos?upload_id=unreachable"  # the fake answers nothing there
    options = {"youtube_upload": {"key": "k", "uri": uri}}
    with pytest.raises(OutcomeUnknown):
        adapter(options).reconcile(
            PostContent(text=TEXT, media=(video,)), idempotency_key="k", sent_at=dt.datetime.now(tz=dt.UTC)
        )


# --- quota ----------------------------------------------------------------------------------------------------


@time_machine.travel(dt.datetime(2026, 12, 5, 20, 0, tzinfo=dt.UTC), tick=False)
def test_each_call_is_counted_per_channel_and_work_beyond_the_daily_quota_is_refused(fake, video, settings):
    settings.CIVICPOST_YOUTUBE_DAILY_UPLOADS = 1
    settings.CIVICPOST_YOUTUBE_DAILY_QUOTA_UNITS = 2
    yt = adapter()
    yt.check_connection()
    yt.publish(PostContent(text=TEXT, media=(video,)), idempotency_key="k1")
    assert yt.updated_options["youtube_quota"] == {"day": "2026-12-05", "units": 1, "uploads": 1}

    calls_before = len(fake.mock.calls)
    with pytest.raises(RateLimited) as raised:
        yt.publish(PostContent(text=TEXT, media=(video,)), idempotency_key="k2")
    assert raised.value.code == "youtube_daily_quota"
    # Midnight Pacific Time (08:00 UTC) is 12 hours away.
    assert raised.value.retry_after == 12 * 3600
    assert len(fake.mock.calls) == calls_before  # refused without asking YouTube

    with time_machine.travel(dt.datetime(2026, 12, 6, 8, 0, 1, tzinfo=dt.UTC), tick=False):
        assert yt.quota() == {"day": "2026-12-06", "units": 0, "uploads": 0}


def test_youtubes_own_quota_exceeded_waits_until_midnight_pacific(fake, video):
    fake.mock.replace(
        responses.POST,
        f"{HOST}/upload/youtube/v3/videos",
        status=403,
        json={
            "error": {
                "code": 403,
                "message": "The request cannot be completed because you have exceeded your quota.",
                "errors": [{"message": "quota", "domain": "youtube.quota", "reason": "quotaExceeded"}],
            }
        },
    )
    with pytest.raises(RateLimited) as raised:
        adapter().publish(PostContent(text=TEXT, media=(video,)), idempotency_key="k")
    assert raised.value.code == "google_quota_exceeded"


def test_check_connection_names_the_channel_and_the_quota_used(fake):
    check = adapter().check_connection()
    assert check.ok
    assert check.message.startswith("Connected to Springfield City Hall. Today: 1 of 10000 API units")
    call = fake.mock.calls[0].request
    assert call.url == f"{HOST}/youtube/v3/channels?part=snippet&mine=true"
    other = YouTubeAdapter(
        ChannelAccount(channel_id=1, display_name="x", credentials=dict(CREDENTIALS), options={"channel_id": "UCother"})
    )
    assert other.check_connection().ok is False


# --- through the dispatcher ------------------------------------------------------------------------------------


def test_an_approved_post_with_a_video_is_uploaded_once_through_the_dispatcher(fake, video, small_chunks, personas):
    channel = ChannelFactory(
        department=personas.parks,
        platform="youtube",
        display_name="Springfield City Hall",
        credentials=dict(CREDENTIALS),
        options={"channel_id": CHANNEL["id"], "privacy_status": "unlisted"},
    )
    assert isinstance(adapter_for_channel(channel), YouTubeAdapter)
    media = [{"url": video.url, "mime_type": "video/mp4", "path": video.path, "size_bytes": len(VIDEO_BYTES)}]
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=channel, text=TEXT, media=media
    )
    fake.break_chunks = {3: 500}

    tick(times=2)

    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, "dQw4w9WgXc0")
    assert len(fake.sessions) == 1 and len(fake.videos) == 1
    assert json.loads(fake.mock.calls[0].request.body)["status"]["privacyStatus"] == "unlisted"
    channel = Channel.objects.get(pk=channel.pk)
    assert channel.options["youtube_quota"]["uploads"] == 1
    assert channel.options["youtube_upload"]["uri"].startswith(SESSION_PREFIX)


def test_delete_and_metrics_are_counted_against_the_quota(fake):
    fake.mock.delete(f"{HOST}/youtube/v3/videos", status=204)
    fake.mock.get(
        f"{HOST}/youtube/v3/videos",
        json={"items": [{"id": "vid1", "statistics": {"viewCount": "120", "likeCount": "8", "commentCount": "2"}}]},
    )
    yt = adapter()
    yt.delete("vid1")
    assert yt.fetch_metrics("vid1") == {"views": 120, "likes": 8, "replies": 2}
    delete, metrics = fake.mock.calls
    assert delete.request.url == f"{HOST}/youtube/v3/videos?id=vid1"
    assert metrics.request.url == f"{HOST}/youtube/v3/videos?part=statistics&id=vid1"
    assert yt.updated_options["youtube_quota"]["units"] == 51


def test_a_worker_stopped_mid_upload_resumes_the_same_session_on_the_next_attempt(fake, video, small_chunks, personas):
    """The task's soft time limit (or any crash) stops the upload half-way: the session is saved on the
    channel, reconcile proves no video exists yet, and the next attempt resumes it: one video."""
    channel = ChannelFactory(
        department=personas.parks,
        platform="youtube",
        display_name="Springfield City Hall",
        credentials=dict(CREDENTIALS),
        options={"channel_id": CHANNEL["id"]},
    )
    media = [{"url": video.url, "mime_type": "video/mp4", "path": video.path, "size_bytes": len(VIDEO_BYTES)}]
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=channel, text=TEXT, media=media
    )
    fake.crash_chunks = {3: RuntimeError("SoftTimeLimitExceeded")}

    tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN
    assert Channel.objects.get(pk=channel.pk).options["youtube_upload"]["uri"].startswith(SESSION_PREFIX)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    make_due(post)
    tick()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert len(fake.sessions) == 1 and len(fake.videos) == 1
    assert fake.data_of(delivery.remote_id) == VIDEO_BYTES


def test_metrics_read_50_videos_per_call_and_a_video_youtube_no_longer_lists_is_removed(fake):
    from scheduler.adapters.base import MetricsReading, Removed

    ids = [f"vid{n}" for n in range(52)]
    fake.mock.get(
        f"{HOST}/youtube/v3/videos",
        json={
            "kind": "youtube#videoListResponse",
            "items": [
                # vid0: likes hidden by the channel (no likeCount); vid1 deleted or private: not listed.
                {"kind": "youtube#video", "id": "vid0", "statistics": {"viewCount": "120", "commentCount": "2"}},
                *[
                    {
                        "kind": "youtube#video",
                        "id": f"vid{n}",
                        "statistics": {"viewCount": "5", "likeCount": "1", "commentCount": "0"},
                    }
                    for n in range(2, 50)
                ],
            ],
        },
    )
    yt = adapter()
    readings = yt.fetch_metrics_batch(ids)
    [call] = fake.mock.calls
    assert call.request.url == f"{HOST}/youtube/v3/videos?part=statistics&id={'%2C'.join(ids[:50])}"
    assert yt.metrics_batch_size == 50 and len(readings) == 50
    assert readings["vid0"] == MetricsReading(
        counts={"views": 120, "replies": 2}, raw={"id": "vid0", "viewCount": "120", "commentCount": "2"}
    )
    assert readings["vid0"].not_reported == ("likes", "shares", "quotes", "clicks")
    assert isinstance(readings["vid1"], Removed)
    assert yt.updated_options["youtube_quota"]["units"] == 1
