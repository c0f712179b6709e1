"""Instagram Reels and Threads video through the real adapters and the publishing service against the fake platform
server: one container per delivery, its status_code polled without holding a worker, published once; Meta's ERROR
is a permanent failure with Meta's own words."""

from __future__ import annotations

import shutil

import pytest
from django.utils import timezone

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.video_helpers import sample_mp4, video_asset, video_post

# Reels need 3 seconds: the sample is made with ffmpeg (CI installs it; .ci/run).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the 4-second sample video"),
]

CASES = {
    "instagram": {
        "credentials": {"access_token": "ig-token-parks"},
        "options": {"ig_user_id": "17841400000000001", "flavour": "facebook_login", "username": "cityparks"},
        "media_type": "REELS",
        "error_words": "Instagram could not process the video (Error: Unsupported audio codec)",
    },
    "threads": {
        "credentials": {"access_token": "threads-token-parks"},
        "options": {"threads_user_id": "26123456789012345", "username": "cityparks"},
        "media_type": "VIDEO",
        "error_words": "Threads could not process the video (Unsupported audio codec)",
    },
}
PLATFORMS = pytest.mark.parametrize("platform", list(CASES))


@pytest.fixture
def fake():
    with FakePlatform(seed=31) as server:
        yield server


def _channel(personas, fake: FakePlatform, settings, platform: str):  # noqa: ANN001, ANN202
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.SITE_URL = "https://city.example"  # Meta fetches media from a public https address
    settings.CIVICPOST_PLATFORM_URLS = {platform: f"{fake.url}/{platform}"}
    case = CASES[platform]
    return ChannelFactory(
        department=personas.parks,
        platform=platform,
        display_name=f"Parks on {platform}",
        credentials=case["credentials"],
        options=case["options"],
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    # Reels are at least 3 seconds long.
    post = video_post(personas, channel, asset=video_asset(personas, sample_mp4(4)))
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


@PLATFORMS
def test_a_video_container_still_processing_is_published_later_and_only_once(fake, personas, settings, platform):
    channel = _channel(personas, fake, settings, platform)
    fake.configure(platform=platform, container_in_progress_polls=2)
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    [upload] = PlatformUpload.objects.all()
    container = fake.containers[upload.state["media_id"]]
    assert container["media_type"] == CASES[platform]["media_type"]
    assert container["media"]["video_url"].startswith("https://city.example/media/library/parks/")

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN  # still IN_PROGRESS
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform=platform)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, entry.remote_id)
    assert len(fake.containers) == 1  # never a second container
    assert not PlatformUpload.objects.exists()


@PLATFORMS
def test_a_video_meta_could_not_process_fails_for_good_with_metas_words(fake, personas, settings, platform):
    channel = _channel(personas, fake, settings, platform)
    fake.configure(platform=platform, container_in_progress_polls=1)
    fake.video.processing_error = "Unsupported audio codec"
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert CASES[platform]["error_words"] in delivery.failure_message
    assert fake.ledger.find(platform=platform) == []
    assert len(fake.containers) == 1
