"""Facebook Page reels through the real adapter and the publishing service against the fake platform server: the
Reels Publishing API's exact sequence (start, rupload with offset/file_size, captions as SubRip with its locale,
finish with video_state=PUBLISHED, status polled), one video and one reel per delivery, an upload whose connection
dropped resumed from the bytes Meta kept, Meta's processing error permanent in Meta's words, and a rate limit
waiting for Meta's reset."""

from __future__ import annotations

import shutil

import pytest
from django.utils import timezone

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.adapters.base import ChannelAccount, MediaItem, PostContent
from scheduler.adapters.facebook.adapter import FacebookPageAdapter
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.video_helpers import sample_mp4, stored_video_bytes, video_asset, video_post
from tests.scheduler import DEFAULT_TEXT, make_retry_due

# Reels are 3 to 90 seconds of 9:16: the sample is made with ffmpeg (CI installs it).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the vertical sample video"),
]

PAGE_ID = "104857600000001"
VERTICAL = "270x480"


@pytest.fixture
def fake():
    with FakePlatform(seed=41) as server:
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.CIVICPOST_PLATFORM_URLS = {"facebook": fake.url, "facebook_rupload": fake.url}
    return ChannelFactory(
        department=personas.parks,
        platform="facebook",
        display_name="Parks on Facebook",
        credentials={"page_access_token": "fb-page-token-parks"},
        options={"page_id": PAGE_ID, "page_name": "City Parks"},
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    post = video_post(personas, channel, asset=video_asset(personas, sample_mp4(4, VERTICAL)))
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


def test_a_reel_is_uploaded_captioned_finished_and_published_once(fake, personas, channel):
    fake.video.processing_polls = 1
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN  # Meta still processing
    [upload] = PlatformUpload.objects.all()
    video_id = upload.state["media_id"]
    assert upload.state["finished"] is True

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="facebook")
    assert (delivery.remote_id, entry.remote_id) == (video_id, video_id)
    assert delivery.permalink == f"https://www.facebook.com/reel/{video_id}"
    assert entry.text == DEFAULT_TEXT
    reel = fake.video.reels[video_id]
    assert bytes(reel["received"]) == stored_video_bytes()
    assert reel["captions"] == [{"filename": "captions.en_US.srt", "default_locale": "en_US"}]
    assert fake.video.requests == [
        ("POST", "video_reels:"),  # upload_phase=start
        ("POST", "rupload:offset=0"),
        ("POST", "captions:"),
        ("POST", "video_reels:"),  # upload_phase=finish, video_state=PUBLISHED
        ("GET", "video:status"),  # the worker's one look: processing
        ("GET", "video:status"),  # the reconciler's: published
    ]
    assert fake.video.finishes == 1
    assert not PlatformUpload.objects.exists()


def test_an_upload_dropped_midway_resumes_from_the_bytes_meta_kept(fake, personas, channel):
    fake.video.rupload_drop_after = 4096
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    [upload] = PlatformUpload.objects.all()
    assert upload.state["upload_started"] and not upload.state["uploaded"]
    make_retry_due(delivery)
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    [video_id] = fake.video.reels
    assert bytes(fake.video.reels[video_id]["received"]) == stored_video_bytes()
    assert fake.video.requests[:4] == [
        ("POST", "video_reels:"),
        ("POST", "rupload:offset=0"),  # dropped after 4,096 bytes
        ("GET", "video:status"),  # how much Meta kept: bytes_transferred
        ("POST", "rupload:offset=4096"),  # only the rest
    ]
    assert [call for call in fake.video.requests if call == ("POST", "video_reels:")] == [("POST", "video_reels:")] * 2
    assert fake.video.finishes == 1 and len(fake.ledger.find(platform="facebook")) == 1


def test_processing_failed_is_permanent_with_metas_words(fake, personas, channel):
    fake.video.processing_polls = 1
    fake.video.processing_error = "The video file you selected is in a format that we don't support."
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "Facebook could not process the video (The video file you selected is in a format" in (
        delivery.failure_message
    )
    assert fake.ledger.find(platform="facebook") == []
    assert len(fake.video.reels) == 1 and fake.video.finishes == 1


def test_a_rate_limited_start_waits_for_metas_reset(fake, personas, channel):
    delivery = _claimed(personas, channel)
    fake.configure(platform="facebook", script=["rate_limit"])

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    delivery.refresh_from_db()
    assert delivery.next_attempt_at > timezone.now()
    assert fake.video.reels == {} and fake.ledger.find(platform="facebook") == []
    assert not PlatformUpload.objects.exists()


def _reel(**facts: object) -> PostContent:
    item = MediaItem(url="https://city.example/v.mp4", mime_type="video/mp4", alt_text="Splash pad", **facts)  # type: ignore[arg-type]
    return PostContent(text="Watch", media=(item,))


def test_compose_time_checks_name_the_reel_limits_in_one_sentence():
    adapter = FacebookPageAdapter(ChannelAccount(channel_id=1, display_name="Parks", options={"page_id": PAGE_ID}))
    fits = _reel(duration_seconds=30.0, width=1080, height=1920, video_codec="h264", audio_codec="aac", frame_rate=30)
    assert adapter.validate(fits) == []
    [long] = adapter.validate(_reel(duration_seconds=120.0, width=1080, height=1920))
    assert long.message == "Facebook Page takes videos up to 90 seconds; this one is 2 minutes."
    [short] = adapter.validate(_reel(duration_seconds=2.0))
    assert short.message == "Facebook Page takes videos of at least 3 seconds; this one is 2 seconds."
    image = MediaItem(url="https://city.example/a.jpg", mime_type="image/jpeg", alt_text="Pool")
    mixed = PostContent(text="Watch", media=(image, _reel(duration_seconds=30.0).media[0]))
    assert [p.message for p in adapter.validate(mixed)] == [
        "Facebook takes one video on its own, without images or other videos."
    ]
