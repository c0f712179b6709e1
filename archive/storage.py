"""Archive storage: copies of media files as they were sent (under their SHA-256, so they survive deletion
from the media library) and the records-request bundles. A separate file store (CIVICPOST_ARCHIVE_ROOT)
from the media library's, so the library's clean-up never touches it."""

from __future__ import annotations

import hashlib
import tempfile
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from archive.models import ArchiveBlob

CHUNK = 1024 * 1024


def archive_storage() -> Storage:
    """The archive's file store (built per call: cheap, and follows the setting in tests)."""
    return FileSystemStorage(location=settings.CIVICPOST_ARCHIVE_ROOT)


def blob_name(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def blob_from_media(*, path: str, mime_type: str) -> ArchiveBlob | None:
    """Copies one media-library file into archive storage (once per distinct content) and returns its blob,
    or None when the library no longer has the file. Streams in chunks through a temporary file."""
    if not path or not default_storage.exists(path):
        return None
    digest = hashlib.sha256()
    size = 0
    with tempfile.TemporaryFile() as copy, default_storage.open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            copy.write(chunk)
            size += len(chunk)
        sha256 = digest.hexdigest()
        existing = ArchiveBlob.objects.filter(sha256=sha256).first()
        if existing is not None:
            return existing
        copy.seek(0)
        name = blob_name(sha256)
        if not archive_storage().exists(name):
            archive_storage().save(name, File(copy))
    blob, _created = ArchiveBlob.objects.get_or_create(
        sha256=sha256, defaults={"storage_name": name, "mime_type": mime_type, "size_bytes": size}
    )
    return blob


def blob_open(blob: ArchiveBlob) -> IO[bytes]:
    return archive_storage().open(blob.storage_name, "rb")


def blob_remove_if_unused(blob: ArchiveBlob) -> bool:
    """Deletes a blob's file and row when no remaining content refers to it. Returns whether it did."""
    if blob.contents.exists():
        return False
    archive_storage().delete(blob.storage_name)
    blob.delete()
    return True
