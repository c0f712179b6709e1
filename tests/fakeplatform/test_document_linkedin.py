"""A PDF from the media library, end to end: uploaded to the library, attached to a post with its title, approved,
published to a LinkedIn Page through the real adapter against the fake platform (Documents API, then one post
titled with the document's title), and kept by the archive byte for byte with its SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from archive.models import ArchiveBlob, ArchiveEntry, EntryKind
from archive.services import archive_capture
from archive.storage import blob_open
from medialibrary.services import media_upload
from scheduler import publishing, services
from scheduler.models import Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.fakeplatform import FakePlatform
from tests.medialibrary.helpers import pdf_bytes, pdf_upload
from tests.scheduler import make_due

pytestmark = pytest.mark.django_db

ORG = "urn:li:organization:2414183"
FAR = (timezone.now() + dt.timedelta(days=50)).isoformat()
TEXT = "The 2027 parks budget, page by page."


@pytest.fixture(autouse=True)
def _files_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CIVICPOST_ARCHIVE_ROOT = str(tmp_path / "archive")


@pytest.fixture
def fake():
    with FakePlatform(seed=44) as server:
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


def test_a_library_pdf_is_published_to_linkedin_with_its_title_and_archived(fake, personas, channel):
    data = pdf_bytes()
    asset = media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="Budget 2027")
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=TEXT,
        link="",
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        media=[(asset, asset.alt_text)],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    publishing.deliveries_claim_due()
    delivery = Delivery.objects.get(post=post)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    [entry] = fake.ledger.find(platform="linkedin")
    [urn] = fake.linkedin.media
    assert delivery.remote_id == entry.remote_id
    assert entry.text == TEXT
    assert entry.extra["content"] == {"media": {"id": urn, "title": "Budget 2027"}}
    assert fake.linkedin.media[urn]["data"] == data
    assert fake.linkedin.requests == [
        ("POST", "/rest/documents?action=initializeUpload"),
        ("PUT", "upload/document"),
        ("GET", f"/rest/documents/{urn}"),
        ("POST", "/rest/posts"),
    ]

    archive_capture()
    body = ArchiveEntry.objects.get(kind=EntryKind.PUBLICATION).content.body
    [media] = body["media"]
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert media["kept"] is True
    with blob_open(ArchiveBlob.objects.get(sha256=media["sha256"])) as handle:
        assert handle.read() == data
