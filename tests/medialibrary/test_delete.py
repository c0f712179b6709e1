"""Deleting a library file removes it from storage with everything made from it: its captions and every
copy fitted to a platform (`<original>.<platform>-<hash>.<ext>`), once the deletion commits. Real storage,
in a temporary MEDIA_ROOT (conftest)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from medialibrary import services
from medialibrary.models import MediaAsset
from scheduler.services import post_create
from tests.factories import UserFactory
from tests.medialibrary.helpers import image_bytes, mp4_bytes, upload

INSTAGRAM = services.FitLimits(max_bytes=8 * 1024 * 1024, max_side=600, mime_types=("image/jpeg",))
THREADS = services.FitLimits(max_bytes=8 * 1024 * 1024, max_side=400, mime_types=("image/png", "image/jpeg"))


def big_png(personas, name: str = "pool.png", size: tuple[int, int] = (1200, 900)) -> MediaAsset:  # noqa: ANN001
    data = image_bytes("PNG", size=size)  # another size for another file: the library keeps one copy of each
    return services.media_upload(user=personas.alice, department=personas.parks, upload=upload(name, data))


def fitted_copies(asset: MediaAsset) -> list[str]:
    """Made the way publishing makes them, for two platforms."""
    item = {"path": asset.file_name, "mime_type": asset.mime_type}
    copies = [
        services.media_rendition_for_platform(item, platform="instagram", limits=INSTAGRAM),
        services.media_rendition_for_platform(item, platform="threads", limits=THREADS),
    ]
    assert all(copy != asset.file_name and default_storage.exists(copy) for copy in copies)
    return copies


def folder_files(asset: MediaAsset) -> list[str]:
    folder = asset.file_name.rpartition("/")[0]
    return sorted(f"{folder}/{name}" for name in default_storage.listdir(folder)[1])


def test_deleting_an_asset_removes_its_file_and_every_fitted_copy_once_it_commits(
    personas, django_capture_on_commit_callbacks
):
    asset = big_png(personas)
    copies = fitted_copies(asset)
    other = big_png(personas, "splash.png", size=(1200, 901))
    others = [other.file_name, *fitted_copies(other)]
    assert services.media_renditions(asset.file_name) == sorted(copies)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.media_asset_delete(asset=asset, actor=personas.alice)
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()
    assert all(default_storage.exists(name) for name in [asset.file_name, *copies])  # not before the commit
    for callback in callbacks:
        callback()

    assert folder_files(other) == sorted(others)  # only the other asset's files are left
    event = AuditEvent.objects.get(action="media.deleted")
    assert event.actor == personas.alice and event.changes["file"]["before"] == asset.file_name
    assert Client().get(f"/media/{copies[0]}").status_code == 404


def test_a_video_leaves_storage_with_its_captions(personas, django_capture_on_commit_callbacks):
    asset = services.media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=upload("council.mp4", mp4_bytes(), "video/mp4"),
        captions=upload("captions.vtt", b"WEBVTT\n\n00:00.000 --> 00:02.000\nWelcome.\n"),
    )
    assert default_storage.exists(asset.captions_name)

    with django_capture_on_commit_callbacks(execute=True):
        services.media_asset_delete(asset=asset)

    assert not default_storage.exists(asset.file_name) and not default_storage.exists(asset.captions_name)


def test_a_file_a_post_uses_is_kept_with_its_copies(personas, django_capture_on_commit_callbacks):
    asset = big_png(personas)
    copies = fitted_copies(asset)
    post_create(
        author=personas.alice,
        department=personas.parks,
        text="The pool opens Saturday.",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=1),
        media=[(asset, "The outdoor pool")],
    )

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ApplicationError, match="used by 1 post: “The pool opens Saturday.”"),
    ):
        services.media_asset_delete(asset=asset)

    assert MediaAsset.objects.filter(pk=asset.pk).exists()
    assert all(default_storage.exists(name) for name in [asset.file_name, *copies])


def test_a_deletion_rolled_back_keeps_every_file(personas, django_capture_on_commit_callbacks):
    from django.db import transaction

    asset = big_png(personas)
    copies = fitted_copies(asset)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        services.media_asset_delete(asset=asset)
        transaction.set_rollback(True)

    assert callbacks == []
    assert MediaAsset.objects.filter(pk=asset.pk).exists()
    assert all(default_storage.exists(name) for name in [asset.file_name, *copies])


def test_deleting_in_the_django_admin_removes_the_files_too(personas, django_capture_on_commit_callbacks):
    asset = big_png(personas)
    copies = fitted_copies(asset)
    staff = UserFactory(username="sam", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:medialibrary_mediaasset_delete", args=[asset.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()
    assert not any(default_storage.exists(name) for name in [asset.file_name, *copies])
    assert AuditEvent.objects.get(action="media.deleted").actor == staff
