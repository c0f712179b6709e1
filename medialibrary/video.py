"""What a video is (duration, size, codecs, frame size, frame rate), a poster frame, and transcoding.

ffprobe and ffmpeg (Debian's `ffmpeg` package) do the work when they are installed: they read every
container and codec, make the poster frame the composer shows, and transcode a file that does not fit a
platform (H.264/AAC MP4, scaled and padded). Without them CivicPost still runs (`make run` on a laptop):
the MP4/MOV container is read with mutagen, which gives the duration, the frame size (the video track's
header), the codecs (each track's sample entry) and the frame rate (samples over the track's duration);
no poster frame is made and nothing is transcoded, and the media page and `manage.py check` say so.

Every call to ffprobe/ffmpeg is a list of arguments (never a shell), on a local temporary copy, with a time
limit; a file either tool cannot read is refused in plain words.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess  # noqa: S404 - ffprobe/ffmpeg, argument lists only, never a shell
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from mutagen.mp4 import Atom, AtomError, Atoms, MP4Info, MP4StreamInfoError

from civicpost.exceptions import ApplicationError

PROBE_TIMEOUT_SECONDS = 60
POSTER_TIMEOUT_SECONDS = 60
TRANSCODE_TIMEOUT_SECONDS = 15 * 60
POSTER_MAX_WIDTH = 640

# A sample entry's four-character code (ISO/IEC 14496-12 `stsd`) -> the codec name ffprobe uses.
VIDEO_CODECS = {
    b"avc1": "h264",
    b"avc3": "h264",
    b"hvc1": "hevc",
    b"hev1": "hevc",
    b"mp4v": "mpeg4",
    b"vp09": "vp9",
    b"av01": "av1",
    b"apcn": "prores",
    b"apch": "prores",
    b"apcs": "prores",
    b"apco": "prores",
    b"ap4h": "prores",
    b"jpeg": "mjpeg",
}
AUDIO_CODECS = {
    b"mp4a": "aac",
    b"ac-3": "ac3",
    b"ec-3": "eac3",
    b"Opus": "opus",
    b"fLaC": "flac",
    b"alac": "alac",
    b"lpcm": "pcm",
    b"sowt": "pcm",
    b"twos": "pcm",
    b".mp3": "mp3",
}


@dataclass(frozen=True)
class VideoFacts:
    """What CivicPost knows of a video file. `audio_codec` is "" for a silent video; `probed_with` names the
    tool that read it ("ffprobe" or "mutagen")."""

    duration_seconds: float
    width: int
    height: int
    video_codec: str
    audio_codec: str
    frame_rate: float
    probed_with: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ffprobe_path() -> str | None:
    """The ffprobe to use (CIVICPOST_FFPROBE, else the one on PATH), or None when it is not installed."""
    return shutil.which(getattr(settings, "CIVICPOST_FFPROBE", "") or "ffprobe")


def ffmpeg_path() -> str | None:
    """The ffmpeg to use (CIVICPOST_FFMPEG, else the one on PATH), or None when it is not installed."""
    return shutil.which(getattr(settings, "CIVICPOST_FFMPEG", "") or "ffmpeg")


def ffmpeg_missing_notice() -> str:
    """Returns, in plain words, what is missing without ffmpeg; "" when ffprobe and ffmpeg are both there."""
    if ffprobe_path() and ffmpeg_path():
        return ""
    return _(
        "ffmpeg is not installed on this server, so videos are checked from their MP4 container only, get no "
        "preview frame, and a video that does not fit a platform is refused instead of converted. Ask IT to "
        "install the “ffmpeg” package."
    )


def _unreadable() -> ApplicationError:
    return ApplicationError(_("This video file could not be read. Export it again as MP4 (H.264) and upload it."))


@contextmanager
def local_copy(handle: IO[bytes], *, suffix: str = ".mp4") -> Iterator[Path]:
    """Yields the path of a temporary copy of `handle` (ffprobe and ffmpeg seek in the file), removed after."""
    with tempfile.TemporaryDirectory(prefix="civicpost-video-") as folder:
        path = Path(folder) / f"input{suffix}"
        handle.seek(0)
        with path.open("wb") as target:
            shutil.copyfileobj(handle, target, 1024 * 1024)
        handle.seek(0)
        yield path


# --- ffprobe ----------------------------------------------------------------------------------------


def _rate(text: str) -> float:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(value)


def probe_with_ffprobe(path: Path, *, ffprobe: str) -> VideoFacts:
    """Reads a video file with ffprobe. Raises ApplicationError when it is not a video ffprobe can read."""
    try:
        completed = subprocess.run(  # noqa: S603 - a fixed argument list, no shell
            [ffprobe, "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
            capture_output=True,
            timeout=PROBE_TIMEOUT_SECONDS,
            check=False,
        )
        report = json.loads(completed.stdout or b"{}")
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        raise _unreadable() from error
    streams = report.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video" and not _is_cover_art(s)), None)
    if completed.returncode != 0 or video is None:
        raise ApplicationError(_("This file has no video in it. Upload a video exported as MP4 (H.264)."))
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    if _rotated(video):
        width, height = height, width
    duration = float(report.get("format", {}).get("duration") or video.get("duration") or 0)
    return VideoFacts(
        duration_seconds=round(duration, 3),
        width=width,
        height=height,
        video_codec=str(video.get("codec_name") or ""),
        audio_codec=str(audio.get("codec_name") or "") if audio else "",
        frame_rate=round(_rate(str(video.get("avg_frame_rate") or "")) or _rate(str(video.get("r_frame_rate"))), 3),
        probed_with="ffprobe",
    )


def _is_cover_art(stream: dict[str, Any]) -> bool:
    return bool((stream.get("disposition") or {}).get("attached_pic"))


def _rotated(stream: dict[str, Any]) -> bool:
    """True when the player turns the picture a quarter (a phone held upright): width and height swap."""
    rotation = (stream.get("tags") or {}).get("rotate")
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            rotation = side["rotation"]
    try:
        return int(float(rotation or 0)) % 180 != 0
    except ValueError:
        return False


# --- mutagen (no ffmpeg) ----------------------------------------------------------------------------


def _payload(atom: Atom, handle: IO[bytes]) -> bytes:
    handle.seek(atom.offset + 8)
    data = handle.read(atom.length - 8)
    if len(data) != atom.length - 8:
        raise _unreadable()
    return data


def _sample_entry(trak: Atom, handle: IO[bytes]) -> bytes:
    """The four-character code of a track's first sample entry (`stsd`): its codec."""
    stsd = _payload(trak[(b"mdia", b"minf", b"stbl", b"stsd")], handle)
    return stsd[12:16] if len(stsd) >= 16 else b""


def _track_seconds(trak: Atom, handle: IO[bytes]) -> float:
    mdhd = _payload(trak[(b"mdia", b"mdhd")], handle)
    if mdhd[0] == 1:
        timescale, duration = struct.unpack_from(">IQ", mdhd, 20)
    else:
        timescale, duration = struct.unpack_from(">II", mdhd, 12)
    return duration / timescale if timescale else 0.0


def _sample_count(trak: Atom, handle: IO[bytes]) -> int:
    stsz = _payload(trak[(b"mdia", b"minf", b"stbl", b"stsz")], handle)
    return int(struct.unpack_from(">I", stsz, 8)[0])


def _track_size(trak: Atom, handle: IO[bytes]) -> tuple[int, int, bool]:
    """(width, height, turned a quarter) from the track header (16.16 fixed point, after its matrix)."""
    tkhd = _payload(trak[(b"tkhd",)], handle)
    width, height = struct.unpack_from(">II", tkhd, len(tkhd) - 8)
    matrix_a, matrix_b = struct.unpack_from(">ii", tkhd, len(tkhd) - 44)
    return width >> 16, height >> 16, matrix_a == 0 and matrix_b != 0


def probe_with_mutagen(handle: IO[bytes]) -> VideoFacts:
    """Reads an MP4/MOV container with mutagen (no ffmpeg). Raises ApplicationError when it cannot."""
    handle.seek(0)
    try:
        atoms = Atoms(handle)
        info = MP4Info(atoms, handle)
        traks = atoms[b"moov"].findall(b"trak")
        video: Atom | None = None
        audio: Atom | None = None
        for trak in traks:
            kind = _payload(trak[(b"mdia", b"hdlr")], handle)[8:12]
            if kind == b"vide" and video is None:
                video = trak
            elif kind == b"soun" and audio is None:
                audio = trak
        if video is None:
            raise ApplicationError(_("This file has no video in it. Upload a video exported as MP4 (H.264)."))
        width, height, turned = _track_size(video, handle)
        seconds = _track_seconds(video, handle)
        samples = _sample_count(video, handle)
        video_fourcc = _sample_entry(video, handle)
        audio_fourcc = _sample_entry(audio, handle) if audio is not None else b""
    except (AtomError, MP4StreamInfoError, KeyError, struct.error, IndexError) as error:
        raise _unreadable() from error
    finally:
        handle.seek(0)
    if turned:
        width, height = height, width
    return VideoFacts(
        duration_seconds=round(float(info.length or seconds), 3),
        width=width,
        height=height,
        video_codec=VIDEO_CODECS.get(video_fourcc, video_fourcc.decode("latin-1").strip()),
        audio_codec=AUDIO_CODECS.get(audio_fourcc, audio_fourcc.decode("latin-1").strip()) if audio_fourcc else "",
        frame_rate=round(samples / seconds, 3) if seconds else 0.0,
        probed_with="mutagen",
    )


def video_probe(handle: IO[bytes], *, suffix: str = ".mp4") -> VideoFacts:
    """Returns the facts of a video: with ffprobe when it is installed, else from the container (mutagen).
    Raises ApplicationError in plain words when the file cannot be read as a video."""
    ffprobe = ffprobe_path()
    if ffprobe is None:
        return probe_with_mutagen(handle)
    with local_copy(handle, suffix=suffix) as path:
        return probe_with_ffprobe(path, ffprobe=ffprobe)


# --- ffmpeg -----------------------------------------------------------------------------------------


def poster_frame(handle: IO[bytes], *, suffix: str = ".mp4", at_seconds: float = 0.0) -> bytes | None:
    """Returns a JPEG of one frame (at most POSTER_MAX_WIDTH wide) for the composer's preview, or None when
    ffmpeg is not installed or cannot make one (the preview then shows a labelled placeholder)."""
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        return None
    with local_copy(handle, suffix=suffix) as path:
        target = path.with_name("poster.jpg")
        try:
            subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                [
                    ffmpeg,
                    "-v",
                    "error",
                    "-nostdin",
                    "-ss",
                    f"{max(0.0, at_seconds):.3f}",
                    "-i",
                    str(path),
                    "-frames:v",
                    "1",
                    "-vf",
                    f"scale='min({POSTER_MAX_WIDTH},iw)':-2",
                    "-f",
                    "image2",
                    "-c:v",
                    "mjpeg",
                    "-y",
                    str(target),
                ],
                capture_output=True,
                timeout=POSTER_TIMEOUT_SECONDS,
                check=True,
            )
            return target.read_bytes() or None
        except (OSError, subprocess.SubprocessError):
            return None


@dataclass(frozen=True)
class VideoTarget:
    """What a transcoded copy must be: at most this frame size (padded to it when `pad`), frame rate and
    bytes (None: no limit)."""

    width: int
    height: int
    pad: bool = False
    max_frame_rate: float | None = None
    max_bytes: int | None = None

    def digest(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:8]


def _even(value: Fraction | float) -> int:
    return max(2, int(value) // 2 * 2)


def video_target(
    *,
    width: int,
    height: int,
    frame_rate: float | None,
    max_width: int | None,
    max_height: int | None,
    aspect_range: tuple[Fraction, Fraction] | None,
    max_frame_rate: float | None,
    max_bytes: int | None,
) -> VideoTarget:
    """The frame a video of `width` × `height` gets for a platform: padded (black bars) to the nearest shape the
    platform takes, then scaled down to its largest frame; the frame rate capped only when it is over."""
    frame_w, frame_h, pad = Fraction(width), Fraction(height), False
    if aspect_range is not None:
        lowest, highest = aspect_range
        ratio = frame_w / frame_h
        if ratio < lowest:
            frame_w, pad = frame_h * lowest, True
        elif ratio > highest:
            frame_h, pad = frame_w / highest, True
    scale = Fraction(1)
    if max_width and frame_w > max_width:
        scale = min(scale, Fraction(max_width) / frame_w)
    if max_height and frame_h > max_height:
        scale = min(scale, Fraction(max_height) / frame_h)
    over = frame_rate is not None and max_frame_rate is not None and frame_rate > max_frame_rate + 0.01
    return VideoTarget(
        width=_even(frame_w * scale),
        height=_even(frame_h * scale),
        pad=pad,
        max_frame_rate=max_frame_rate if over else None,
        max_bytes=max_bytes,
    )


def transcode_arguments(source: Path, target: Path, *, goal: VideoTarget, duration_seconds: float) -> list[str]:
    """ffmpeg's arguments for an H.264 (yuv420p) / AAC MP4 within `goal`: scaled to fit its frame (and padded to
    it when `goal.pad`), the frame rate capped, a bit rate that keeps it under `goal.max_bytes`, and the index at
    the front (`faststart`) so platforms can stream it."""
    filters = [f"scale={goal.width}:{goal.height}:force_original_aspect_ratio=decrease:force_divisible_by=2"]
    if goal.pad:
        filters.append(f"pad={goal.width}:{goal.height}:(ow-iw)/2:(oh-ih)/2:color=black")
    if goal.max_frame_rate:
        filters.append(f"fps={goal.max_frame_rate:g}")
    rate = ["-crf", "23"]
    if goal.max_bytes and duration_seconds > 0:
        # 90% of the byte budget, less 128 kbit/s of sound, spread over the length.
        video_bits = int(goal.max_bytes * 8 * 0.9 / duration_seconds) - 128_000
        if video_bits < 200_000:
            raise ApplicationError(
                _("This video is too long to be made small enough for this platform. Attach a shorter video.")
            )
        rate = ["-b:v", str(video_bits), "-maxrate", str(video_bits), "-bufsize", str(video_bits * 2)]
    return [
        "-v",
        "error",
        "-nostdin",
        "-i",
        str(source),
        "-vf",
        ",".join(filters),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        *rate,
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
        "-y",
        str(target),
    ]


def rendition_name(original: str, *, platform: str, goal: VideoTarget) -> str:
    return f"{original}.{platform}-{goal.digest()}.mp4"


def media_video_rendition(
    path: str, *, platform: str, goal: VideoTarget, duration_seconds: float
) -> tuple[str, VideoFacts, int]:
    """Returns (storage name, facts, size in bytes) of the stored video `path` converted for a platform: a copy
    stored next to it, made once and reused (media_renditions finds it, so it is deleted with the video). Raises
    ApplicationError when ffmpeg is missing or cannot convert it, OSError when storage fails."""
    ffmpeg = ffmpeg_path()
    if ffmpeg is None:
        raise ApplicationError(ffmpeg_missing_notice())
    name = rendition_name(path, platform=platform, goal=goal)
    if not default_storage.exists(name):
        with default_storage.open(path, "rb") as stored, local_copy(stored, suffix=Path(path).suffix) as source:
            target = source.with_name("converted.mp4")
            try:
                subprocess.run(  # noqa: S603 - a fixed argument list, no shell
                    [ffmpeg, *transcode_arguments(source, target, goal=goal, duration_seconds=duration_seconds)],
                    capture_output=True,
                    timeout=TRANSCODE_TIMEOUT_SECONDS,
                    check=True,
                )
            except (OSError, subprocess.SubprocessError) as error:
                raise ApplicationError(
                    _("This video could not be converted for the platform. Export it again as MP4 (H.264/AAC).")
                ) from error
            with target.open("rb") as converted:
                saved = default_storage.save(name, File(converted))
            if saved != name:
                # Another worker stored the same copy a moment earlier: keep that one.
                default_storage.delete(saved)
    with default_storage.open(name, "rb") as handle:
        facts = video_probe(handle)
        size = default_storage.size(name)
    return name, facts, size
