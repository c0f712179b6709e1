"""Video on X through the real adapter and the publishing service against the fake platform server: the v2
chunked upload (initialize, append by segment, finalize), STATUS polled while X processes, an upload broken in
the middle resumed from the last segment X confirmed, the post created exactly once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.adapters.x import video as x_video
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.video_helpers import sample_mp4, stored_video_bytes, video_post
from tests.scheduler import make_retry_due

pytestmark = pytest.mark.django_db

CHUNK = 8 * 1024


@pytest.fixture
def fake():
    with FakePlatform(seed=23) as server:
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings, monkeypatch):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.CIVICPOST_PLATFORM_URLS = {"x": fake.url}
    settings.CIVICPOST_X_CONSUMER_KEY = "consumer-key"
    settings.CIVICPOST_X_CONSUMER_SECRET = "consumer-secret"  # noqa: S105 - the fake accepts any
    monkeypatch.setattr(x_video, "CHUNK_BYTES", CHUNK)
    return ChannelFactory(
        department=personas.parks,
        platform="x",
        display_name="Parks on X",
        credentials={
            "access_token": "4242-access-token",
            "access_token_secret": "fake-secret",
            "x_user_id": "4242",
            "username": "cityparks",
        },
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    post = video_post(personas, channel)
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


def _media_calls(fake: FakePlatform) -> list[str]:
    calls = []
    for method, path in fake.request_log:
        if "/2/media" not in path:
            continue
        step = path.split("?")[0].rsplit("/", 1)[-1]
        calls.append(f"{method} {'status' if 'command=STATUS' in path else step}")
    return calls


def _segments() -> int:
    return -(-len(sample_mp4()) // CHUNK)


def test_a_video_is_uploaded_in_segments_polled_while_processing_and_posted_once(fake, personas, channel):
    fake.video.processing_polls = 1
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    [upload] = PlatformUpload.objects.all()
    media_id = upload.state["media_id"]
    assert upload.state["finalized"] is True and upload.state["segments_done"] == _segments()
    record = fake.video.media[media_id]
    assert (record["media_type"], record["category"], record["total"]) == (
        "video/mp4",
        "tweet_video",
        len(sample_mp4()),
    )
    assert bytes(record["received"]) == stored_video_bytes()

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="x")
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, entry.remote_id)
    assert entry.extra["media"] == {"media_ids": [media_id]}
    assert _media_calls(fake) == [
        "POST initialize",
        *["POST append"] * _segments(),
        "POST finalize",
        "GET status",  # the worker's one look: in progress
        "GET status",  # the reconciler's: succeeded
        "GET status",  # the next attempt's: succeeded, then the alt text and the post
        "POST metadata",
    ]
    assert not PlatformUpload.objects.exists()


def test_an_upload_broken_in_the_middle_resumes_from_the_confirmed_segment(fake, personas, channel):
    assert _segments() >= 3
    fake.video.drop_segments = {2}  # the third segment's connection drops before X keeps it
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    [upload] = PlatformUpload.objects.all()
    assert upload.state["segments_done"] == 2 and not upload.state["finalized"]
    make_retry_due(delivery)
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    [media_id] = fake.video.media
    assert bytes(fake.video.media[media_id]["received"]) == stored_video_bytes()
    calls = _media_calls(fake)
    assert calls.count("POST initialize") == 1
    # Segments 0 and 1 once, segment 2 twice (the dropped request, then the resumed one), the rest once.
    assert calls.count("POST append") == _segments() + 1
    assert len(fake.ledger.find(platform="x")) == 1


def test_processing_failed_is_permanent_with_xs_reason(fake, personas, channel):
    fake.video.processing_polls = 1  # the worker sees "in progress"; the reconciler sees "failed"
    fake.video.processing_error = "Unsupported video codec"
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "X could not process the video (Unsupported video codec)" in delivery.failure_message
    assert fake.ledger.find(platform="x") == []


def test_a_rate_limited_initialize_waits_for_xs_reset(fake, personas, channel):
    delivery = _claimed(personas, channel)
    fake.configure(platform="x", script=["rate_limit"])

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    delivery.refresh_from_db()
    assert delivery.next_attempt_at > timezone.now()
    assert fake.ledger.find(platform="x") == []
    assert not PlatformUpload.objects.exists()
