"""Files for upload tests, made in memory: images with EXIF and GPS, a tiny MP4 with a location box."""

from __future__ import annotations

import io
import struct

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

GPS_IFD = 0x8825
MAKE = 0x010F
ORIENTATION = 0x0112


def image_bytes(
    image_format: str = "JPEG", size: tuple[int, int] = (64, 48), *, gps: bool = False, orientation: int | None = None
) -> bytes:
    """Returns an image; with `gps`, its EXIF carries a camera make and a GPS position (Chicago City Hall)."""
    mode = "RGBA" if image_format in ("PNG", "WEBP") else "RGB"
    image = Image.new(mode, size, (200, 30, 30, 255) if mode == "RGBA" else (200, 30, 30))
    exif = Image.Exif()
    if gps:
        exif[MAKE] = "CityCam"
        exif.get_ifd(GPS_IFD).update(
            {
                1: "N",
                2: (41.0, 53.0, 2.0),
                3: "W",
                4: (87.0, 37.0, 55.0),
            }
        )
    if orientation:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    options = {"exif": exif.tobytes()} if (gps or orientation) else {}
    if image_format == "GIF":
        image = image.convert("P")
        options = {}
    image.save(out, format=image_format, **options)
    return out.getvalue()


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_upload(name: str = "splash.jpg", **kwargs) -> SimpleUploadedFile:  # noqa: ANN003
    return upload(name, image_bytes("JPEG", **kwargs), "image/jpeg")


def box(box_type: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), box_type) + payload


LOCATION = b"+41.8837-087.6325/"


def mp4_bytes(*, with_location: bool = True) -> bytes:
    """A minimal MP4: ftyp, moov (mvhd, a trak with its own udta, and a udta holding ©xyz), mdat."""
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2avc1mp41")
    mvhd = box(b"mvhd", b"\0" * 100)
    location = box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0) + LOCATION)
    udta = box(b"udta", location if with_location else b"")
    trak = box(b"trak", box(b"tkhd", b"\0" * 84) + box(b"udta", box(b"name", b"\0\0\0\0camera track")))
    moov = box(b"moov", mvhd + trak + udta)
    mdat = box(b"mdat", b"\x00\x01\x02\x03" * 64)
    return ftyp + moov + mdat
