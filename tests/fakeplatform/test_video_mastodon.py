"""Video on Mastodon through the real adapter and the publishing service against the fake platform server:
asynchronous processing (202, then 206 until the attachment is done) polled without holding a worker, resumed
from the saved media id, and the status created exactly once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.video_helpers import video_post

pytestmark = pytest.mark.django_db

TOKEN = "mastodon-token-parks"


@pytest.fixture
def fake():
    with FakePlatform(seed=17) as server:
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    from django.core.cache import cache  # the instance limits are cached per URL

    cache.clear()
    return ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        display_name="Parks on Mastodon",
        credentials={"access_token": TOKEN},
        options={"instance_url": fake.url, "max_characters": 500},
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    post = video_post(personas, channel)
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


def _media_requests(fake: FakePlatform) -> list[tuple[str, str]]:
    return [(m, p.split("?")[0]) for m, p in fake.request_log if "/media" in p]


def test_a_video_still_processing_is_polled_later_and_posted_once_without_a_second_upload(fake, personas, channel):
    fake.video.processing_polls = 2  # two status reads answer 206 before the attachment is ready
    delivery = _claimed(personas, channel)

    # The worker uploads, sees 206 once, lets go: nothing posted, the media id kept.
    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    delivery.refresh_from_db()
    assert "still processing the video" in delivery.failure_message
    [upload] = PlatformUpload.objects.all()
    media_id = upload.state["media_id"]
    assert (upload.platform, upload.key, upload.state.get("post_sent")) == (
        "mastodon",
        str(delivery.idempotency_key),
        None,
    )
    assert fake.ledger.find(platform="mastodon") == []

    # The reconciler asks again (206: still processing), spending no attempt; then 200: send again.
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    delivery.refresh_from_db()
    assert delivery.next_attempt_at > timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="mastodon")
    assert (delivery.status, delivery.remote_id, delivery.attempts) == (DeliveryStatus.PUBLISHED, entry.remote_id, 2)
    assert entry.extra["media_ids"] == [media_id]
    assert _media_requests(fake) == [
        ("POST", "/api/v2/media"),
        ("GET", f"/api/v1/media/{media_id}"),
        ("GET", f"/api/v1/media/{media_id}"),
        ("GET", f"/api/v1/media/{media_id}"),
        ("GET", f"/api/v1/media/{media_id}"),
    ]
    assert fake.video.media[media_id]["description"] == "The mayor opens the splash pad"
    assert not PlatformUpload.objects.exists()


def test_a_video_mastodon_could_not_process_fails_for_good_with_the_servers_reason(fake, personas, channel):
    fake.video.processing_polls = 1
    fake.video.processing_error = "Error processing thumbnail for uploaded media"
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.failure_message == (
        "Mastodon could not process the video (Error processing thumbnail for uploaded media). Export it again as "
        "MP4 (H.264/AAC) and attach that."
    )
    assert fake.ledger.find(platform="mastodon") == []
    assert [m for m, p in _media_requests(fake) if m == "POST"] == ["POST"]  # uploaded once


def test_a_video_processed_at_once_is_posted_in_one_attempt(fake, personas, channel):
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    [entry] = fake.ledger.find(platform="mastodon")
    assert len(entry.extra["media_ids"]) == 1
    assert not PlatformUpload.objects.exists()


def test_a_rate_limited_upload_waits_for_the_reset(fake, personas, channel):
    delivery = _claimed(personas, channel)
    fake.configure(platform="mastodon", script=["rate_limit"])

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    assert fake.ledger.find(platform="mastodon") == []
