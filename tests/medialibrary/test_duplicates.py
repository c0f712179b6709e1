"""The same file uploaded again is not stored twice: the department's library copy (with its alt text) is
offered instead, in the composer and on the library page (issue 11, item 33)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from medialibrary import services
from medialibrary.models import MediaAsset
from scheduler.models import Post
from tests.medialibrary.helpers import jpeg_upload, mp4_bytes, upload
from tests.scheduler.test_composer import compose_data


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def stored_files(tmp_path) -> list[str]:  # noqa: ANN001
    return sorted(str(p) for p in (tmp_path / "media").rglob("*") if p.is_file())


def test_the_same_image_again_is_refused_naming_the_library_copy_and_nothing_is_stored(personas, tmp_path):
    first = services.media_upload(
        user=personas.alice, department=personas.parks, upload=jpeg_upload("pool.jpg"), alt_text="The city pool"
    )
    files = stored_files(tmp_path)
    # Another name and camera data that cleaning removes: still the same picture.
    with pytest.raises(services.MediaAlreadyInLibrary) as refused:
        services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("IMG_0001.jpg"))
    assert refused.value.asset == first
    assert "This file is already in the media library as “pool.jpg”" in refused.value.message
    assert MediaAsset.objects.count() == 1
    assert stored_files(tmp_path) == files

    video = services.media_upload(
        user=personas.alice, department=personas.parks, upload=upload("council.mp4", mp4_bytes(), "video/mp4")
    )
    with pytest.raises(services.MediaAlreadyInLibrary) as again:
        services.media_upload(
            user=personas.alice, department=personas.parks, upload=upload("copy.mp4", mp4_bytes(), "video/mp4")
        )
    assert again.value.asset == video


def test_another_department_or_an_explicit_copy_stores_the_file(personas):
    services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("pool.jpg"))
    services.media_upload(user=personas.carol, department=personas.library, upload=jpeg_upload("pool.jpg"))
    services.media_upload(
        user=personas.alice, department=personas.parks, upload=jpeg_upload("pool.jpg"), allow_duplicate=True
    )
    assert MediaAsset.objects.count() == 3


def test_uploading_in_the_composer_twice_attaches_the_library_copy_with_its_alt_text(personas):
    alice = Client()
    alice.force_login(personas.alice)
    create = reverse("scheduler:post_create")
    alice.post(create, compose_data(personas, media_action="upload", upload=jpeg_upload("splash.jpg")))
    existing = MediaAsset.objects.get()
    services.media_update(user=personas.alice, asset=existing, alt_text="Children in a splash pad")

    # The person starts again and uploads the same picture: no second "No alt text yet" copy.
    response = alice.post(create, compose_data(personas, media_action="upload", upload=jpeg_upload("splash.jpg")))
    html = response.content.decode()
    assert response.status_code == 200
    assert MediaAsset.objects.count() == 1
    assert re.findall(r'name="media" value="(\d+)"', html) == [str(existing.pk)]
    assert "This file is already in the media library as “splash.jpg”, so that one is attached" in html
    assert re.search(rf'<textarea[^>]*name="alt_{existing.pk}"[^>]*>\s*Children in a splash pad</textarea>', html)
    assert not Post.objects.exists()

    # Uploaded again while it is attached already: still attached once.
    data = compose_data(personas, media=[existing.pk], media_action="upload", upload=jpeg_upload("splash.jpg"))
    html = alice.post(create, data).content.decode()
    assert re.findall(r'name="media" value="(\d+)"', html) == [str(existing.pk)]
    assert MediaAsset.objects.count() == 1


def test_the_library_page_offers_the_copy_it_has_instead_of_a_duplicate(personas):
    alice = Client()
    alice.force_login(personas.alice)
    library = reverse("medialibrary:library")
    form = {"department": personas.parks.pk, "alt_text": "The city pool"}
    assert alice.post(library, {**form, "file": jpeg_upload("pool.jpg")}).status_code == 302
    existing = MediaAsset.objects.get()
    response = alice.post(library, {**form, "file": jpeg_upload("pool-again.jpg")})
    html = response.content.decode()
    assert response.status_code == 200
    assert "This file is already in the media library as “pool.jpg”" in html
    assert "Its alt text: “The city pool”." in html
    assert f'href="{reverse("medialibrary:asset_edit", args=[existing.pk])}"' in html
    assert MediaAsset.objects.count() == 1
