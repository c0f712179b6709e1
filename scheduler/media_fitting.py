"""The media library's side of the adapter contract: fits an attached image to one platform's limits
(scheduler.adapters.base.MediaFitter). Publishing hands it to each MediaItem; the CIVICPOST_MEDIA_FITTER
setting names it for adapters called directly."""

from __future__ import annotations

from typing import IO

from django.core.files.storage import default_storage

from civicpost.exceptions import ApplicationError
from medialibrary.services import (
    FitLimits,
    ImageDoesNotFit,
    media_fit_for_platform,
    media_public_url,
    media_rendition_for_platform,
)
from scheduler.adapters.base import FittedImage, ImageLimits, MediaDoesNotFit, MediaItem


def _fit_limits(limits: ImageLimits) -> FitLimits:
    return FitLimits(
        max_bytes=limits.max_bytes,
        max_side=limits.max_side,
        max_pixels=limits.max_pixels,
        mime_types=limits.mime_types,
        aspect_range=limits.aspect_range,
    )


class LibraryMediaFitter:
    """Fits stored files with medialibrary.services. Raises what MediaFitter documents: FileNotFoundError,
    OSError, MediaDoesNotFit (too large, or unreadable)."""

    def fit(self, item: MediaItem, limits: ImageLimits) -> FittedImage:
        try:
            fitted = media_fit_for_platform(item, limits=_fit_limits(limits))
        except ImageDoesNotFit as error:
            raise MediaDoesNotFit(error.message, too_large=True) from error
        except ApplicationError as error:
            raise MediaDoesNotFit(error.message, too_large=False) from error
        return FittedImage(data=fitted.data, mime_type=fitted.mime_type, width=fitted.width, height=fitted.height)

    def rendition_url(self, item: MediaItem, limits: ImageLimits, *, platform: str) -> str:
        try:
            name = media_rendition_for_platform(item, platform=platform, limits=_fit_limits(limits))
        except ImageDoesNotFit as error:
            raise MediaDoesNotFit(error.message, too_large=True) from error
        except ApplicationError as error:
            raise MediaDoesNotFit(error.message, too_large=False) from error
        return item.url if name == item.path else media_public_url(name)

    def open(self, item: MediaItem) -> IO[bytes]:
        return default_storage.open(item.path, "rb")


media_fitter = LibraryMediaFitter()
