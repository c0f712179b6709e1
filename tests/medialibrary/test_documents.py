"""PDF documents in the media library: a real PDF is kept byte for byte as the "document" kind with its title;
a file named .pdf that is not one is refused; the title is required at upload, on edit and before submitting;
documents are capped at LinkedIn's 100 MB."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.storage import default_storage

from civicpost.exceptions import ApplicationError
from medialibrary import services
from medialibrary.models import MediaAsset, MediaKind
from tests.medialibrary.helpers import image_bytes, pdf_bytes, pdf_upload, upload

pytestmark = pytest.mark.django_db


def test_a_real_pdf_is_kept_as_a_document_with_its_title(personas):
    data = pdf_bytes()
    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="  Budget 2027  "
    )
    assert (asset.kind, asset.mime_type, asset.alt_text) == (MediaKind.DOCUMENT, "application/pdf", "Budget 2027")
    assert asset.is_document and not asset.is_video
    assert (asset.size_bytes, asset.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert asset.file_name.startswith("library/parks/") and asset.file_name.endswith(".pdf")
    assert asset.original_name == "budget-2027.pdf"
    with default_storage.open(asset.file_name, "rb") as handle:
        assert handle.read() == data


@pytest.mark.parametrize(
    "data", [b"<html>not a pdf</html>", image_bytes("PNG"), b"%PD", b""], ids=["html", "png", "short", "empty"]
)
def test_a_file_named_pdf_with_other_bytes_is_refused_and_nothing_is_stored(personas, data):
    with pytest.raises(ApplicationError) as refused:
        services.media_upload(
            user=personas.alice, department=personas.parks, upload=pdf_upload("minutes.pdf", data), alt_text="Minutes"
        )
    assert (
        refused.value.message == "This file is named like a PDF but is not one. Save it again as a PDF and upload that."
    )
    assert not MediaAsset.objects.exists()


def test_a_pdf_needs_a_title_at_upload(personas):
    with pytest.raises(ApplicationError) as refused:
        services.media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="  ")
    assert refused.value.message == services.TITLE_REQUIRED
    assert not MediaAsset.objects.exists()


def test_a_documents_title_cannot_be_removed_later(personas):
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="Plan")
    with pytest.raises(ApplicationError):
        services.media_update(user=personas.alice, asset=asset, alt_text="")
    asset.refresh_from_db()
    assert asset.alt_text == "Plan"
    services.media_update(user=personas.alice, asset=asset, alt_text="Park plan 2027")
    asset.refresh_from_db()
    assert asset.alt_text == "Park plan 2027"


def test_a_pdf_over_100_mb_is_refused(personas):
    big = upload("atlas.pdf", pdf_bytes(), "application/pdf")
    big.size = services.MAX_DOCUMENT_BYTES + 5 * 1024 * 1024
    with pytest.raises(ApplicationError) as refused:
        services.media_upload(user=personas.alice, department=personas.parks, upload=big, alt_text="Atlas")
    assert refused.value.message == "This document is 105.0 MB; the limit is 100.0 MB."
    assert not MediaAsset.objects.exists()


def test_the_same_pdf_twice_names_the_first_copy(personas):
    first = services.media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="A")
    with pytest.raises(services.MediaAlreadyInLibrary) as again:
        services.media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="A")
    assert again.value.asset == first


def test_the_gate_asks_a_document_for_its_title_not_for_alt_text():
    untitled_pdf = {"mime_type": "application/pdf", "alt_text": ""}
    titled_pdf = {"mime_type": "application/pdf", "alt_text": "Budget"}
    bare_image = {"mime_type": "image/jpeg", "alt_text": ""}
    assert services.media_gate_problems([titled_pdf]) == []
    assert services.media_gate_problems([untitled_pdf]) == [services.TITLE_REQUIRED]
    assert services.media_gate_problems([bare_image, untitled_pdf]) == [
        services.ALT_TEXT_REQUIRED,
        services.TITLE_REQUIRED,
    ]


def test_the_library_pages_show_a_document_as_a_pdf_never_as_an_image(personas):
    from django.test import Client
    from django.urls import reverse

    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="Budget 2027"
    )
    client = Client()
    client.force_login(personas.alice)
    pages = {
        "library": reverse("medialibrary:library"),
        "edit": reverse("medialibrary:asset_edit", args=[asset.pk]),
        "delete": reverse("medialibrary:asset_delete", args=[asset.pk]),
    }
    html = {key: client.get(url).content.decode() for key, url in pages.items()}
    for page in html.values():
        assert f'<img src="{asset.src}"' not in page and f'src="{asset.src}" alt' not in page
    assert "PDF document" in html["library"]
    assert "Open the PDF document" in html["edit"] and "Delete this document…" in html["edit"]
    assert "Delete this document?" in html["delete"]
