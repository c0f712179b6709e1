"""Video on Bluesky through the real adapter and the publishing service against the fake platform server: service
auth tokens, the upload limits, uploadVideo, getJobStatus polled without holding a worker, and the
app.bsky.embed.video record with its WebVTT captions, created exactly once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from medialibrary.models import MediaAsset, PlatformUpload
from scheduler import publishing
from scheduler.adapters.bluesky.adapter import record_key_for
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.server import bluesky_did
from tests.fakeplatform.video_helpers import CAPTIONS, stored_video_bytes, video_post

pytestmark = pytest.mark.django_db

HANDLE = "parks.city.example"


@pytest.fixture
def fake():
    with FakePlatform(seed=29) as server:
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.CIVICPOST_PLATFORM_URLS = {"bluesky": f"{fake.url}/bluesky", "bluesky_video": f"{fake.url}/bluesky"}
    return ChannelFactory(
        department=personas.parks,
        platform="bluesky",
        display_name="Parks on Bluesky",
        account_handle=f"@{HANDLE}",
        credentials={"handle": HANDLE, "app_password": "abcd-efgh-ijkl-mnop"},
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    post = video_post(personas, channel)
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


def test_a_video_is_encoded_by_the_video_service_then_posted_once_with_its_captions(fake, personas, channel):
    fake.video.processing_polls = 2
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    [upload] = PlatformUpload.objects.all()
    job_id = upload.state["media_id"]
    job = fake.video.jobs[job_id]
    did = bluesky_did(HANDLE)
    assert (job["did"], job["content_type"], job["size"]) == (did, "video/mp4", len(stored_video_bytes()))
    assert job["name"] == f"{delivery.idempotency_key}.mp4"

    # Still encoding: the reconciler waits without spending an attempt; then done: send again.
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="bluesky")
    assert (delivery.status, entry.extra["rkey"]) == (
        DeliveryStatus.PUBLISHED,
        record_key_for(str(delivery.idempotency_key)),
    )
    embed = entry.extra["record"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["video"]["ref"]["$link"] == job["cid"]
    assert embed["alt"] == "The mayor opens the splash pad"
    asset = MediaAsset.objects.get()
    # The atproto SDK tags nested objects with their lexicon type; the record is valid either way.
    aspect = {k: v for k, v in embed["aspectRatio"].items() if k != "$type"}
    assert aspect == {"width": asset.width, "height": asset.height}
    [caption] = embed["captions"]
    assert caption["lang"] == "en" and caption["file"]["mimeType"] == "text/vtt"
    assert fake.blobs[caption["file"]["ref"]["$link"]]["size"] == len(CAPTIONS)
    assert [r for r in fake.video.requests if r[1].startswith(("com.atproto", "app.bsky.video"))] == [
        ("GET", "com.atproto.server.getServiceAuth?aud=did:web:video.bsky.app&lxm=app.bsky.video.getUploadLimits"),
        ("GET", "app.bsky.video.getUploadLimits"),
        ("GET", "com.atproto.server.getServiceAuth?aud=did:web:127.0.0.1&lxm=com.atproto.repo.uploadBlob"),
        ("POST", "app.bsky.video.uploadVideo"),
        ("GET", "com.atproto.server.getServiceAuth?aud=did:web:video.bsky.app&lxm=app.bsky.video.getJobStatus"),
        ("GET", "app.bsky.video.getJobStatus"),  # the worker's look: encoding
        ("GET", "com.atproto.server.getServiceAuth?aud=did:web:video.bsky.app&lxm=app.bsky.video.getJobStatus"),
        ("GET", "app.bsky.video.getJobStatus"),  # the reconciler's: encoding
        ("GET", "com.atproto.server.getServiceAuth?aud=did:web:video.bsky.app&lxm=app.bsky.video.getJobStatus"),
        ("GET", "app.bsky.video.getJobStatus"),  # the reconciler's: completed (kept, so not asked again)
    ]
    assert not PlatformUpload.objects.exists()


def test_a_failed_encoding_is_permanent_with_the_services_reason(fake, personas, channel):
    fake.video.processing_polls = 1
    fake.video.processing_error = "Video is too long"
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "Bluesky could not process the video (Video is too long)" in delivery.failure_message
    assert fake.ledger.find(platform="bluesky") == []
    assert len(fake.video.jobs) == 1  # uploaded once


def test_a_used_up_daily_limit_uploads_nothing_and_tries_later(fake, personas, channel):
    fake.video.can_upload = False
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    delivery.refresh_from_db()
    assert "daily upload limit" in delivery.failure_message
    assert fake.video.jobs == {}
