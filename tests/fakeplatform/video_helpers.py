"""Videos for the publishing tests: a real H.264/AAC MP4 made once (ffmpeg when installed, else the media
library's tiny fixture), stored through the media library with captions, attached to an approved post."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from functools import cache
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from medialibrary.models import MediaAsset
from medialibrary.services import media_upload
from scheduler import services
from scheduler.models import Channel, Post
from tests.medialibrary.helpers import TINY_MP4
from tests.scheduler import DEFAULT_TEXT, make_due

CAPTIONS = b"WEBVTT\n\n00:00.000 --> 00:01.000\nWelcome to the splash pad.\n"


@cache
def sample_mp4(seconds: int = 2, size: str = "320x240") -> bytes:
    """A small real MP4 (`size`, default 320 x 240; 25 fps, H.264 with AAC sound) made with ffmpeg, else the tiny
    fixture."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return TINY_MP4.read_bytes()
    suffix = "" if size == "320x240" else f"-{size}"
    target = Path(f"/tmp/civicpost-sample-{seconds}s{suffix}.mp4")  # noqa: S108 - a test fixture file
    if not target.exists():
        subprocess.run(  # noqa: S603 - fixed arguments
            [
                ffmpeg,
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc=size={size}:rate=25",
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440",
                "-t",
                str(seconds),
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                "-y",
                str(target),
            ],
            check=True,
            capture_output=True,
        )
    return target.read_bytes()


def video_asset(personas, data: bytes | None = None, *, captions: bool = True) -> MediaAsset:  # noqa: ANN001
    return media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=SimpleUploadedFile("splash.mp4", data or sample_mp4(), content_type="video/mp4"),
        captions=SimpleUploadedFile("splash.vtt", CAPTIONS) if captions else None,
        allow_duplicate=True,
    )


def video_post(personas, channel: Channel, *, asset: MediaAsset | None = None, text: str = DEFAULT_TEXT) -> Post:  # noqa: ANN001
    """An approved, due post to `channel` with a captioned video."""
    asset = asset or video_asset(personas)
    post = services.post_create(
        author=personas.alice,
        department=channel.department,
        text=text,
        link="",
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        media=[(asset, "The mayor opens the splash pad")],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    post.refresh_from_db()
    make_due(post)
    return post


def stored_video_bytes() -> bytes:
    """The one video in the library as stored (metadata boxes blanked): what platforms receive."""
    from django.core.files.storage import default_storage  # test helper, read once

    with default_storage.open(MediaAsset.objects.get().file_name, "rb") as handle:
        return handle.read()
