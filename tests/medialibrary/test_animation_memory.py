"""An animated image is cleaned frame by frame, within a budget of decoded pixels, so one small upload
cannot make the server hold gigabytes (a 137 KB GIF of 10 frames of 4000 × 4000 took 1.2 GB before).

The peak memory is measured in a fresh Python process (its own ru_maxrss), so nothing else this test run
has allocated counts against it."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from civicpost.exceptions import ApplicationError
from medialibrary import services

REPO = Path(__file__).resolve().parents[2]
PEAK_LIMIT_MB = 400

# Builds a GIF of `frames` flat frames of `side` × `side` (tiny on disk: each frame is one colour), drawing
# the frames one at a time so that this helper process stays small too.
MAKE_GIF = """
import sys
from PIL import Image
path, side, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first = Image.new("P", (side, side), 0)
first.putpalette([c for i in range(256) for c in (i, 255 - i, (i * 7) % 256)])
rest = (Image.new("P", (side, side), i) for i in range(1, count))
first.save(path, format="GIF", save_all=True, append_images=rest, duration=100, loop=0)
"""

# Runs image_clean on the file and prints the outcome and this process's peak resident memory.
CLEAN_AND_MEASURE = """
import json, os, resource, sys
# A child starts with its parent's peak (Linux keeps ru_maxrss across fork and exec), so the peak is reset
# first and read from /proc: the figure is this process's own, however large the test run has grown.
open("/proc/self/clear_refs", "w").write("5")
def peak_kb():
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
import django
django.setup()
from civicpost.exceptions import ApplicationError
from medialibrary.services import image_clean
data = open(sys.argv[1], "rb").read()
baseline = peak_kb()
try:
    clean = image_clean(data)
    outcome = {"accepted": True, "width": clean.width, "height": clean.height, "bytes": len(clean.data)}
except ApplicationError as error:
    outcome = {"accepted": False, "message": str(error)}
peak = peak_kb()
print(json.dumps({**outcome, "baseline_mb": baseline / 1024, "peak_mb": peak / 1024}))
"""


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _clean_in_a_fresh_process(tmp_path: Path, *, side: int, frames: int) -> dict:
    path = tmp_path / f"{side}x{frames}.gif"
    _run(MAKE_GIF, str(path), str(side), str(frames))
    result = json.loads(_run(CLEAN_AND_MEASURE, str(path)).strip().splitlines()[-1])
    result["file_bytes"] = path.stat().st_size
    print(f"{side}×{side}×{frames} ({result['file_bytes']} bytes): {result}")  # the figures, with -s
    return result


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")
def test_a_small_gif_of_huge_frames_is_refused_without_decoding_them(tmp_path):
    result = _clean_in_a_fresh_process(tmp_path, side=4000, frames=10)

    assert result["file_bytes"] < 200_000
    assert not result["accepted"]
    assert "10 frames of 4000 × 4000 pixels" in result["message"]
    assert "at most 30 million pixels" in result["message"]
    assert result["peak_mb"] < PEAK_LIMIT_MB
    assert result["peak_mb"] - result["baseline_mb"] < 50


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in kilobytes on Linux")
def test_the_largest_animation_allowed_is_cleaned_within_the_memory_bound(tmp_path):
    result = _clean_in_a_fresh_process(tmp_path, side=1700, frames=10)  # 28.9 million pixels in all

    assert result["accepted"]
    assert (result["width"], result["height"]) == (1700, 1700)
    assert result["peak_mb"] < PEAK_LIMIT_MB


def _animation(image_format: str, sizes: list[tuple[int, int]], durations: list[int], **options) -> bytes:
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]
    frames = [Image.new("RGB", size, colours[i % 4]) for i, size in enumerate(sizes)]
    out = io.BytesIO()
    frames[0].save(
        out, format=image_format, save_all=True, append_images=frames[1:], duration=durations, loop=0, **options
    )
    return out.getvalue()


def test_a_gif_keeps_every_frame_and_its_duration_and_loses_its_comment():
    data = _animation("GIF", [(40, 30)] * 3, [100, 250, 400], comment=b"taken at 41.88,-87.63")

    clean = services.image_clean(data)

    image = Image.open(io.BytesIO(clean.data))
    assert image.n_frames == 3
    durations = []
    for index in range(3):
        image.seek(index)
        durations.append(image.info["duration"])
    assert durations == [100, 250, 400]
    assert b"41.88" not in clean.data
    image.seek(1)
    assert image.convert("RGB").getpixel((5, 5)) == (0, 255, 0)


def test_an_animated_webp_keeps_every_frame_and_its_duration_and_loses_its_metadata():
    exif = Image.Exif()
    exif[0x010F] = "CityCam"
    data = _animation("WEBP", [(40, 30)] * 3, [100, 250, 400], exif=exif.tobytes(), xmp=b"<x:xmpmeta>secret</x>")

    clean = services.image_clean(data)

    image = Image.open(io.BytesIO(clean.data))
    assert image.n_frames == 3
    assert b"CityCam" not in clean.data and b"secret" not in clean.data
    assert "exif" not in image.info and "xmp" not in image.info
    durations = []
    for index in range(3):
        image.seek(index)
        image.load()
        durations.append(image.info["duration"])
    assert durations == [100, 250, 400]


@pytest.mark.parametrize("image_format", ["GIF", "WEBP"])
def test_an_animation_over_the_pixel_budget_is_refused_in_plain_words(image_format, monkeypatch):
    monkeypatch.setattr(services, "MAX_ANIMATION_PIXELS", 5_000)
    data = _animation(image_format, [(40, 30)] * 5, [100] * 5)  # 6,000 pixels in all

    with pytest.raises(ApplicationError, match="5 frames of 40 × 30 pixels"):
        services.image_clean(data)


def test_frames_are_counted_as_they_are_decoded_not_only_from_the_header(monkeypatch):
    # A GIF frame may be larger than the canvas its header announces: the budget counts decoded frames.
    monkeypatch.setattr(services, "MAX_ANIMATION_PIXELS", 5_000)
    monkeypatch.setattr(services, "_check_animation_budget", lambda width, height, frames: None)
    data = _animation("GIF", [(40, 30)] * 5, [100] * 5)

    with pytest.raises(ApplicationError, match="all frames together may hold at most"):
        services.image_clean(data)
