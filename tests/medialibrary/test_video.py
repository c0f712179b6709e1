"""Video in the media library: facts read with ffprobe or, without it, from the container (mutagen); poster frames;
captions checked cue by cue; burned-in captions declared with who and when; what is missing without ffmpeg said
plainly; and a copy converted to fit a platform."""

from __future__ import annotations

import io
import shutil
from fractions import Fraction

import pytest
from django.core import checks
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from civicpost.exceptions import ApplicationError
from medialibrary import services, video
from medialibrary.apps import video_tools_check
from medialibrary.models import MediaAsset
from scheduler.adapters.base import MediaItem, VideoLimits
from scheduler.media_fitting import LibraryMediaFitter
from tests.fakeplatform.video_helpers import sample_mp4
from tests.medialibrary.helpers import TINY_MP4, upload

pytestmark = pytest.mark.django_db
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg path (CI installs ffmpeg)")


@pytest.fixture
def no_ffmpeg(monkeypatch):
    monkeypatch.setattr(video, "ffprobe_path", lambda: None)
    monkeypatch.setattr(video, "ffmpeg_path", lambda: None)


def _upload(personas, data: bytes, name: str = "clip.mp4", **kwargs):  # noqa: ANN001, ANN003, ANN202
    return services.media_upload(
        user=personas.alice, department=personas.parks, upload=upload(name, data, "video/mp4"), **kwargs
    )


# --- Facts ------------------------------------------------------------------------------------------


def test_without_ffmpeg_the_facts_come_from_the_container(personas, no_ffmpeg):
    asset = _upload(personas, TINY_MP4.read_bytes())

    assert (asset.width, asset.height, asset.duration_seconds, asset.frame_rate) == (64, 48, 1.0, 10.0)
    assert (asset.video_codec, asset.audio_codec, asset.probed_with, asset.poster_name) == ("h264", "", "mutagen", "")


@needs_ffmpeg
def test_with_ffmpeg_the_facts_come_from_ffprobe_and_a_poster_frame_is_stored(personas):
    asset = _upload(personas, sample_mp4())

    assert (asset.width, asset.height, asset.duration_seconds, asset.frame_rate) == (320, 240, 2.0, 25.0)
    assert (asset.video_codec, asset.audio_codec, asset.probed_with) == ("h264", "aac", "ffprobe")
    with default_storage.open(asset.poster_name, "rb") as poster:
        assert poster.read(3) == b"\xff\xd8\xff"  # a JPEG
    assert services.media_renditions(asset.file_name) == [asset.poster_name]  # deleted with the video


@needs_ffmpeg
def test_both_readers_agree_on_a_real_video():
    handle = io.BytesIO(sample_mp4())
    by_container = video.probe_with_mutagen(handle)
    by_ffprobe = video.video_probe(handle)
    assert (by_container.width, by_container.height, by_container.video_codec, by_container.audio_codec) == (
        by_ffprobe.width,
        by_ffprobe.height,
        by_ffprobe.video_codec,
        by_ffprobe.audio_codec,
    )
    assert by_container.frame_rate == by_ffprobe.frame_rate == 25.0
    assert abs(by_container.duration_seconds - by_ffprobe.duration_seconds) < 0.1


def test_the_media_page_and_the_system_check_say_plainly_what_is_missing_without_ffmpeg(personas, no_ffmpeg):
    alice = Client()
    alice.force_login(personas.alice)

    page = alice.get(reverse("medialibrary:library")).content.decode()

    assert "ffmpeg is not installed on this server" in page
    [warning] = video_tools_check()
    assert (warning.level, warning.id) == (checks.WARNING, "medialibrary.W001")


@needs_ffmpeg
def test_with_ffmpeg_there_is_no_notice(personas):
    alice = Client()
    alice.force_login(personas.alice)
    assert "ffmpeg is not installed" not in alice.get(reverse("medialibrary:library")).content.decode()
    assert video_tools_check() == []


# --- Captions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("captions", "message"),
    [
        (b"WEBVTT\n\n00:02.000 --> 00:01.000\nBackwards.\n", "Line 3 of the captions file ends a caption before"),
        (
            b"WEBVTT\n\n00:05.000 --> 00:06.000\nLater.\n\n00:01.000 --> 00:02.000\nEarlier.\n",
            "Line 6 of the captions file starts earlier than the caption before it",
        ),
        (b"1\n00:00:00,000 --> 00:00:01,000\nOne.\n\n2\n00:00:01.000 --> 00:00:02,000\nTwo.\n", "Line 6"),
        (b"WEBVTT\n\nNOTE no cues here\n", "The captions file has no captions in it."),
        (b"WEBVTT\n\n00:00.000 --> 00:61.000\nNo such second.\n", "has a timing CivicPost cannot read"),
    ],
)
def test_captions_must_parse_and_run_forward_in_time(personas, captions, message):
    with pytest.raises(ApplicationError, match=message):
        _upload(personas, TINY_MP4.read_bytes(), captions=upload("c.vtt", captions))
    assert not MediaAsset.objects.exists()


def test_captions_with_hours_and_cue_settings_are_accepted():
    text = "WEBVTT\n\n01:00:00.000 --> 01:00:02.500 align:start line:0\nAn hour in.\n"
    assert services.captions_cues(text, kind="vtt") == 1


def test_burned_in_captions_are_declared_with_who_and_when_and_satisfy_the_gate(personas):
    asset = _upload(personas, TINY_MP4.read_bytes())
    assert not asset.has_captions

    services.media_update(user=personas.alice, asset=asset, alt_text="Clip", captions_burned_in=True)

    asset.refresh_from_db()
    assert asset.has_captions and asset.captions_burned_in_by == personas.alice
    assert asset.captions_burned_in_at is not None
    event = AuditEvent.objects.get(action="media.captions_burned_in")
    assert event.changes == {"captions_burned_in": {"before": False, "after": True}}
    [entry] = services.media_snapshot([type("Choice", (), {"asset": asset, "alt_text": "Clip"})()])
    assert entry["captions_burned_in"] is True and services.media_gate_problems([entry]) == []


def test_the_library_upload_form_records_a_burned_in_declaration(personas):
    alice = Client()
    alice.force_login(personas.alice)
    response = alice.post(
        reverse("medialibrary:library"),
        {
            "department": personas.parks.pk,
            "file": upload("clip.mp4", TINY_MP4.read_bytes(), "video/mp4"),
            "alt_text": "Clip",
            "captions_burned_in": "on",
        },
    )
    assert response.status_code == 302
    asset = MediaAsset.objects.get()
    assert (asset.captions_burned_in_by, asset.has_captions) == (personas.alice, True)
    page = alice.get(reverse("medialibrary:library")).content.decode()
    assert "Captions: burned into the picture (declared by" in page


# --- Converting for a platform ----------------------------------------------------------------------


def test_a_frame_is_padded_to_the_nearest_shape_then_scaled_to_the_largest_frame():
    wide = video.video_target(
        width=3840,
        height=1080,
        frame_rate=60.0,
        max_width=1920,
        max_height=1920,
        aspect_range=(Fraction(1, 3), Fraction(3, 1)),
        max_frame_rate=30.0,
        max_bytes=None,
    )
    assert (wide.width, wide.height, wide.pad, wide.max_frame_rate) == (1920, 640, True, 30.0)
    fits = video.video_target(
        width=1280,
        height=720,
        frame_rate=25.0,
        max_width=1920,
        max_height=1920,
        aspect_range=None,
        max_frame_rate=60.0,
        max_bytes=None,
    )
    assert (fits.width, fits.height, fits.pad, fits.max_frame_rate) == (1280, 720, False, None)


@needs_ffmpeg
def test_a_video_outside_a_platforms_limits_is_converted_once_to_h264_aac_within_them(personas):
    asset = _upload(personas, sample_mp4())
    item = MediaItem(
        url=asset.url,
        mime_type=asset.mime_type,
        path=asset.file_name,
        width=asset.width,
        height=asset.height,
        size_bytes=asset.size_bytes,
        duration_seconds=asset.duration_seconds,
        video_codec=asset.video_codec,
        audio_codec=asset.audio_codec,
        frame_rate=asset.frame_rate,
    )
    limits = VideoLimits(max_bytes=10_000_000, max_seconds=60, max_width=160, max_height=160, max_frame_rate=15.0)

    converted = LibraryMediaFitter().video_rendition(item, limits, platform="x")
    again = LibraryMediaFitter().video_rendition(item, limits, platform="x")

    assert converted.path == again.path and converted.path.startswith(f"{asset.file_name}.x-")
    assert (converted.width, converted.height, converted.frame_rate) == (160, 120, 15.0)
    assert (converted.video_codec, converted.audio_codec, converted.mime_type) == ("h264", "aac", "video/mp4")
    assert converted.url.endswith(converted.path)
    assert converted.path in services.media_renditions(asset.file_name)
