"""Images for the media-fitting tests, and storing them where adapters read attachments: Django's default
storage under the name the media library gives (MediaItem.path is that name, not a file system path)."""

from __future__ import annotations

import io
import random

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from scheduler.adapters.base import MediaItem


def store_media(name: str, data: bytes) -> str:
    """Saves `data` in default storage as library/parks/<name>; returns the storage name."""
    return default_storage.save(f"library/parks/{name}", ContentFile(data))


def noisy_image(image_format: str, size: tuple[int, int], *, alpha: bool = False, seed: int = 7) -> bytes:
    """An image that compresses badly (random pixels), so its byte size follows its pixel count."""
    mode = "RGBA" if alpha else "RGB"
    generator = random.Random(seed)
    image = Image.frombytes(mode, size, generator.randbytes(size[0] * size[1] * len(mode)))
    out = io.BytesIO()
    options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
    image.save(out, format=image_format, **options)
    return out.getvalue()


def plain_image(image_format: str, size: tuple[int, int], colour: tuple[int, ...] = (200, 30, 30)) -> bytes:
    mode = "RGBA" if len(colour) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, size, colour).save(out, format=image_format)
    return out.getvalue()


def stored_item(name: str, data: bytes, mime_type: str, *, alt_text: str = "A splash pad", url: str = "") -> MediaItem:
    """A MediaItem as channel_content builds it from an approved snapshot, for a file put in storage."""
    path = store_media(name, data)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return MediaItem(
        url=url or f"https://city.example/media/{path}",
        mime_type=mime_type,
        alt_text=alt_text,
        path=path,
        width=width,
        height=height,
        size_bytes=len(data),
    )


def opened(data: bytes) -> Image.Image:
    """Opens bytes a platform received and decodes every pixel (fails on a damaged image)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
