"""Files for upload tests, made in memory: images with EXIF and GPS, a tiny MP4 with a location box."""

from __future__ import annotations

import io
import struct
from pathlib import Path

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


# A real MP4 (H.264, 64 × 48, 10 frames at 10 fps, one second; made with PyAV/libx264): ftyp, free, mdat, moov.
TINY_MP4 = Path(__file__).parent / "fixtures" / "tiny-h264.mp4"


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """Splits a run of MP4 boxes into (type, whole box) pairs."""
    found, offset = [], 0
    while offset < len(data):
        size, box_type = struct.unpack_from(">I4s", data, offset)
        found.append((box_type, data[offset : offset + size]))
        offset += size
    return found


def mp4_bytes(*, with_location: bool = True) -> bytes:
    """The real tiny MP4 with metadata a phone would add: its moov rebuilt as mvhd, the video trak with its
    own udta (a track name), and a udta holding a ©xyz location. The moov comes after the mdat, so the chunk
    offsets stay true and the file still plays."""
    top = boxes(TINY_MP4.read_bytes())
    assert [box_type for box_type, _ in top] == [b"ftyp", b"free", b"mdat", b"moov"]
    children = dict(boxes(top[3][1][8:]))
    trak = children[b"trak"]
    trak = box(b"trak", trak[8:] + box(b"udta", box(b"name", b"\0\0\0\0camera track")))
    location = box(b"\xa9xyz", struct.pack(">HH", len(LOCATION), 0) + LOCATION)
    udta = box(b"udta", location if with_location else b"")
    moov = box(b"moov", children[b"mvhd"] + trak + udta)
    return b"".join(whole for _type, whole in top[:3]) + moov


def pdf_bytes(title: str = "Budget 2027") -> bytes:
    """A small, real one-page PDF (catalog, pages, page, content stream, cross-reference table)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({title}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def pdf_upload(name: str = "budget-2027.pdf", data: bytes | None = None) -> SimpleUploadedFile:
    return upload(name, pdf_bytes() if data is None else data, "application/pdf")
