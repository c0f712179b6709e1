"""Writes to the media library, and the checks every upload goes through.

Images: Pillow with an explicit format allow-list (JPEG, PNG, WebP, GIF), a pixel cap and a byte cap,
`verify()` first, then a full decode and a re-encode that carries no metadata (EXIF, GPS, XMP, comments);
the EXIF orientation is applied to the pixels first so the picture stays upright.
Video: MP4 only (the platforms that take video take MP4), a byte cap, the container read with mutagen
(a movie header, a video track of non-zero length, every sample inside the file: mp4_check_playable),
and the location and other metadata boxes (`udta`, `meta`, XMP `uuid`) overwritten in place by `free`
boxes of the same size, so the file plays as before (no offsets move) but carries no GPS position.
Captions: WebVTT or SubRip, UTF-8 text, checked for the format's header or first cue.
Publish time: each platform gets an image within its own limits (image_fit), as bytes or, for platforms
that download, as a fitted copy stored next to the original (media_rendition_for_platform).
Deleting an asset (media_asset_delete) removes, once that commits, its file, its captions and every fitted
copy made of it from storage.
"""

from __future__ import annotations

import hashlib
import io
import logging
import math
import mimetypes
import re
import struct
import tempfile
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import IO, Any, Protocol

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from mutagen.mp4 import Atom, AtomError, Atoms, MP4Info, MP4StreamInfoError
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from civicpost.timelabels import clock_label, date_label
from departments.models import Department
from departments.selectors import user_can_edit_for
from medialibrary.models import MediaAsset, MediaKind, PostMedia
from medialibrary.selectors import media_asset_posts
from medialibrary.video import poster_frame, video_probe

# Pillow format name -> MIME type. Anything else is refused before it is decoded.
IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
IMAGE_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
VIDEO_MIME = "video/mp4"
MAX_IMAGE_PIXELS = 40_000_000  # 40 MP: larger than any platform keeps, small enough to decode safely
# All frames of a GIF or WebP animation together. Re-encoding holds each frame once at one byte per pixel
# (the GIF encoder keeps every frame to compare it with the next) plus a few frames' worth of RGBA, so this
# keeps one upload well under 200 MB: 1080 × 1080 for 25 frames, 480 × 480 for 130.
MAX_ANIMATION_PIXELS = 30_000_000
MAX_IMAGE_BYTES = 15 * 1024 * 1024
MAX_VIDEO_BYTES = 300 * 1024 * 1024  # Instagram's limit for reels; Threads and Mastodon instances vary
MAX_CAPTION_BYTES = 1024 * 1024
PDF_MIME = "application/pdf"
PDF_MAGIC = b"%PDF-"
MAX_DOCUMENT_BYTES = 100 * 1024 * 1024  # LinkedIn's limit for documents, the only platform that takes them
MP4_BRANDS = {b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"MSNV"}
# QuickTime (.mov, what iPhones record): the same box structure as MP4 (ISO/IEC 14496-12 grew out of it).
MOV_BRAND = b"qt  "
MOV_MIME = "video/quicktime"
# Boxes that carry user data (Apple's location ©xyz, XMP, "meta" item lists). Overwritten, never parsed.
MP4_METADATA_BOXES = {b"udta", b"meta"}
MP4_CONTAINER_BOXES = {b"moov", b"trak"}
XMP_UUID = bytes.fromhex("be7acfcb97a942e89c71999491e3afac")

logger = logging.getLogger(__name__)

# Marked here, translated where shown (gettext_noop: extracted, left in English in the constant).
ALT_TEXT_REQUIRED = gettext_noop("Every image needs alt text, so residents who use screen readers get the message.")
TITLE_REQUIRED = gettext_noop("Every PDF document needs a title: LinkedIn shows it above the document.")
NOT_A_PDF = gettext_noop("This file is named like a PDF but is not one. Save it again as a PDF and upload that.")
CAPTIONS_REQUIRED = gettext_noop(
    "Every video needs a captions file (WebVTT or SRT) or captions burned into the picture, so residents who are "
    "deaf or hard of hearing get the message."
)

VTT_HEADER = re.compile(r"\AWEBVTT(?:[ \t].*)?(?:\r?\n|\Z)")
SRT_FIRST_CUE = re.compile(r"\A\s*\d+\s*\r?\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}")


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    mime_type: str
    extension: str
    width: int
    height: int


def media_public_url(name: str) -> str:
    """Returns the absolute public address of a stored file: platforms that fetch media (Threads,
    Instagram) need it, and `SITE_URL` + `MEDIA_URL` + name is what the file system storage gives."""
    url = default_storage.url(name)
    if url.startswith(("https://", "http://")):
        return url
    return f"{settings.SITE_URL}/{url.lstrip('/')}"


# --- Images ---------------------------------------------------------------------------------------


def _size_label(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def image_clean(data: bytes) -> CleanImage:
    """Checks an image and re-encodes it without metadata. Returns the clean bytes and their facts;
    raises ApplicationError (plain words) for anything outside the allow-list or the caps."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ApplicationError(
            _("This image is %(size)s; the limit is %(limit)s. Make it smaller and upload it again.")
            % {"size": _size_label(len(data)), "limit": _size_label(MAX_IMAGE_BYTES)}
        )
    not_an_image = _(
        "This file is not an image or video CivicPost can use. Upload a JPEG, PNG, WebP or GIF image, or an MP4 video."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                image_format = probe.format
                if image_format not in IMAGE_FORMATS:
                    raise ApplicationError(not_an_image)
                width, height = probe.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ApplicationError(
                        _(
                            "This image is %(width)s × %(height)s pixels; the limit is %(limit)s million pixels. "
                            "Make it smaller and upload it again."
                        )
                        % {"width": width, "height": height, "limit": MAX_IMAGE_PIXELS // 1_000_000}
                    )
                # Counting frames reads their headers only; no pixel is decoded yet.
                _check_animation_budget(width, height, getattr(probe, "n_frames", 1))
                probe.verify()
            # verify() leaves the image unusable: open it again to decode every pixel.
            with Image.open(io.BytesIO(data)) as image:
                if getattr(image, "is_animated", False):
                    clean = _reencode_animation(image, image_format)
                else:
                    image.load()
                    clean = _reencode_still(image, image_format)
    except ApplicationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ApplicationError(not_an_image) from error
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise ApplicationError(_("This image file is damaged or incomplete. Export it again and upload it.")) from error
    return clean


def _reencode_still(image: Image.Image, image_format: str) -> CleanImage:
    icc_profile = image.info.get("icc_profile")
    transparency = image.info.get("transparency")
    # Turn the pixels the way the camera said, because the orientation tag goes with the rest of EXIF.
    upright = ImageOps.exif_transpose(image)
    options: dict[str, Any] = {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if image_format == "JPEG":
        if upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        options.update(quality=90, optimize=True)
    elif image_format == "PNG":
        options["optimize"] = True
        if transparency is not None and upright.mode in ("P", "L", "RGB"):
            options["transparency"] = transparency
    elif image_format == "WEBP":
        options.update(quality=90)
    elif image_format == "GIF" and transparency is not None:
        options["transparency"] = transparency
    # A fresh image carries no `info`: nothing of the original's metadata can ride along.
    fresh = upright.copy()
    fresh.info = {}
    out = io.BytesIO()
    fresh.save(out, format=image_format, **options)
    return CleanImage(
        data=out.getvalue(),
        mime_type=IMAGE_FORMATS[image_format],
        extension=IMAGE_EXTENSIONS[image_format],
        width=fresh.width,
        height=fresh.height,
    )


def _animation_too_large(width: int, height: int, frames: int) -> ApplicationError:
    return ApplicationError(
        _(
            "This animation has %(frames)s frames of %(width)s × %(height)s pixels; all frames together may hold "
            "at most %(limit)s million pixels. Make it smaller or shorter and upload it again."
        )
        % {"frames": frames, "width": width, "height": height, "limit": MAX_ANIMATION_PIXELS // 1_000_000}
    )


def _check_animation_budget(width: int, height: int, frames: int) -> None:
    if frames > 1 and width * height * frames > MAX_ANIMATION_PIXELS:
        raise _animation_too_large(width, height, frames)


def _animation_frames(image: Image.Image) -> Iterator[Image.Image]:
    """Yields each frame as a fresh RGBA image that carries only its duration, decoding one frame at a time
    and counting every pixel decoded: a GIF frame may be larger than the size its header announced."""
    decoded = 0
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        decoded += frame.width * frame.height
        if decoded > MAX_ANIMATION_PIXELS:
            raise _animation_too_large(frame.width, frame.height, index + 1)
        copy = frame.convert("RGBA")
        copy.info = {"duration": int(frame.info.get("duration", 100))}
        yield copy


def _reencode_animation(image: Image.Image, image_format: str) -> CleanImage:
    """Re-encodes an animation without its metadata, frame by frame: never more than one decoded frame is
    held here (the encoders keep what they need, bounded by MAX_ANIMATION_PIXELS)."""
    out = io.BytesIO()
    loop = int(image.info.get("loop", 0))
    frames = _animation_frames(image)
    first = next(frames)
    width, height = first.size
    if image_format == "GIF":
        # The GIF encoder draws frames from the generator one at a time and reads each one's duration.
        first.save(out, format="GIF", save_all=True, append_images=frames, loop=loop, disposal=2)
    else:
        # The WebP encoder would list `append_images` (every frame decoded at once), so it is handed the source,
        # whose frames it decodes one at a time, with only the durations and loop count: the source's EXIF,
        # XMP and ICC profile are passed on only when given as options, and they are not.
        durations = [first.info["duration"], *(frame.info["duration"] for frame in frames)]
        image.save(out, format=image_format, save_all=True, duration=durations, loop=loop)
    return CleanImage(
        data=out.getvalue(),
        mime_type=IMAGE_FORMATS[image_format],
        extension=IMAGE_EXTENSIONS[image_format],
        width=width,
        height=height,
    )


# --- Video ----------------------------------------------------------------------------------------


def _read_box_header(handle: IO[bytes], offset: int, end: int) -> tuple[int, bytes, int] | None:
    """Returns (box size, box type, header length) at offset, or None past the end."""
    if offset + 8 > end:
        return None
    handle.seek(offset)
    header = handle.read(8)
    if len(header) < 8:
        return None
    size, box_type = struct.unpack(">I4s", header)
    header_length = 8
    if size == 1:
        large = handle.read(8)
        if len(large) < 8:
            return None
        size = struct.unpack(">Q", large)[0]
        header_length = 16
    elif size == 0:
        size = end - offset
    if size < header_length or offset + size > end:
        raise ApplicationError(_("This video file is damaged or incomplete. Export it again and upload it."))
    return size, box_type, header_length


def mp4_metadata_ranges(handle: IO[bytes], size: int) -> list[tuple[int, int, int]]:
    """Returns (offset, header length, box size) of each metadata box to blank out: `udta` and `meta`
    at the top level, in `moov` and in each `trak`, and XMP `uuid` boxes. Raises ApplicationError when
    the file is not an MP4."""
    handle.seek(0)
    head = handle.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp" or head[8:12] not in MP4_BRANDS | {MOV_BRAND}:
        raise ApplicationError(_("This video is not an MP4 file. Export it as MP4 (H.264) and upload it again."))
    ranges: list[tuple[int, int, int]] = []

    def walk(start: int, end: int, depth: int) -> None:
        offset = start
        while (box := _read_box_header(handle, offset, end)) is not None:
            box_size, box_type, header_length = box
            if box_type in MP4_METADATA_BOXES:
                ranges.append((offset, header_length, box_size))
            elif box_type == b"uuid":
                handle.seek(offset + header_length)
                if handle.read(16) == XMP_UUID:
                    ranges.append((offset, header_length, box_size))
            elif box_type in MP4_CONTAINER_BOXES and depth < 3:
                walk(offset + header_length, offset + box_size, depth + 1)
            offset += box_size

    walk(0, size, 0)
    return ranges


def _video_damaged() -> ApplicationError:
    return ApplicationError(_("This video file is damaged or incomplete. Export it again and upload it."))


def _full_atom_payload(atom: Atom, handle: IO[bytes]) -> bytes:
    """Returns a full box's payload after its version and flags; raises ApplicationError if it is cut short."""
    complete, data = atom.read(handle)
    if not complete or len(data) < 4:
        raise _video_damaged()
    return data[4:]


def _samples_in_file(stbl: Atom, handle: IO[bytes], size: int) -> int:
    """Returns how many samples the track's sample table places in chunks, after checking that every one lies
    inside the file (a cut-off upload lists samples past its end). Raises ApplicationError."""
    try:
        stsz = _full_atom_payload(stbl[(b"stsz",)], handle)
        stsc = _full_atom_payload(stbl[(b"stsc",)], handle)
        try:
            chunk_box, chunk_format = stbl[(b"stco",)], ">%dI"
        except KeyError:
            chunk_box, chunk_format = stbl[(b"co64",)], ">%dQ"
        offsets_payload = _full_atom_payload(chunk_box, handle)
        uniform_size, sample_count = struct.unpack_from(">II", stsz)
        # One size for every sample is never spread into a list: the count comes from the file.
        sizes = struct.unpack_from(f">{sample_count}I", stsz, 8) if uniform_size == 0 else None
        (chunk_count,) = struct.unpack_from(">I", offsets_payload)
        offsets = struct.unpack_from(chunk_format % chunk_count, offsets_payload, 4)
        (run_count,) = struct.unpack_from(">I", stsc)
        runs = [struct.unpack_from(">III", stsc, 4 + 12 * index)[:2] for index in range(run_count)]
    except (KeyError, struct.error) as error:
        raise _video_damaged() from error
    if any(first_chunk < 1 for first_chunk, _per_chunk in runs):
        raise _video_damaged()
    # stsc: runs of chunks (first chunk, 1-based; samples in each chunk) up to the next run's first chunk.
    sample = 0
    for index, (first_chunk, per_chunk) in enumerate(runs):
        last_chunk = runs[index + 1][0] - 1 if index + 1 < len(runs) else chunk_count
        for chunk in range(first_chunk, min(last_chunk, chunk_count) + 1):
            in_chunk = max(0, min(per_chunk, sample_count - sample))
            chunk_bytes = uniform_size * in_chunk if sizes is None else sum(sizes[sample : sample + in_chunk])
            end = offsets[chunk - 1] + chunk_bytes
            sample += per_chunk
            if end > size or sample > sample_count:
                raise ApplicationError(
                    _("This video file is incomplete: part of the video is missing. Export it again and upload it.")
                )
    return sample


def mp4_check_playable(handle: IO[bytes], size: int) -> None:
    """Reads the MP4 container (with mutagen) and raises ApplicationError, in plain words, unless it has a movie
    header, a video track of non-zero length, and every sample of that track inside the file."""
    try:
        atoms = Atoms(handle)
    except AtomError as error:
        raise _video_damaged() from error
    if any(atom.offset + atom.length > size for atom in atoms.atoms):
        raise _video_damaged()
    try:
        moov = atoms[b"moov"]
    except KeyError as error:
        raise ApplicationError(
            _(
                "This video has no movie header, so no player can open it (the export may not have finished). "
                "Export it again as MP4 and upload it."
            )
        ) from error
    try:
        info = MP4Info(atoms, handle)
    except MP4StreamInfoError as error:
        raise _video_damaged() from error
    no_length = _("This video is zero seconds long. Export it again and upload it.")
    if not info.length or info.length <= 0:
        raise ApplicationError(no_length)
    video_tracks = []
    for trak in moov.findall(b"trak"):
        try:
            handler = _full_atom_payload(trak[(b"mdia", b"hdlr")], handle)
        except KeyError as error:
            raise _video_damaged() from error
        if handler[4:8] == b"vide":
            video_tracks.append(trak)
    if not video_tracks:
        raise ApplicationError(_("This MP4 file has no video in it. Upload a video exported as MP4 (H.264)."))
    fragmented = any(atom.name == b"moof" for atom in atoms.atoms)
    for trak in video_tracks:
        try:
            stbl = trak[(b"mdia", b"minf", b"stbl")]
        except KeyError as error:
            raise _video_damaged() from error
        # A fragmented MP4 lists its samples in `moof` boxes after the header, not in the sample table.
        if not fragmented and _samples_in_file(stbl, handle, size) == 0:
            raise ApplicationError(no_length)


def _copy_without_metadata(source: IO[bytes], size: int, ranges: Sequence[tuple[int, int, int]]) -> IO[bytes]:
    """Copies the video into a temporary file, each metadata box turned into a zero-filled `free` box."""
    target = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned to the caller
    source.seek(0)
    for chunk in iter(lambda: source.read(1024 * 1024), b""):
        target.write(chunk)
    for offset, header_length, box_size in ranges:
        target.seek(offset)
        if header_length == 16:
            target.write(struct.pack(">I4sQ", 1, b"free", box_size))
        else:
            target.write(struct.pack(">I4s", box_size, b"free"))
        remaining = box_size - header_length
        while remaining > 0:
            step = min(remaining, 1024 * 1024)
            target.write(b"\0" * step)
            remaining -= step
    target.seek(0)
    return target


# --- Captions -------------------------------------------------------------------------------------


CUE_TIMING = re.compile(
    r"^(?P<start>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})[ \t]+-->[ \t]+(?P<end>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})(?:[ \t].*)?$"
)


def _cue_seconds(text: str) -> float:
    parts = text.replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    if minutes > 59 or seconds >= 60:
        raise ValueError(text)
    return hours * 3600 + minutes * 60 + seconds


def captions_cues(text: str, *, kind: str) -> int:
    """Reads every cue of a WebVTT or SubRip text and returns how many there are. Raises ApplicationError
    naming the line when a timing cannot be read, a cue ends before it starts, or cues go back in time
    (players and platforms drop such cues, so the captions would not match the video)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    previous_start = -1.0
    cues = 0
    for number, line in enumerate(lines, start=1):
        if "-->" not in line:
            continue
        match = CUE_TIMING.match(line.strip())
        if kind == "srt" and match and ("." in match["start"] or "." in match["end"]):
            match = None
        try:
            start, end = (_cue_seconds(match["start"]), _cue_seconds(match["end"])) if match else (0.0, -1.0)
        except ValueError:
            match = None
        if match is None:
            raise ApplicationError(
                _("Line %(line)d of the captions file has a timing CivicPost cannot read: “%(text)s”.")
                % {"line": number, "text": Truncator(line.strip()).chars(60)}
            )
        if end <= start:
            raise ApplicationError(
                _(
                    "Line %(line)d of the captions file ends a caption before it starts. "
                    "Fix the times and upload it again."
                )
                % {"line": number}
            )
        if start < previous_start:
            raise ApplicationError(
                _(
                    "Line %(line)d of the captions file starts earlier than the caption before it; captions must be in "
                    "time order. Fix the times and upload it again."
                )
                % {"line": number}
            )
        previous_start = start
        cues += 1
    if cues == 0:
        raise ApplicationError(_("The captions file has no captions in it. Upload a WebVTT or SRT file with captions."))
    return cues


def captions_clean(data: bytes, *, file_name: str) -> tuple[bytes, str]:
    """Checks a captions file: UTF-8, a WebVTT header or a SubRip first cue, every cue's times readable, each cue
    ending after it starts and cues in time order. Returns (UTF-8 bytes, extension "vtt" or "srt"); raises
    ApplicationError in plain words."""
    if len(data) > MAX_CAPTION_BYTES:
        raise ApplicationError(_("The captions file is larger than 1 MB. Upload a WebVTT or SRT file."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApplicationError(
            _("The captions file is not UTF-8 text. Save it as UTF-8 and upload it again.")
        ) from error
    if VTT_HEADER.match(text):
        captions_cues(text, kind="vtt")
        return text.encode(), "vtt"
    if SRT_FIRST_CUE.match(text):
        captions_cues(text, kind="srt")
        return text.encode(), "srt"
    raise ApplicationError(
        _("%(name)s is not a captions file CivicPost knows. Upload WebVTT (.vtt) or SubRip (.srt) captions.")
        % {"name": file_name or _("This file")}
    )


# --- Services -------------------------------------------------------------------------------------


def _require_member(*, user: User, department: Department) -> None:
    if not user_can_edit_for(user=user, department_id=department.pk):
        raise ApplicationError(
            _("Only members of %(department)s can add to its media library.") % {"department": department}
        )


def _storage_name(department: Department, extension: str) -> str:
    return f"library/{department.slug}/{uuid.uuid4().hex}.{extension}"


def _upload_bytes(upload: UploadedFile, limit: int, message: str) -> bytes:
    """Returns the upload's bytes; raises ApplicationError(message) past `limit` without reading it all."""
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(message % {"size": _size_label(upload.size), "limit": _size_label(limit)})
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ApplicationError(message % {"size": _size_label(len(data)), "limit": _size_label(limit)})
    return data


def _looks_like_mp4(upload: UploadedFile) -> bool:
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    return len(head) == 12 and head[4:8] == b"ftyp"


def _looks_like_pdf(upload: UploadedFile) -> bool:
    upload.seek(0)
    head = upload.read(len(PDF_MAGIC))
    upload.seek(0)
    return head == PDF_MAGIC


def _named_as_pdf(upload: UploadedFile) -> bool:
    return (upload.name or "").lower().endswith(".pdf") or (upload.content_type or "") == PDF_MIME


def _store_document(*, upload: UploadedFile, department: Department, allow_duplicate: bool) -> tuple[str, int, str]:
    """Checks a PDF's size and stores it as it is. Returns (storage name, size, SHA-256); raises ApplicationError
    past the size cap and MediaAlreadyInLibrary for a file the department has already."""
    size = upload.size or 0
    if size > MAX_DOCUMENT_BYTES:
        raise ApplicationError(
            _("This document is %(size)s; the limit is %(limit)s.")
            % {"size": _size_label(size), "limit": _size_label(MAX_DOCUMENT_BYTES)}
        )
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    same = None if allow_duplicate else _same_file(department=department, sha256=digest.hexdigest())
    if same is not None:
        raise MediaAlreadyInLibrary(same)
    name = default_storage.save(_storage_name(department, "pdf"), File(upload))
    return name, size, digest.hexdigest()


def _video_mime(upload: UploadedFile) -> tuple[str, str]:
    """(MIME type, extension) of an upload that passed _looks_like_mp4: QuickTime by its brand, else MP4."""
    upload.seek(0)
    brand = upload.read(12)[8:12]
    upload.seek(0)
    return (MOV_MIME, "mov") if brand == MOV_BRAND else (VIDEO_MIME, "mp4")


def _store_poster(*, name: str, handle: IO[bytes], suffix: str) -> str:
    """Stores a poster frame next to the video (named like a fitted copy, so it is served and deleted with the
    video) and returns its name; "" when ffmpeg is not installed or made none."""
    poster = poster_frame(handle, suffix=suffix)
    if not poster:
        return ""
    return default_storage.save(f"{name}.poster-00000000.jpg", ContentFile(poster))


def _store_captions(*, department: Department, captions: UploadedFile) -> str:
    data = _upload_bytes(captions, MAX_CAPTION_BYTES, _("The captions file is %(size)s; the limit is %(limit)s."))
    data, extension = captions_clean(data, file_name=captions.name or "")
    return default_storage.save(_storage_name(department, extension), ContentFile(data))


class MediaAlreadyInLibrary(ApplicationError):
    """The department's library holds this exact file already (the same SHA-256 once cleaned): `asset`."""

    def __init__(self, asset: MediaAsset) -> None:
        when = asset.created_at.astimezone(asset.department.zone)
        super().__init__(
            _(
                "This file is already in the media library as “%(file)s” (uploaded %(date)s). Use that one: it "
                "keeps its alt text, and the library gets no second copy."
            )
            % {"file": asset.original_name or asset.file_name, "date": date_label(when)}
        )
        self.asset = asset


def _same_file(*, department: Department, sha256: str) -> MediaAsset | None:
    return (
        MediaAsset.objects.filter(department=department, sha256=sha256)
        .select_related("department")
        .order_by("-created_at", "-id")
        .first()
    )


@transaction.atomic
def media_upload(
    *,
    user: User,
    department: Department,
    upload: UploadedFile,
    alt_text: str = "",
    captions: UploadedFile | None = None,
    transcript: str = "",
    captions_burned_in: bool = False,
    allow_duplicate: bool = False,
) -> MediaAsset:
    """Checks, cleans and stores one upload in the department's library. Returns the new asset;
    raises ApplicationError with a plain reason when the file is refused (nothing is stored then), and
    MediaAlreadyInLibrary (naming the asset to reuse) when the department has the same file already,
    unless `allow_duplicate`."""
    _require_member(user=user, department=department)
    original_name = (upload.name or "")[:255]
    if _looks_like_pdf(upload):
        title = normalize_text(alt_text).strip()
        if not title:
            raise ApplicationError(_(TITLE_REQUIRED))
        name, size, sha256 = _store_document(upload=upload, department=department, allow_duplicate=allow_duplicate)
        asset = MediaAsset.objects.create(
            department=department,
            kind=MediaKind.DOCUMENT,
            file_name=name,
            original_name=original_name,
            mime_type=PDF_MIME,
            size_bytes=size,
            sha256=sha256,
            alt_text=title,
            uploaded_by=user,
        )
    elif _named_as_pdf(upload):
        raise ApplicationError(_(NOT_A_PDF))
    elif _looks_like_mp4(upload):
        size = upload.size or 0
        if size > MAX_VIDEO_BYTES:
            raise ApplicationError(
                _("This video is %(size)s; the limit is %(limit)s.")
                % {"size": _size_label(size), "limit": _size_label(MAX_VIDEO_BYTES)}
            )
        mime_type, extension = _video_mime(upload)
        ranges = mp4_metadata_ranges(upload, size)
        mp4_check_playable(upload, size)
        cleaned = _copy_without_metadata(upload, size, ranges)
        facts = video_probe(cleaned, suffix=f".{extension}")
        digest = hashlib.sha256()
        for chunk in iter(lambda: cleaned.read(1024 * 1024), b""):
            digest.update(chunk)
        cleaned.seek(0)
        same = None if allow_duplicate else _same_file(department=department, sha256=digest.hexdigest())
        if same is not None:
            raise MediaAlreadyInLibrary(same)
        captions_name = _store_captions(department=department, captions=captions) if captions else ""
        name = default_storage.save(_storage_name(department, extension), File(cleaned))
        cleaned.seek(0)
        poster_name = _store_poster(name=name, handle=cleaned, suffix=f".{extension}")
        asset = MediaAsset.objects.create(
            department=department,
            kind=MediaKind.VIDEO,
            file_name=name,
            original_name=original_name,
            mime_type=mime_type,
            size_bytes=size,
            sha256=digest.hexdigest(),
            alt_text=normalize_text(alt_text).strip(),
            captions_name=captions_name,
            transcript=normalize_text(transcript).strip(),
            captions_burned_in_by=user if captions_burned_in else None,
            captions_burned_in_at=timezone.now() if captions_burned_in else None,
            width=facts.width,
            height=facts.height,
            duration_seconds=facts.duration_seconds,
            video_codec=facts.video_codec,
            audio_codec=facts.audio_codec,
            frame_rate=facts.frame_rate,
            probed_with=facts.probed_with,
            poster_name=poster_name,
            uploaded_by=user,
        )
    else:
        too_big = _("This image is %(size)s; the limit is %(limit)s. Make it smaller and upload it again.")
        clean = image_clean(_upload_bytes(upload, MAX_IMAGE_BYTES, too_big))
        digest_text = hashlib.sha256(clean.data).hexdigest()
        same = None if allow_duplicate else _same_file(department=department, sha256=digest_text)
        if same is not None:
            raise MediaAlreadyInLibrary(same)
        name = default_storage.save(_storage_name(department, clean.extension), ContentFile(clean.data))
        asset = MediaAsset.objects.create(
            department=department,
            kind=MediaKind.IMAGE,
            file_name=name,
            original_name=original_name,
            mime_type=clean.mime_type,
            width=clean.width,
            height=clean.height,
            size_bytes=len(clean.data),
            sha256=digest_text,
            alt_text=normalize_text(alt_text).strip(),
            uploaded_by=user,
        )
    audit_record(
        action="media.uploaded",
        actor=user,
        department_id=department.pk,
        target=asset,
        changes={"file": {"before": None, "after": name}, "mime_type": {"before": None, "after": asset.mime_type}},
    )
    return asset


@transaction.atomic
def media_update(
    *,
    user: User,
    asset: MediaAsset,
    alt_text: str,
    transcript: str = "",
    captions: UploadedFile | None = None,
    remove_captions: bool = False,
    captions_burned_in: bool | None = None,
) -> MediaAsset:
    """Changes an asset's alt text, transcript or captions (a file, or the declaration that the captions are
    burned into the picture: who and when are recorded, and audited). Returns the asset; raises
    ApplicationError."""
    _require_member(user=user, department=asset.department)
    asset.alt_text = normalize_text(alt_text).strip()
    if asset.is_document and not asset.alt_text:
        raise ApplicationError(_(TITLE_REQUIRED))
    declared_before = asset.captions_burned_in
    if asset.is_video:
        asset.transcript = normalize_text(transcript).strip()
        if captions is not None:
            asset.captions_name = _store_captions(department=asset.department, captions=captions)
        elif remove_captions:
            asset.captions_name = ""
        if captions_burned_in is not None and captions_burned_in != declared_before:
            asset.captions_burned_in_by = user if captions_burned_in else None
            asset.captions_burned_in_at = timezone.now() if captions_burned_in else None
    asset.save(
        update_fields=[
            "alt_text",
            "transcript",
            "captions_name",
            "captions_burned_in_by",
            "captions_burned_in_at",
        ]
    )
    if asset.captions_burned_in != declared_before:
        audit_record(
            action="media.captions_burned_in",
            actor=user,
            department_id=asset.department_id,
            target=asset,
            changes={"captions_burned_in": {"before": declared_before, "after": asset.captions_burned_in}},
        )
    return asset


MEDIA_USES_NAMED = 5  # posts named in the refusal; the delete page links every one


def media_in_use_refusal(*, asset: MediaAsset, posts: Sequence[Any]) -> str:
    """Returns, in words, why `asset` cannot be deleted while `posts` (media_asset_posts) use it: how many
    and which ("This file is used by 3 posts: “…” (Draft, Tue, Mar 3, 2026, 2:30 PM); …"); "" for none."""
    if not posts:
        return ""
    zone = asset.department.zone
    named = [
        "“{text}” ({status}, {when})".format(
            text=Truncator(" ".join(post.text.split())).chars(50),
            status=post.get_status_display(),
            when=f"{date_label(post.due_at.astimezone(zone))}, {clock_label(post.due_at.astimezone(zone))}",
        )
        for post in posts[:MEDIA_USES_NAMED]
    ]
    if len(posts) > MEDIA_USES_NAMED:
        named.append(_("and %(count)s more") % {"count": len(posts) - MEDIA_USES_NAMED})
    used = ngettext(
        "This file is used by %(count)s post: %(posts)s.",
        "This file is used by %(count)s posts: %(posts)s.",
        len(posts),
    ) % {"count": len(posts), "posts": "; ".join(named)}
    return f"{used} {_('It can be deleted once no post uses it.')}"


@transaction.atomic
def media_asset_delete(*, asset: MediaAsset, actor: User | None = None) -> None:
    """Removes an asset from the library and, once that commits, its files from storage (media_files_delete:
    the file, its captions and every platform-fitted copy of it). Raises ApplicationError (saying which posts,
    with their ids in `extra["post_ids"]`) while a post still attaches it. Who may delete is the caller's
    check: the library pages ask medialibrary.rules.can_delete_media (medialibrary.selectors
    .media_get_for_delete); the Django admin lets staff delete."""
    asset = MediaAsset.objects.select_for_update().get(pk=asset.pk)
    posts = media_asset_posts(asset=asset)
    if posts:
        raise ApplicationError(
            media_in_use_refusal(asset=asset, posts=posts), extra={"post_ids": [post.pk for post in posts]}
        )
    names = [name for name in (asset.file_name, asset.captions_name) if name]  # the poster goes with the file
    audit_record(
        action="media.deleted",
        actor=actor,
        department_id=asset.department_id,
        target=asset,
        changes={"file": {"before": asset.file_name, "after": None}},
    )
    asset.delete()
    transaction.on_commit(lambda: media_files_delete(names=names))


def media_files_delete(*, names: Iterable[str]) -> list[str]:
    """Deletes library files from storage, each with its platform-fitted copies (media_renditions), and
    returns the names deleted. A file storage will not delete is logged and left: its asset is gone, so
    public_file no longer serves it."""
    deleted = []
    for name in names:
        try:
            doomed = [*media_renditions(name), name]
        except OSError:
            logger.exception("could not list the fitted copies of %s", name)
            doomed = [name]
        for each in doomed:
            try:
                default_storage.delete(each)
            except OSError:
                logger.exception("could not delete %s from media storage", each)
                continue
            deleted.append(each)
    return deleted


def post_media_set(*, post: Any, items: Iterable[tuple[MediaAsset, str]]) -> None:
    """Replaces a post's attachments with `items` (asset, alt text) in that order. The caller (the post
    services) checks that the person may edit the post; assets must belong to the post's department."""
    items = [(asset, normalize_text(alt_text)) for asset, alt_text in items]
    if any(asset.department_id != post.department_id for asset, _alt in items):
        raise ApplicationError(_("You can only attach files from your department's media library."))
    existing = {item.asset_id: item for item in post.media_items.all()}
    wanted_ids = [asset.pk for asset, _alt in items]
    if len(set(wanted_ids)) != len(wanted_ids):
        raise ApplicationError(_("The same file is attached twice; remove one of them."))
    PostMedia.objects.filter(post=post).exclude(asset_id__in=wanted_ids).delete()
    for position, (asset, alt_text) in enumerate(items):
        current = existing.get(asset.pk)
        if current is None:
            PostMedia.objects.create(post=post, asset=asset, position=position, alt_text=alt_text.strip())
        elif current.position != position or current.alt_text != alt_text.strip():
            current.position = position
            current.alt_text = alt_text.strip()
            current.save(update_fields=["position", "alt_text"])
        if alt_text.strip() and not asset.alt_text:
            # The library remembers the first alt text written for a file, to suggest it next time.
            MediaAsset.objects.filter(pk=asset.pk, alt_text="").update(alt_text=alt_text.strip())


class MediaChoice(Protocol):
    """A file chosen for a post and its alt text: a PostMedia row, or the composer's unsaved choice."""

    @property
    def asset(self) -> MediaAsset: ...
    @property
    def alt_text(self) -> str: ...


def media_snapshot(items: Iterable[MediaChoice]) -> list[dict[str, Any]]:
    """Returns the approval snapshot's `media` list: what publishing sends, in order.

    Keys: url (absolute public address), path (storage name, for adapters that upload the bytes),
    mime_type, alt_text, width, height, size_bytes; for video also captions_url, captions_path (the captions
    file's storage name, for platforms that take it as an upload), captions_burned_in, transcript,
    duration_seconds, video_codec, audio_codec and frame_rate (what each adapter's video limits check).
    Adapters get images fitted to their platform at publish time (scheduler/adapters/media.py)."""
    snapshot = []
    for item in items:
        asset = item.asset
        entry: dict[str, Any] = {
            "url": media_public_url(asset.file_name),
            "path": asset.file_name,
            "mime_type": asset.mime_type,
            "alt_text": item.alt_text,
            "width": asset.width,
            "height": asset.height,
            "size_bytes": asset.size_bytes,
        }
        if asset.is_video:
            entry["captions_url"] = asset.captions_url
            entry["captions_path"] = asset.captions_name
            entry["captions_burned_in"] = asset.captions_burned_in
            entry["transcript"] = asset.transcript
            entry["duration_seconds"] = asset.duration_seconds
            entry["video_codec"] = asset.video_codec
            entry["audio_codec"] = asset.audio_codec
            entry["frame_rate"] = asset.frame_rate
        snapshot.append(entry)
    return snapshot


def media_gate_problems(media: Sequence[dict[str, Any]]) -> list[str]:
    """Returns the reasons attached media stop a post from being submitted (alt text, a document's title,
    captions)."""
    problems = []
    untitled = [item for item in media if not str(item.get("alt_text", "")).strip()]
    if any(item.get("mime_type") != PDF_MIME for item in untitled):
        problems.append(_(ALT_TEXT_REQUIRED))
    if any(item.get("mime_type") == PDF_MIME for item in untitled):
        problems.append(_(TITLE_REQUIRED))
    videos = [item for item in media if str(item.get("mime_type", "")).startswith("video/")]
    if any(not item.get("captions_url") and not item.get("captions_burned_in") for item in videos):
        problems.append(_(CAPTIONS_REQUIRED))
    return problems


# --- Publish time -----------------------------------------------------------------------------------
# The library keeps each file at its best quality; each platform gets, at publish time, a version within
# its own limits (scheduler/adapters/media.py holds the adapters' side).

PLATFORM_IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
FIT_ATTEMPTS = 12
JPEG_QUALITY = 85
# A platform-fitted copy of a library file, for platforms that download media from a URL:
# "<original name>.<platform>-<digest of the limits>.<extension>". public_file serves it while the original
# is in the library, so it is exactly as public as the file it was made from.
RENDITION_NAME = re.compile(r"(?P<original>library/.+?\.[a-z0-9]+)\.[a-z]+-[0-9a-f]{8}\.(?:jpg|png|webp|gif|mp4)")
_FORMAT_FOR_MIME = {mime: image_format for image_format, mime in IMAGE_FORMATS.items()}


class ImageDoesNotFit(ApplicationError):
    """Even scaled down and re-compressed, the image stays over the platform's byte limit."""


@dataclass(frozen=True)
class FitLimits:
    max_bytes: int
    max_side: int | None = None
    max_pixels: int | None = None
    mime_types: tuple[str, ...] = PLATFORM_IMAGE_TYPES
    # (lowest, highest) width / height, inclusive.
    aspect_range: tuple[Fraction, Fraction] | None = None

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:8]

    def fits_shape(self, width: int, height: int) -> bool:
        if self.max_side is not None and max(width, height) > self.max_side:
            return False
        if self.max_pixels is not None and width * height > self.max_pixels:
            return False
        if self.aspect_range is not None:
            lowest, highest = self.aspect_range
            return lowest <= Fraction(width, height) <= highest
        return True


@dataclass(frozen=True)
class PlatformImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    changed: bool  # False: the stored file, byte for byte


def _item_path_and_mime(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        return item["path"], item["mime_type"]
    return item.path, item.mime_type


def _read_stored(path: str) -> bytes:
    with default_storage.open(path, "rb") as handle:
        return handle.read()


def _unreadable_image() -> ApplicationError:
    return ApplicationError(_("The stored image could not be read; upload it to the media library again."))


def _probe(data: bytes) -> tuple[str | None, int, int]:
    """Returns (MIME type, width, height) from the image's header, without decoding the pixels."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                return IMAGE_FORMATS.get(image.format or ""), image.width, image.height
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning, OSError) as error:
        raise _unreadable_image() from error


def _fits(data: bytes, limits: FitLimits) -> tuple[bool, str | None, int, int]:
    mime_type, width, height = _probe(data)
    fits = mime_type in limits.mime_types and len(data) <= limits.max_bytes and limits.fits_shape(width, height)
    return fits, mime_type, width, height


def _has_alpha(picture: Image.Image) -> bool:
    return picture.mode in ("RGBA", "LA", "PA") or (picture.mode == "P" and "transparency" in picture.info)


def _flatten_on_white(picture: Image.Image) -> Image.Image:
    rgba = picture.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _canvas_size(width: int, height: int, scale: float, limits: FitLimits) -> tuple[int, int]:
    """Returns the output size: the picture padded to the aspect range, then scaled; the padding is only
    ever taken off the scaled sides, so the result stays within the side and pixel limits."""
    padded_width, padded_height = width, height
    if limits.aspect_range is not None:
        lowest, highest = limits.aspect_range
        if Fraction(width, height) < lowest:
            padded_width = math.ceil(height * lowest)
        elif Fraction(width, height) > highest:
            padded_height = math.ceil(width / highest)
    canvas_width = max(1, int(padded_width * scale))
    canvas_height = max(1, int(padded_height * scale))
    if limits.aspect_range is not None:
        lowest, highest = limits.aspect_range
        if Fraction(canvas_width, canvas_height) < lowest:
            canvas_height = max(1, math.floor(canvas_width / lowest))
        elif Fraction(canvas_width, canvas_height) > highest:
            canvas_width = max(1, math.floor(canvas_height * highest))
    return canvas_width, canvas_height


def _first_scale(width: int, height: int, limits: FitLimits) -> float:
    canvas_width, canvas_height = _canvas_size(width, height, 1.0, limits)
    scale = 1.0
    if limits.max_side is not None and max(canvas_width, canvas_height) > limits.max_side:
        scale = min(scale, limits.max_side / max(canvas_width, canvas_height))
    if limits.max_pixels is not None and canvas_width * canvas_height > limits.max_pixels:
        scale = min(scale, (limits.max_pixels / (canvas_width * canvas_height)) ** 0.5)
    return scale


def _render(picture: Image.Image, canvas: tuple[int, int]) -> Image.Image:
    """Returns the picture scaled to fit `canvas` and centred on it (white, or clear when it has alpha)."""
    ratio = min(canvas[0] / picture.width, canvas[1] / picture.height)
    size = (
        min(canvas[0], max(1, round(picture.width * ratio))),
        min(canvas[1], max(1, round(picture.height * ratio))),
    )
    scaled = picture if size == picture.size else picture.resize(size, Image.Resampling.LANCZOS)
    if size == canvas:
        return scaled
    fill: Any = {"RGBA": (255, 255, 255, 0), "L": 255}.get(scaled.mode, (255, 255, 255))
    background = Image.new(scaled.mode, canvas, fill)
    background.paste(scaled, ((canvas[0] - size[0]) // 2, (canvas[1] - size[1]) // 2))
    return background


def _encode(picture: Image.Image, target_mime: str, icc_profile: bytes | None) -> bytes:
    target_format = _FORMAT_FOR_MIME[target_mime]
    options: dict[str, Any] = {}
    if target_format in ("JPEG", "WEBP"):
        options.update(quality=JPEG_QUALITY)
    if target_format == "JPEG":
        options["optimize"] = True
        if picture.mode not in ("RGB", "L"):
            picture = _flatten_on_white(picture)
    if icc_profile and target_format in ("JPEG", "PNG", "WEBP"):
        options["icc_profile"] = icc_profile
    out = io.BytesIO()
    picture.save(out, format=target_format, **options)
    return out.getvalue()


def image_fit(data: bytes, *, limits: FitLimits) -> PlatformImage:
    """Returns the image made to fit `limits`: the same bytes when it already does; otherwise scaled down
    to the side and pixel limits, padded (never cropped) to the aspect range, converted when the platform
    does not take its format (to JPEG when it takes JPEG; a photo-like PNG or GIF that stays too large
    also becomes JPEG), and scaled further in steps until it is at most `max_bytes`. An animation that does
    not fit as it is keeps only its first frame. Raises ImageDoesNotFit, or ApplicationError for a file
    that is not a readable image."""
    fits, mime_type, width, height = _fits(data, limits)
    if fits and mime_type is not None:
        return PlatformImage(data=data, mime_type=mime_type, width=width, height=height, changed=False)
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # the first frame of an animation
            picture = image.copy()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as error:
        raise _unreadable_image() from error
    converted_from_cmyk = picture.mode == "CMYK"
    icc_profile = None if converted_from_cmyk else picture.info.get("icc_profile")
    alpha = _has_alpha(picture)
    if picture.mode not in ("RGB", "RGBA", "L"):
        picture = picture.convert("RGBA" if alpha else "RGB")
    fallback = "image/jpeg" if "image/jpeg" in limits.mime_types else limits.mime_types[0]
    target_mime = mime_type if mime_type in limits.mime_types else fallback
    if _FORMAT_FOR_MIME[target_mime] == "JPEG" and alpha:
        picture = _flatten_on_white(picture)
    scale = _first_scale(picture.width, picture.height, limits)
    for _attempt in range(FIT_ATTEMPTS):
        canvas = _canvas_size(picture.width, picture.height, scale, limits)
        encoded = _encode(_render(picture, canvas), target_mime, icc_profile)
        if len(encoded) <= limits.max_bytes:
            return PlatformImage(data=encoded, mime_type=target_mime, width=canvas[0], height=canvas[1], changed=True)
        if target_mime in ("image/png", "image/gif") and "image/jpeg" in limits.mime_types and not alpha:
            target_mime = "image/jpeg"  # a lossless format is the wrong one for a photo this large
            continue
        scale *= min(0.9, max(0.5, 0.95 * (limits.max_bytes / len(encoded)) ** 0.5))
    raise ImageDoesNotFit(_("This image cannot be made small enough for the platform."))


def media_fit_for_platform(item: Any, *, limits: FitLimits) -> PlatformImage:
    """Returns an attached image (`item.path` in storage: a MediaItem or a snapshot dict) fitted to
    `limits` (see image_fit). Raises OSError when the stored file cannot be read, ApplicationError."""
    path, _mime_type = _item_path_and_mime(item)
    return image_fit(_read_stored(path), limits=limits)


def media_bytes_for_platform(
    item: Any,
    *,
    max_bytes: int,
    max_side: int | None = None,
    max_pixels: int | None = None,
    mime_types: Sequence[str] = PLATFORM_IMAGE_TYPES,
) -> tuple[bytes, str]:
    """Returns (bytes, MIME type) of an attached file made to fit one platform's limits (see image_fit).
    Video is returned unchanged. Raises OSError when the stored file cannot be read, ApplicationError
    when it cannot be made small enough."""
    path, mime_type = _item_path_and_mime(item)
    if not mime_type.startswith("image/"):
        return _read_stored(path), mime_type
    limits = FitLimits(max_bytes=max_bytes, max_side=max_side, max_pixels=max_pixels, mime_types=tuple(mime_types))
    fitted = media_fit_for_platform(item, limits=limits)
    return fitted.data, fitted.mime_type


def rendition_name(original: str, *, platform: str, limits: FitLimits, mime_type: str) -> str:
    extension = IMAGE_EXTENSIONS[_FORMAT_FOR_MIME[mime_type]]
    return f"{original}.{platform}-{limits.digest()}.{extension}"


def rendition_original(name: str) -> str | None:
    """Returns the library file a rendition name was made from, or None when `name` is not one."""
    match = RENDITION_NAME.fullmatch(name)
    return match.group("original") if match else None


def media_renditions(name: str) -> list[str]:
    """The platform-fitted copies of the library file `name` now in storage. Found by listing its folder,
    not from a record of what was made: so copies for any platform and any limits (past ones too), and one
    a second worker saved in a race, are all found."""
    folder, _slash, base = name.rpartition("/")
    try:
        _folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    candidates = (f"{folder}/{file}" for file in files if file.startswith(f"{base}."))
    return sorted(candidate for candidate in candidates if rendition_original(candidate) == name)


def media_rendition_for_platform(item: Any, *, platform: str, limits: FitLimits) -> str:
    """Returns the storage name to hand a platform that downloads media: the attached file's own name
    when it fits `limits` (and for video), else a fitted copy stored next to it, made once and reused.
    Raises OSError when storage fails, ApplicationError (ImageDoesNotFit) as image_fit does."""
    path, mime_type = _item_path_and_mime(item)
    if not mime_type.startswith("image/"):
        return path
    data = _read_stored(path)
    fits, _stored_mime, _width, _height = _fits(data, limits)
    if fits:
        return path
    for candidate in limits.mime_types:
        name = rendition_name(path, platform=platform, limits=limits, mime_type=candidate)
        if default_storage.exists(name):
            return name
    fitted = image_fit(data, limits=limits)
    name = rendition_name(path, platform=platform, limits=limits, mime_type=fitted.mime_type)
    saved = default_storage.save(name, ContentFile(fitted.data))
    if saved != name:
        # Another worker stored the same rendition a moment earlier: keep that one.
        default_storage.delete(saved)
    return name


def guess_content_type(name: str) -> str:
    if name.endswith(".vtt"):
        return "text/vtt; charset=utf-8"
    if name.endswith(".srt"):
        return "application/x-subrip; charset=utf-8"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
