"""Attached media as each platform receives it: images made to fit the adapter's ImageLimits at publish
time, video exactly as stored.

The fitting itself is the media library's: the caller hands it in as each MediaItem's `fitter` (publishing
does), else the MediaFitter named by the CIVICPOST_MEDIA_FITTER setting is used (adapters called directly:
the shell, tests). This package imports no app module either way.

Platforms that take uploaded bytes (X, Bluesky, Mastodon) get `image_for_upload`; platforms that download
from a URL (Facebook, Instagram, Threads) get `media_url_for`, which points at a fitted copy when the
stored file is outside their limits. Every failure is an AdapterError, so the delivery ends in a clear
state: a file that is missing or cannot be fitted fails for good; a storage hiccup is retried.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import IO, cast

from django.conf import settings
from django.utils.module_loading import import_string

from scheduler.adapters.base import (
    ImageLimits,
    MediaDoesNotFit,
    MediaFitter,
    MediaItem,
    PlatformAdapter,
    PublishError,
)

MISSING_FILE = "The attached file is missing from CivicPost's media storage."
STORAGE_FAILED = "CivicPost's media storage could not be read; will try again."
EXTENSION_FOR_MIME = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


@cache
def _configured_fitter() -> MediaFitter:
    return cast(MediaFitter, import_string(settings.CIVICPOST_MEDIA_FITTER)())


def fitter_for(item: MediaItem) -> MediaFitter:
    """Returns the item's own fitter, else the configured one."""
    return item.fitter if item.fitter is not None else _configured_fitter()


@dataclass(frozen=True)
class UploadImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    file_name: str


def is_image(item: MediaItem) -> bool:
    return item.mime_type.startswith("image/")


def _size_label(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size / 1_000_000:g} MB"


def _does_not_fit(label: str, limits: ImageLimits) -> PublishError:
    return PublishError(
        f"{label} takes images up to {_size_label(limits.max_bytes)} and this one could not be made small "
        "enough; attach a smaller image.",
        permanent=True,
        code="image_too_large",
    )


def _require_path(item: MediaItem) -> None:
    if not item.path:
        raise PublishError(MISSING_FILE, permanent=True, code="media_missing")


@contextmanager
def _as_publish_errors(label: str = "", limits: ImageLimits | None = None) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError as error:
        raise PublishError(MISSING_FILE, permanent=True, code="media_missing") from error
    except OSError as error:
        raise PublishError(STORAGE_FAILED, permanent=False, code="media_storage") from error
    except MediaDoesNotFit as error:
        if not error.too_large:
            raise PublishError(error.message, permanent=True, code="media_unreadable") from error
        if limits is None:
            raise PublishError(error.message, permanent=True, code="image_too_large") from error
        raise _does_not_fit(label, limits) from error


def image_for_upload(item: MediaItem, limits: ImageLimits, *, label: str) -> UploadImage:
    """Returns the image's bytes within `limits` (the stored bytes when they already fit). Raises
    PublishError: permanent when the file is missing, unreadable or cannot be made small enough."""
    _require_path(item)
    with _as_publish_errors(label, limits):
        fitted = fitter_for(item).fit(item, limits)
    stem = item.path.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    return UploadImage(
        data=fitted.data,
        mime_type=fitted.mime_type,
        width=fitted.width,
        height=fitted.height,
        file_name=f"{stem}.{EXTENSION_FOR_MIME[fitted.mime_type]}",
    )


def open_stored(item: MediaItem) -> IO[bytes]:
    """Opens a stored file (video) to send it as it is. The caller closes it. Raises PublishError."""
    _require_path(item)
    with _as_publish_errors():
        return fitter_for(item).open(item)


def _known_to_fit(item: MediaItem, limits: ImageLimits) -> bool:
    """True when the snapshot's own facts (from the library) show the file is within `limits`."""
    if item.size_bytes is None or item.width is None or item.height is None:
        return False
    return (
        item.mime_type in limits.mime_types
        and item.size_bytes <= limits.max_bytes
        and limits.fits_shape(item.width, item.height)
    )


def media_url_for(item: MediaItem, limits: ImageLimits | None, *, platform: str, label: str) -> str:
    """Returns the public address a downloading platform should fetch: the file's own URL for video, for
    images within `limits` and for media CivicPost does not store; else the URL of a fitted copy."""
    if limits is None or not is_image(item) or not item.path or _known_to_fit(item, limits):
        return item.url
    with _as_publish_errors(label, limits):
        return fitter_for(item).rendition_url(item, limits, platform=platform)


def media_urls_for(adapter: PlatformAdapter, media: Sequence[MediaItem]) -> list[str]:
    """Returns the address to send for each item (media_url_for with the adapter's limits). Every image
    is fitted before the caller sends anything, so a refused one leaves nothing half-made behind."""
    limits = adapter.current_image_limits()
    return [media_url_for(item, limits, platform=adapter.platform, label=adapter.label) for item in media]
