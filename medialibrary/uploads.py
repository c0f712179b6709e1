"""Unfinished platform uploads of video, kept between attempts of one delivery (PlatformUpload rows): the
store behind scheduler.adapters.video.UploadProgressStore, named by CIVICPOST_UPLOAD_PROGRESS_STORE.

Each save commits at once, even inside a caller's transaction (a savepoint would roll back with it): the
state must outlive a worker that is killed a moment later, since it says which upload to resume."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from medialibrary.models import PlatformUpload


class DatabaseUploadProgress:
    def load(self, *, key: str, platform: str) -> dict[str, Any] | None:
        row = PlatformUpload.objects.filter(key=key, platform=platform).values_list("state", flat=True).first()
        return dict(row) if row is not None else None

    def save(self, *, key: str, platform: str, state: Mapping[str, Any]) -> None:
        with transaction.atomic():
            PlatformUpload.objects.update_or_create(key=key, platform=platform, defaults={"state": dict(state)})

    def clear(self, *, key: str, platform: str) -> None:
        PlatformUpload.objects.filter(key=key, platform=platform).delete()
