"""The media library: every upload is checked and cleaned (EXIF and GPS gone), stored under MEDIA_ROOT
through Django's storage, served at a public address, and made to fit each platform at publish time."""

from __future__ import annotations

import dataclasses
import io
import re
from fractions import Fraction

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from PIL import Image

from civicpost.exceptions import ApplicationError
from medialibrary import services
from medialibrary.models import MediaAsset, MediaKind
from tests.medialibrary.helpers import (
    GPS_IFD,
    LOCATION,
    MAKE,
    image_bytes,
    jpeg_upload,
    mp4_bytes,
    upload,
)


def stored_image(asset: MediaAsset) -> Image.Image:
    with default_storage.open(asset.file_name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
        return image


def test_gps_and_camera_exif_are_gone_after_upload(personas):
    original = image_bytes("JPEG", gps=True)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test file really has a position
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload(gps=True))
    image = stored_image(asset)
    exif = image.getexif()
    assert not exif.get_ifd(GPS_IFD)
    assert MAKE not in exif
    assert len(exif) == 0
    assert "exif" not in image.info
    with default_storage.open(asset.file_name, "rb") as handle:
        raw = handle.read()
    assert b"CityCam" not in raw and b"Exif" not in raw
    assert (asset.kind, asset.mime_type, asset.width, asset.height) == (MediaKind.IMAGE, "image/jpeg", 64, 48)
    assert asset.size_bytes == len(raw)
    assert asset.file_name.startswith("library/parks/") and asset.file_name.endswith(".jpg")


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_png_and_webp_lose_their_exif_too(personas, image_format):
    data = image_bytes(image_format, gps=True)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)
    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=upload(f"a.{image_format.lower()}", data)
    )
    image = stored_image(asset)
    assert not image.getexif().get_ifd(GPS_IFD)
    assert image.format == image_format


def test_the_exif_orientation_is_applied_to_the_pixels_before_it_is_dropped(personas):
    # Orientation 6: the camera was turned; the picture must still be upright without the tag.
    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=jpeg_upload(size=(64, 48), orientation=6)
    )
    assert (asset.width, asset.height) == (48, 64)
    assert not stored_image(asset).getexif()


def test_an_animated_gif_keeps_its_frames(personas):
    frames = [Image.new("RGB", (20, 20), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0, comment=b"x")
    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=upload("a.gif", out.getvalue())
    )
    image = stored_image(asset)
    assert getattr(image, "n_frames", 1) == 3
    assert "comment" not in image.info


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.txt", b"just some text", "not an image or video CivicPost can use"),
        ("icon.bmp", None, "not an image or video CivicPost can use"),
        ("cut.jpg", None, "damaged or incomplete"),
    ],
)
def test_files_outside_the_allow_list_or_damaged_are_refused(personas, name, data, message):
    if name == "icon.bmp":
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="BMP")
        data = out.getvalue()
    if name == "cut.jpg":
        data = image_bytes("JPEG", size=(200, 200))[:300]
    with pytest.raises(ApplicationError, match=message):
        services.media_upload(user=personas.alice, department=personas.parks, upload=upload(name, data))
    assert not MediaAsset.objects.exists()


def test_too_many_pixels_are_refused_before_decoding(personas, monkeypatch):
    monkeypatch.setattr(services, "MAX_IMAGE_PIXELS", 100 * 100)
    with pytest.raises(ApplicationError, match=r"101 × 100 pixels; the limit is 0 million"):
        services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload(size=(101, 100)))


def test_too_many_bytes_are_refused(personas, monkeypatch):
    monkeypatch.setattr(services, "MAX_IMAGE_BYTES", 1000)
    big = image_bytes("PNG", size=(300, 300))
    with pytest.raises(ApplicationError, match="the limit is 0.0 MB"):
        services.media_upload(user=personas.alice, department=personas.parks, upload=upload("big.png", big))


def test_only_members_add_to_a_department_library(personas):
    with pytest.raises(ApplicationError, match="Only members of Parks and Recreation"):
        services.media_upload(user=personas.carol, department=personas.parks, upload=jpeg_upload())


# --- Video and captions ---------------------------------------------------------------------------


def test_mp4_location_metadata_is_blanked_and_the_file_keeps_its_size(personas):
    data = mp4_bytes()
    assert LOCATION in data
    asset = services.media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=upload("council.mp4", data, "video/mp4"),
        transcript="Mayor: Welcome to the council meeting.",
    )
    with default_storage.open(asset.file_name, "rb") as handle:
        stored = handle.read()
    assert LOCATION not in stored and b"camera track" not in stored
    assert len(stored) == len(data)
    assert stored[:8] == data[:8]  # still an MP4 (ftyp first)
    assert stored.count(b"free") == data.count(b"free") + 2 and b"udta" not in stored
    media_end = data.index(b"moov") - 4
    assert stored[:media_end] == data[:media_end]  # the media data did not move
    # A transcript is kept, but it is not captions: residents watching the video do not see it.
    assert (asset.kind, asset.mime_type, asset.has_captions) == (MediaKind.VIDEO, "video/mp4", False)


def test_a_quicktime_file_is_stored_as_mov(personas):
    data = bytearray(mp4_bytes())
    data[8:12] = b"qt  "
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=upload("a.mov", bytes(data)))
    assert (asset.mime_type, asset.file_name.endswith(".mov")) == ("video/quicktime", True)
    assert (asset.width, asset.height, asset.video_codec) == (64, 48, "h264")


@pytest.mark.parametrize(
    ("name", "data", "extension"),
    [
        ("captions.vtt", "\ufeffWEBVTT\n\n00:00.000 --> 00:02.000\nWelcome to the council meeting.\n", "vtt"),
        ("captions.srt", "1\n00:00:00,000 --> 00:00:02,000\nWelcome to the council meeting.\n", "srt"),
    ],
)
def test_captions_in_webvtt_or_srt_are_stored_with_the_video(personas, name, data, extension):
    asset = services.media_upload(
        user=personas.alice,
        department=personas.parks,
        upload=upload("council.mp4", mp4_bytes(), "video/mp4"),
        captions=upload(name, data.encode()),
    )
    assert asset.captions_name.endswith(f".{extension}")
    assert asset.captions_url.startswith("http://testserver/media/library/parks/")


def test_a_file_that_is_not_captions_is_refused(personas):
    with pytest.raises(ApplicationError, match="not a captions file"):
        services.media_upload(
            user=personas.alice,
            department=personas.parks,
            upload=upload("council.mp4", mp4_bytes(), "video/mp4"),
            captions=upload("notes.txt", b"hello"),
        )
    assert not MediaAsset.objects.exists()


def test_the_gate_asks_for_alt_text_and_captions_in_one_plain_sentence_each():
    image = {"mime_type": "image/jpeg", "alt_text": " "}
    video = {"mime_type": "video/mp4", "alt_text": "Council", "captions_url": "", "transcript": "Hi"}
    assert services.media_gate_problems([image, video]) == [
        "Every image needs alt text, so residents who use screen readers get the message.",
        "Every video needs a captions file (WebVTT or SRT) or captions burned into the picture, so residents who "
        "are deaf or hard of hearing get the message.",
    ]
    described = {**image, "alt_text": "Kids at a splash pad"}
    assert services.media_gate_problems([described, {**video, "captions_burned_in": True}]) == []
    assert services.media_gate_problems([described, {**video, "captions_url": "https://city.example/c.vtt"}]) == []


# --- Public address, snapshot, publish time --------------------------------------------------------


def test_the_public_address_serves_the_clean_file_without_sign_in(personas):
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload(gps=True))
    assert asset.url == f"http://testserver/media/{asset.file_name}"
    response = Client().get(f"/media/{asset.file_name}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"CityCam" not in b"".join(response.streaming_content)
    assert Client().get("/media/library/parks/nothing-here.jpg").status_code == 404
    assert Client().get("/media/../settings.py").status_code == 404


def test_the_snapshot_lists_url_path_type_alt_text_and_size(personas):
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload())
    item = type("Item", (), {"asset": asset, "alt_text": "Kids at a splash pad"})()
    assert services.media_snapshot([item]) == [
        {
            "url": f"http://testserver/media/{asset.file_name}",
            "path": asset.file_name,
            "mime_type": "image/jpeg",
            "alt_text": "Kids at a splash pad",
            "width": 64,
            "height": 48,
            "size_bytes": asset.size_bytes,
        }
    ]


def test_images_are_made_to_fit_a_platform_at_publish_time(personas):
    data = image_bytes("PNG", size=(1200, 900))
    asset = services.media_upload(user=personas.alice, department=personas.parks, upload=upload("big.png", data))
    item = {"path": asset.file_name, "mime_type": asset.mime_type}
    same, mime = services.media_bytes_for_platform(item, max_bytes=10_000_000)
    assert mime == "image/png" and Image.open(io.BytesIO(same)).size == (1200, 900)
    smaller, mime = services.media_bytes_for_platform(item, max_bytes=10_000_000, max_side=600)
    assert Image.open(io.BytesIO(smaller)).size == (600, 450)
    converted, mime = services.media_bytes_for_platform(item, max_bytes=30_000, mime_types=("image/jpeg",))
    assert mime == "image/jpeg" and len(converted) <= 30_000


def _encoded(image: Image.Image, image_format: str, **options) -> bytes:  # noqa: ANN003
    out = io.BytesIO()
    image.save(out, format=image_format, **options)
    return out.getvalue()


def test_a_transparent_png_becomes_a_jpeg_on_white_not_black():
    picture = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    picture.paste((0, 0, 255, 255), (10, 10, 30, 20))

    fitted = services.image_fit(
        _encoded(picture, "PNG"), limits=services.FitLimits(max_bytes=1_000_000, mime_types=("image/jpeg",))
    )

    image = Image.open(io.BytesIO(fitted.data))
    assert fitted.changed and fitted.mime_type == "image/jpeg" and image.format == "JPEG"
    assert image.getpixel((2, 2)) == pytest.approx((255, 255, 255), abs=3)
    assert image.getpixel((20, 15)) == pytest.approx((0, 0, 255), abs=16)


@pytest.mark.parametrize(("size", "expected"), [((1000, 200), (1000, 524)), ((200, 1000), (800, 1000))])
def test_an_image_outside_the_aspect_range_is_padded_and_scaled_to_the_exact_limits(size, expected):
    limits = services.FitLimits(
        max_bytes=1_000_000, mime_types=("image/jpeg",), aspect_range=(Fraction(4, 5), Fraction(191, 100))
    )

    fitted = services.image_fit(_encoded(Image.new("RGB", size, (10, 120, 10)), "JPEG"), limits=limits)
    smaller = services.image_fit(
        _encoded(Image.new("RGB", size, (10, 120, 10)), "JPEG"),
        limits=dataclasses.replace(limits, max_side=333),
    )

    assert (fitted.width, fitted.height) == expected
    for result in (fitted, smaller):
        image = Image.open(io.BytesIO(result.data))
        assert image.size == (result.width, result.height)
        assert Fraction(4, 5) <= Fraction(image.width, image.height) <= Fraction(191, 100)
    assert max(smaller.width, smaller.height) <= 333


def test_an_animation_that_fits_is_left_alone_and_one_that_does_not_keeps_its_first_frame():
    frames = [Image.new("RGB", (60, 40), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    data = _encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    gifs = ("image/jpeg", "image/png", "image/gif")

    same = services.image_fit(data, limits=services.FitLimits(max_bytes=1_000_000, mime_types=gifs))
    still = services.image_fit(data, limits=services.FitLimits(max_bytes=1_000_000, mime_types=("image/jpeg",)))

    assert same.data == data and not same.changed
    image = Image.open(io.BytesIO(still.data))
    assert image.format == "JPEG" and getattr(image, "n_frames", 1) == 1
    assert image.getpixel((30, 20)) == pytest.approx((255, 0, 0), abs=8)


def test_a_file_that_is_not_an_image_is_refused_in_plain_words():
    with pytest.raises(ApplicationError, match="could not be read"):
        services.image_fit(b"\0" * 1000, limits=services.FitLimits(max_bytes=10))


def test_fitted_copies_are_named_after_their_original_and_the_limits():
    limits = services.FitLimits(max_bytes=8 * 1024 * 1024, mime_types=("image/jpeg",))
    name = services.rendition_name("library/parks/abc.png", platform="instagram", limits=limits, mime_type="image/jpeg")

    assert re.fullmatch(r"library/parks/abc\.png\.instagram-[0-9a-f]{8}\.jpg", name)
    assert services.rendition_original(name) == "library/parks/abc.png"
    assert services.rendition_original("library/parks/abc.png") is None
    other = services.rendition_name(
        "library/parks/abc.png", platform="instagram", limits=services.FitLimits(max_bytes=1), mime_type="image/jpeg"
    )
    assert other != name  # new limits, new copy


# --- Pages ----------------------------------------------------------------------------------------


def test_library_page_uploads_and_shows_only_own_departments_files(personas):
    alice = Client()
    alice.force_login(personas.alice)
    response = alice.post(
        reverse("medialibrary:library"),
        {"department": personas.parks.pk, "file": jpeg_upload("pool.jpg"), "alt_text": "The city pool"},
    )
    assert response.status_code == 302
    page = alice.get(reverse("medialibrary:library")).content.decode()
    assert "pool.jpg" in page and "The city pool" in page
    carol = Client()
    carol.force_login(personas.carol)
    assert "pool.jpg" not in carol.get(reverse("medialibrary:library")).content.decode()
    asset = MediaAsset.objects.get()
    assert carol.get(reverse("medialibrary:asset_edit", args=[asset.pk])).status_code == 404


def test_a_refused_upload_says_why_on_the_page(personas):
    alice = Client()
    alice.force_login(personas.alice)
    response = alice.post(
        reverse("medialibrary:library"), {"department": personas.parks.pk, "file": upload("a.txt", b"hello")}
    )
    assert response.status_code == 200
    assert re.search(r"not an image or video CivicPost can use", response.content.decode())


def test_captions_can_be_added_to_a_video_later(personas):
    asset = services.media_upload(
        user=personas.alice, department=personas.parks, upload=upload("council.mp4", mp4_bytes(), "video/mp4")
    )
    assert not asset.has_captions
    alice = Client()
    alice.force_login(personas.alice)
    response = alice.post(
        reverse("medialibrary:asset_edit", args=[asset.pk]),
        {
            "alt_text": "The council in session",
            "transcript": "",
            "captions": upload("c.vtt", b"WEBVTT\n\n00:01.000 --> 00:02.500\nWelcome.\n"),
        },
    )
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.has_captions and asset.alt_text == "The council in session"
