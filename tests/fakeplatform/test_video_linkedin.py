"""LinkedIn Page video and documents through the real adapter and the publishing service against the fake platform
server: the Videos API's exact sequence (initializeUpload with uploadCaptions, each part PUT and its ETag kept, the
captions as SubRip, finalizeUpload with the ETags in order, the status polled until AVAILABLE, then one POST
/rest/posts naming the video), an upload broken at a part resumed from the next unconfirmed part, LinkedIn's
PROCESSING_FAILED permanent in LinkedIn's words, 429 waiting, a dropped answer to the post reconciled without a
second post, and a PDF through the Documents API."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.adapters.base import ChannelAccount, MediaItem, PostContent
from scheduler.adapters.linkedin.adapter import ONE_VIDEO_OR_DOCUMENT, LinkedInAdapter
from scheduler.models import Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.fakeplatform.video_helpers import sample_mp4, stored_video_bytes, video_asset, video_post
from tests.scheduler import DEFAULT_TEXT, make_retry_due

# LinkedIn videos are 3 seconds at least: the sample is made with ffmpeg (CI installs it).
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg makes the 4-second sample video"),
]

ORG = "urn:li:organization:2414183"
PART = 8 * 1024
FAR = (timezone.now() + dt.timedelta(days=50)).isoformat()
SRT = b"1\n00:00:00,000 --> 00:00:01,000\nWelcome to the splash pad.\n"


@pytest.fixture
def fake():
    with FakePlatform(seed=43) as server:
        server.linkedin.part_bytes = PART
        yield server


@pytest.fixture
def channel(personas, fake: FakePlatform, settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2
    settings.CIVICPOST_PLATFORM_URLS = {"linkedin": f"{fake.url}/linkedin"}
    return ChannelFactory(
        department=personas.parks,
        platform="linkedin",
        display_name="Parks on LinkedIn",
        credentials={"access_token": "li-token-parks", "expires_at": FAR},
        options={"organization_urn": ORG},
    )


def _claimed(personas, channel) -> Delivery:  # noqa: ANN001
    post = video_post(personas, channel, asset=video_asset(personas, sample_mp4(4)))  # LinkedIn: 3 s at least
    publishing.deliveries_claim_due()
    return Delivery.objects.get(post=post)


def _parts() -> int:
    return -(-len(sample_mp4(4)) // PART)


def _video_urn(fake: FakePlatform) -> str:
    [urn] = [urn for urn, record in fake.linkedin.media.items() if record["kind"] == "video"]
    return urn


def test_a_video_is_uploaded_in_parts_with_captions_polled_and_posted_once(fake, personas, channel):
    fake.video.processing_polls = 1
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN  # LinkedIn processing
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED  # AVAILABLE: post it
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="linkedin")
    urn = _video_urn(fake)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, entry.remote_id)
    assert entry.text == DEFAULT_TEXT
    assert entry.extra["content"] == {"media": {"id": urn, "title": "The mayor opens the splash pad"}}
    record = fake.linkedin.media[urn]
    assert record["data"] == stored_video_bytes() and record["captions"] == SRT
    video_path = f"/rest/videos/{urn}"
    assert fake.linkedin.requests == [
        ("POST", "/rest/videos?action=initializeUpload"),
        *[("PUT", f"upload/video/{index}") for index in range(_parts())],
        ("PUT", "upload/captions"),
        ("POST", "/rest/videos?action=finalizeUpload"),
        ("GET", video_path),  # the worker's one look: PROCESSING
        ("GET", video_path),  # the reconciler's: AVAILABLE
        ("GET", video_path),  # the next attempt's: AVAILABLE, then the post
        ("POST", "/rest/posts"),
    ]
    assert not PlatformUpload.objects.exists()


def test_an_upload_broken_at_a_part_resumes_from_the_next_unconfirmed_part(fake, personas, channel):
    assert _parts() >= 3
    fake.linkedin.drop_parts = {2}
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    [upload] = PlatformUpload.objects.all()
    assert len(upload.state["etags"]) == 2 and not upload.state["finalized"]
    make_retry_due(delivery)
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert fake.linkedin.media[_video_urn(fake)]["data"] == stored_video_bytes()
    calls = fake.linkedin.requests
    assert calls.count(("POST", "/rest/videos?action=initializeUpload")) == 1
    assert calls.count(("PUT", "upload/video/2")) == 2  # the dropped request, then the resumed one
    assert calls.count(("PUT", "upload/video/0")) == 1 and calls.count(("PUT", "upload/video/1")) == 1
    assert len(fake.ledger.find(platform="linkedin")) == 1


def test_processing_failed_is_permanent_with_linkedins_words(fake, personas, channel):
    fake.video.processing_polls = 1
    fake.video.processing_error = "Video transcoding failed: unsupported pixel format"
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert "LinkedIn could not process the video (Video transcoding failed: unsupported pixel format)" in (
        delivery.failure_message
    )
    assert fake.ledger.find(platform="linkedin") == []


def test_a_throttled_initialize_waits_before_trying_again(fake, personas, channel):
    delivery = _claimed(personas, channel)
    fake.configure(platform="linkedin", script=["rate_limit"])

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.RETRY_WAIT
    delivery.refresh_from_db()
    # LinkedIn sends no reset time: the adapter's documented default wait (15 minutes).
    assert delivery.next_attempt_at > timezone.now() + dt.timedelta(minutes=14)
    assert fake.linkedin.media == {} and fake.ledger.find(platform="linkedin") == []
    assert not PlatformUpload.objects.exists()


def test_a_dropped_answer_to_the_post_is_reconciled_without_a_second_post(fake, personas, channel):
    # Writes: initializeUpload, finalizeUpload, then the post, which LinkedIn keeps before the connection drops.
    fake.configure(platform="linkedin", script=["ok", "ok", "drop"])
    delivery = _claimed(personas, channel)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    [upload] = PlatformUpload.objects.all()
    assert upload.state["post_sent"] is True
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="linkedin")
    assert delivery.remote_id == entry.remote_id
    assert fake.linkedin.requests.count(("POST", "/rest/posts")) == 1


def test_a_pdf_goes_through_the_documents_api_and_is_posted_with_its_title(fake, channel):
    name = default_storage.save("library/parks/budget-2027.pdf", ContentFile(b"%PDF-1.7\n%fake budget\n%%EOF\n"))
    adapter = LinkedInAdapter(
        ChannelAccount(
            channel_id=channel.pk, display_name="Parks", credentials=channel.credentials, options=channel.options
        )
    )
    pdf = MediaItem(
        url="https://city.example/budget.pdf", mime_type="application/pdf", alt_text="Budget 2027", path=name
    )
    content = PostContent(text="The 2027 budget, page by page.", media=(pdf,))
    assert adapter.validate(content) == []

    result = adapter.publish(content, idempotency_key="delivery-doc-1")

    [entry] = fake.ledger.find(platform="linkedin")
    [urn] = fake.linkedin.media
    assert result.remote_id == entry.remote_id
    assert entry.extra["content"] == {"media": {"id": urn, "title": "Budget 2027"}}
    assert fake.linkedin.media[urn]["data"] == b"%PDF-1.7\n%fake budget\n%%EOF\n"
    assert fake.linkedin.requests == [
        ("POST", "/rest/documents?action=initializeUpload"),
        ("PUT", "upload/document"),
        ("GET", f"/rest/documents/{urn}"),
        ("POST", "/rest/posts"),
    ]
    assert not PlatformUpload.objects.exists()


def test_compose_time_checks_name_linkedins_video_limits_in_one_sentence():
    adapter = LinkedInAdapter(ChannelAccount(channel_id=1, display_name="Parks", options={"organization_urn": ORG}))

    def content(*items: MediaItem) -> PostContent:
        return PostContent(text="Watch", media=items)

    def video(**facts: object) -> MediaItem:
        return MediaItem(url="https://city.example/v.mp4", mime_type="video/mp4", alt_text="Council", **facts)  # type: ignore[arg-type]

    assert adapter.validate(content(video(duration_seconds=600.0, width=1920, height=1080))) == []
    [long] = adapter.validate(content(video(duration_seconds=31 * 60.0)))
    assert long.message == "LinkedIn Page takes videos up to 30 minutes; this one is 31 minutes."
    [short] = adapter.validate(content(video(duration_seconds=2.0)))
    assert short.message == "LinkedIn Page takes videos of at least 3 seconds; this one is 2 seconds."
    image = MediaItem(url="https://city.example/a.jpg", mime_type="image/jpeg", alt_text="Pool")
    assert [p.message for p in adapter.validate(content(image, video()))] == [ONE_VIDEO_OR_DOCUMENT]
    big_pdf = MediaItem(url="https://x/b.pdf", mime_type="application/pdf", alt_text="Plan", size_bytes=101 * 2**20)
    assert [p.message for p in adapter.validate(content(big_pdf))] == ["LinkedIn takes documents up to 100 MB."]
