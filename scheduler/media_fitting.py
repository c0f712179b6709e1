"""The media library's side of the adapter contract: fits an attached image to one platform's limits
(scheduler.adapters.base.MediaFitter). Publishing hands it to each MediaItem; the CIVICPOST_MEDIA_FITTER
setting names it for adapters called directly."""

from __future__ import annotations

from dataclasses import replace
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
from medialibrary.video import ffmpeg_path, ffprobe_path, media_video_rendition, video_target
from scheduler.adapters.base import FittedImage, ImageLimits, MediaDoesNotFit, MediaItem, VideoLimits


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

    def can_transcode(self) -> bool:
        """True when ffmpeg and ffprobe are installed here (medialibrary/video.py)."""
        return ffmpeg_path() is not None and ffprobe_path() is not None

    def video_rendition(self, item: MediaItem, limits: VideoLimits, *, platform: str) -> MediaItem:
        """Returns `item` pointing at an H.264/AAC MP4 copy within `limits` (made once, kept next to the file).
        Raises MediaDoesNotFit (cannot be converted), OSError (storage)."""
        goal = video_target(
            width=item.width or 0,
            height=item.height or 0,
            frame_rate=item.frame_rate,
            max_width=limits.max_width,
            max_height=limits.max_height,
            aspect_range=limits.aspect_range,
            max_frame_rate=limits.max_frame_rate,
            max_bytes=limits.max_bytes if (item.size_bytes or 0) > limits.max_bytes else None,
        )
        try:
            name, facts, size = media_video_rendition(
                item.path, platform=platform, goal=goal, duration_seconds=item.duration_seconds or 0.0
            )
        except ApplicationError as error:
            raise MediaDoesNotFit(error.message, too_large=False) from error
        return replace(
            item,
            url=media_public_url(name),
            path=name,
            mime_type="video/mp4",
            width=facts.width,
            height=facts.height,
            size_bytes=size,
            duration_seconds=facts.duration_seconds,
            video_codec=facts.video_codec,
            audio_codec=facts.audio_codec,
            frame_rate=facts.frame_rate,
        )


media_fitter = LibraryMediaFitter()
