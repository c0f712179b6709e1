"""Images made to fit each platform at publish time (scheduler/adapters/media.py, medialibrary.services).

Platforms that take bytes (X, Bluesky, Mastodon): what the fake received is within the platform's limits
and decodes, or is the stored file byte for byte when it already fits. Platforms that download from a URL
(Facebook, Instagram, Threads): the address sent serves, through CivicPost's public media view, a copy
within the limits, or is the file's own address when it already fits. Video is never touched."""

from __future__ import annotations

import datetime as dt
import json
import re
from fractions import Fraction
from urllib.parse import urlsplit

import httpx
import pytest
import responses
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image

from medialibrary.services import media_upload
from scheduler import services
from scheduler.adapters.base import ChannelAccount, ImageLimits, MediaItem, PostContent, PublishError
from scheduler.adapters.bluesky.adapter import MAX_IMAGE_BYTES as BLUESKY_MAX_BYTES
from scheduler.adapters.facebook.adapter import FACEBOOK_MAX_IMAGE_BYTES, FacebookPageAdapter
from scheduler.adapters.instagram.adapter import INSTAGRAM_MAX_IMAGE_BYTES, InstagramAdapter
from scheduler.adapters.mastodon.adapter import MastodonAdapter, instance_cache_key
from scheduler.adapters.media import image_for_upload
from scheduler.adapters.threads.adapter import THREADS_MAX_IMAGE_BYTES, ThreadsAdapter
from scheduler.adapters.x.adapter import MAX_IMAGE_BYTES as X_MAX_BYTES
from scheduler.adapters.x.adapter import XAdapter
from scheduler.models import Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.medialibrary.helpers import mp4_bytes, upload
from tests.scheduler import make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.bluesky import test_adapter as bluesky_tests
from tests.scheduler.adapters.media_helpers import noisy_image, opened, plain_image, store_media, stored_item
from tests.scheduler.adapters.meta_helpers import calls_to, fixture, form

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake
no_sleep = meta_helpers.no_sleep
pds = bluesky_tests.pds

MASTODON = "http://127.0.0.1:8411"  # loopback: the SSRF guard lets tests reach it
GRAPH = "https://graph.facebook.com/v27.0"
THREADS = "https://graph.threads.net/v1.0"
PAGE_ID = "104412345678901"
IG_USER = "17841400000000001"
THREADS_USER = "26123456789012345"


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _no_cached_instance_limits():
    # Only our own key: with REDIS_URL the cache is shared, so never cache.clear().
    cache.delete(instance_cache_key(MASTODON))
    yield
    cache.delete(instance_cache_key(MASTODON))


def multipart_file(body: bytes, field: str) -> tuple[dict[str, str], bytes]:
    """Returns (part headers, content) of one file field of a multipart/form-data body."""
    for part in body.split(b"\r\n--"):
        head, _, content = part.partition(b"\r\n\r\n")
        if f'name="{field}"'.encode() in head:
            headers = dict(
                line.decode().split(": ", 1)
                for line in head.split(b"\r\n")
                if b": " in line and b"form-data" not in line
            )
            disposition = re.search(rb'filename="([^"]*)"', head)
            headers["filename"] = disposition.group(1).decode() if disposition else ""
            return headers, content.removesuffix(b"\r\n")
    raise AssertionError(f"no {field} part in the request")


def within(image: Image.Image, *, max_side: int | None = None, max_pixels: int | None = None) -> bool:
    return (max_side is None or max(image.size) <= max_side) and (
        max_pixels is None or image.width * image.height <= max_pixels
    )


# --- The helper ------------------------------------------------------------------------------------------


def test_an_image_that_cannot_be_made_small_enough_fails_for_good_in_one_sentence():
    item = stored_item("pool.png", noisy_image("PNG", (200, 200)), "image/png")

    with pytest.raises(PublishError) as caught:
        image_for_upload(item, ImageLimits(max_bytes=100), label="Bluesky")

    assert caught.value.permanent is True
    assert caught.value.message == (
        "Bluesky takes images up to 0.0001 MB and this one could not be made small enough; attach a smaller image."
    )


def test_a_file_missing_from_storage_fails_for_good():
    item = MediaItem(url="https://city.example/media/x.png", mime_type="image/png", path="library/parks/gone.png")

    with pytest.raises(PublishError) as caught:
        image_for_upload(item, XAdapter.image_limits, label="X")

    assert caught.value.permanent is True
    assert caught.value.message == "The attached file is missing from CivicPost's media storage."


# --- X: 5 MB; JPEG, PNG or WebP -------------------------------------------------------------------------


X_MEDIA = "https://api.x.com/2/media/upload"


def x_publish(*media: MediaItem) -> list[tuple[dict[str, str], bytes]]:
    """Publishes through the X adapter against `responses`; returns each uploaded media part."""
    account = ChannelAccount(
        channel_id=1,
        display_name="Parks on X",
        credentials={"access_token": "token", "expires_at": "2099-01-01T00:00:00+00:00", "username": "CityParks"},
    )
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(X_MEDIA, json={"data": {"id": "1880000000000000001"}})
        mock.post("https://api.x.com/2/media/metadata", json={"data": {"associated_metadata": True}})
        mock.post("https://api.twitter.com/2/tweets", json={"data": {"id": "1", "text": "t"}}, status=201)
        XAdapter(account).publish(PostContent(text="Pools open", media=media), idempotency_key="k")
        return [multipart_file(call.request.body, "media") for call in mock.calls if call.request.url == X_MEDIA]


def test_x_gets_an_image_over_5_mb_scaled_and_recompressed():
    original = noisy_image("PNG", (1400, 1400))
    assert len(original) > X_MAX_BYTES

    ((headers, sent),) = x_publish(stored_item("big.png", original, "image/png"))

    image = opened(sent)
    assert len(sent) <= X_MAX_BYTES
    assert image.format == "JPEG" and headers["Content-Type"] == "image/jpeg"
    assert headers["filename"].endswith(".jpg")
    assert image.size == (1400, 1400)  # JPEG alone was enough: no pixels lost


def test_x_gets_a_gif_converted_to_a_format_it_takes():
    ((headers, sent),) = x_publish(stored_item("flyer.gif", plain_image("GIF", (300, 200)), "image/gif"))

    assert opened(sent).format == "JPEG" and headers["Content-Type"] == "image/jpeg"
    assert opened(sent).size == (300, 200)


def test_x_gets_a_small_image_byte_for_byte():
    original = plain_image("PNG", (300, 200))

    ((headers, sent),) = x_publish(stored_item("small.png", original, "image/png"))

    assert sent == original and headers["Content-Type"] == "image/png"


# --- Bluesky: 2,000,000 bytes ------------------------------------------------------------------------------


def bluesky_publish(pds, *media: MediaItem) -> tuple[list[httpx.Request], dict]:
    upload_route = pds.post("/com.atproto.repo.uploadBlob").respond(json=bluesky_tests.fixture("upload_blob.json"))
    create = bluesky_tests.create_route(pds, "k")
    bluesky_tests.make_adapter().publish(PostContent(text="Pools open", media=media), idempotency_key="k")
    return [call.request for call in upload_route.calls], json.loads(create.calls.last.request.content)["record"]


def test_bluesky_gets_an_image_over_2_mb_made_to_fit_with_its_real_aspect_ratio(pds):
    original = noisy_image("JPEG", (1500, 1400))
    assert len(original) > BLUESKY_MAX_BYTES

    (request,), record = bluesky_publish(pds, stored_item("big.jpg", original, "image/jpeg"))

    image = opened(request.content)
    assert len(request.content) <= BLUESKY_MAX_BYTES
    assert image.format == "JPEG" and request.headers["Content-Type"] == "image/jpeg"
    assert image.width / image.height == pytest.approx(1500 / 1400, abs=0.01)
    aspect = record["embed"]["images"][0]["aspectRatio"]
    assert (aspect["width"], aspect["height"]) == image.size


def test_bluesky_gets_a_small_image_byte_for_byte(pds):
    original = plain_image("WEBP", (400, 300))

    (request,), _record = bluesky_publish(pds, stored_item("small.webp", original, "image/webp"))

    assert request.content == original and request.headers["Content-Type"] == "image/webp"


# --- Mastodon: the instance's limits -------------------------------------------------------------------------


def mastodon_adapter(**instance_limits: int) -> MastodonAdapter:
    return MastodonAdapter(
        ChannelAccount(
            channel_id=0,
            display_name="Parks on Mastodon",
            credentials={"access_token": "token"},
            options={"instance_url": MASTODON, "max_characters": 500, "instance_limits": instance_limits},
        )
    )


def mastodon_publish(adapter: MastodonAdapter, *media: MediaItem) -> list[tuple[dict[str, str], bytes]]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{MASTODON}/api/v2/media", json=fixture("mastodon", "media_ready"))
        mock.post(f"{MASTODON}/api/v1/statuses", json=fixture("mastodon", "status"))
        adapter.publish(PostContent(text="Pools open", media=media), idempotency_key="k")
        return [
            multipart_file(call.request.body, "file")
            for call in mock.calls
            if call.request.url == f"{MASTODON}/api/v2/media"
        ]


def test_mastodon_gets_an_image_within_the_instances_size_and_pixel_limits():
    original = noisy_image("PNG", (1500, 1000))
    adapter = mastodon_adapter(image_size_limit=300_000, image_matrix_limit=1_000_000)

    ((headers, sent),) = mastodon_publish(adapter, stored_item("big.png", original, "image/png"))

    image = opened(sent)
    assert len(sent) <= 300_000
    assert within(image, max_pixels=1_000_000)
    assert image.format == "JPEG" and headers["Content-Type"] == "image/jpeg"


def test_mastodon_uses_its_documented_pixel_limit_when_the_instance_names_none():
    assert mastodon_adapter().current_image_limits() == ImageLimits(
        max_bytes=16 * 1024 * 1024,
        max_pixels=33_177_600,
        mime_types=("image/jpeg", "image/png", "image/gif", "image/webp"),
    )


def test_mastodon_gets_a_small_image_and_a_video_byte_for_byte():
    picture = plain_image("PNG", (300, 200))
    clip = mp4_bytes(with_location=False)
    video = MediaItem(
        url="https://city.example/media/clip.mp4",
        mime_type="video/mp4",
        alt_text="A clip",
        path=store_media("clip.mp4", clip),
    )

    (image_part, video_part) = mastodon_publish(
        mastodon_adapter(), stored_item("small.png", picture, "image/png"), video
    )

    assert image_part[1] == picture and image_part[0]["Content-Type"] == "image/png"
    assert video_part[1] == clip and video_part[0]["Content-Type"] == "video/mp4"


# --- Platforms that download: Facebook, Instagram, Threads ---------------------------------------------------


def library_item(personas, name: str, data: bytes, *, alt_text: str = "A splash pad") -> MediaItem:
    """Uploads through the media library (so its public address works) and builds the MediaItem that
    channel_content makes from the approval snapshot."""
    asset = media_upload(user=personas.alice, department=personas.parks, upload=upload(name, data))
    return MediaItem(
        url=asset.url,
        mime_type=asset.mime_type,
        alt_text=alt_text,
        path=asset.file_name,
        width=asset.width,
        height=asset.height,
        size_bytes=asset.size_bytes,
    )


def fetched(url: str) -> bytes:
    """Downloads a media address the way the platform would, through CivicPost's public media view."""
    assert url.startswith("http://testserver/media/")
    response = Client().get(urlsplit(url).path)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def facebook_publish(fake, *media: MediaItem) -> list[str]:
    for _ in media:
        fake.post(f"{GRAPH}/{PAGE_ID}/photos", json=fixture("facebook", "photo_uploaded"))
    fake.post(f"{GRAPH}/{PAGE_ID}/feed", json=fixture("facebook", "feed_created"))
    fake.get(re.compile(rf"{GRAPH}/{PAGE_ID}_\d+"), json=fixture("facebook", "post_permalink"))
    adapter = FacebookPageAdapter(
        ChannelAccount(
            channel_id=1, display_name="Parks", credentials={"page_access_token": "t"}, options={"page_id": PAGE_ID}
        )
    )
    adapter.publish(PostContent(text="Pools open", media=media), idempotency_key="k")
    return [form(call)["url"] for call in calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/photos")]


def test_facebook_downloads_a_copy_under_4_mb_of_a_larger_image(fake, personas):
    big = library_item(personas, "big.png", noisy_image("PNG", (1300, 1300)))
    small = library_item(personas, "small.png", plain_image("PNG", (300, 200)))
    assert big.size_bytes > FACEBOOK_MAX_IMAGE_BYTES

    big_url, small_url = facebook_publish(fake, big, small)

    assert big_url != big.url and big_url.startswith("http://testserver/media/library/parks/")
    sent = fetched(big_url)
    assert len(sent) <= FACEBOOK_MAX_IMAGE_BYTES and opened(sent).format == "JPEG"
    assert small_url == small.url
    assert fetched(small_url) == default_storage.open(small.path).read()


def instagram_publish(fake, no_sleep, *media: MediaItem) -> list[dict[str, str]]:
    fake.post(f"{GRAPH}/{IG_USER}/media", json=fixture("instagram", "container_created"))
    fake.get(re.compile(rf"{GRAPH}/\d+\?fields=status"), json=fixture("instagram", "container_finished"))
    fake.post(f"{GRAPH}/{IG_USER}/media_publish", json=fixture("instagram", "media_published"))
    fake.get(re.compile(rf"{GRAPH}/\d+\?fields=permalink"), json=fixture("instagram", "media_permalink"))
    adapter = InstagramAdapter(
        ChannelAccount(
            channel_id=1,
            display_name="@cityparks",
            credentials={"access_token": "t"},
            options={"ig_user_id": IG_USER, "flavour": "facebook_login"},
        )
    )
    adapter.publish(PostContent(text="Pools open", media=media), idempotency_key="k")
    return [form(call) for call in calls_to(fake, "POST", f"/v27.0/{IG_USER}/media")]


def test_instagram_downloads_a_jpeg_padded_to_its_aspect_range_for_a_tall_png(fake, no_sleep, personas):
    tall = library_item(personas, "flyer.png", plain_image("PNG", (600, 1200), (20, 90, 200)))

    (container,) = instagram_publish(fake, no_sleep, tall)

    image = opened(fetched(container["image_url"]))
    lowest, highest = InstagramAdapter.image_limits.aspect_range
    assert image.format == "JPEG"
    assert lowest <= Fraction(image.width, image.height) <= highest
    assert image.size == (960, 1200)  # padded, not cropped: every pixel of the flyer is still there
    assert image.getpixel((10, 600)) == (255, 255, 255)  # white bar at the side
    assert image.getpixel((480, 600)) == pytest.approx((20, 90, 200), abs=3)
    assert container["alt_text"] == "A splash pad"


def test_instagram_downloads_a_copy_under_8_mb_and_reuses_it_next_time(fake, no_sleep, personas):
    big = library_item(personas, "big.png", noisy_image("PNG", (1800, 1700)))
    assert big.size_bytes > INSTAGRAM_MAX_IMAGE_BYTES

    (first,) = instagram_publish(fake, no_sleep, big)
    stored = sorted(default_storage.listdir("library/parks")[1])
    _first_again, second = instagram_publish(fake, no_sleep, big)  # the fake keeps every call

    sent = fetched(first["image_url"])
    assert len(sent) <= INSTAGRAM_MAX_IMAGE_BYTES and opened(sent).format == "JPEG"
    assert second["image_url"] == first["image_url"]
    assert sorted(default_storage.listdir("library/parks")[1]) == stored  # made once


def test_instagram_gets_a_fitting_jpeg_and_a_video_at_their_own_addresses(fake, no_sleep, personas):
    photo = library_item(personas, "pool.jpg", plain_image("JPEG", (1080, 1080)))
    video = MediaItem(
        url="https://city.example/media/library/parks/clip.mp4",
        mime_type="video/mp4",
        alt_text="A clip",
        path=store_media("clip.mp4", mp4_bytes()),
    )
    fake.post(f"{GRAPH}/{IG_USER}/media", json=fixture("instagram", "child_container_1"))
    fake.post(f"{GRAPH}/{IG_USER}/media", json=fixture("instagram", "child_container_2"))

    children = instagram_publish(fake, no_sleep, photo, video)[:2]

    assert children[0]["image_url"] == photo.url
    assert children[1]["video_url"] == video.url


def test_threads_downloads_a_jpeg_copy_of_a_webp_image(fake, no_sleep, personas):
    picture = library_item(personas, "pool.webp", plain_image("WEBP", (500, 400)))
    fake.post(f"{THREADS}/{THREADS_USER}/threads", json=fixture("threads", "container_created"))
    fake.get(re.compile(rf"{THREADS}/\d+\?fields=status"), json=fixture("threads", "container_finished"))
    fake.post(f"{THREADS}/{THREADS_USER}/threads_publish", json=fixture("threads", "published"))
    fake.get(re.compile(rf"{THREADS}/\d+\?fields=permalink"), json=fixture("threads", "permalink"))
    adapter = ThreadsAdapter(
        ChannelAccount(
            channel_id=1,
            display_name="@cityparks",
            credentials={"access_token": "t"},
            options={"threads_user_id": THREADS_USER},
        )
    )

    adapter.publish(PostContent(text="Pools open", media=(picture,)), idempotency_key="k")

    (container,) = [form(call) for call in calls_to(fake, "POST", f"/v1.0/{THREADS_USER}/threads")]
    sent = fetched(container["image_url"])
    assert len(sent) <= THREADS_MAX_IMAGE_BYTES
    assert opened(sent).format == "JPEG" and opened(sent).size == (500, 400)


def test_a_fitted_copy_is_public_only_while_its_original_is_in_the_library(fake, no_sleep, personas):
    tall = library_item(personas, "flyer.png", plain_image("PNG", (600, 1200)))
    (container,) = instagram_publish(fake, no_sleep, tall)
    copy_path = urlsplit(container["image_url"]).path
    forged = copy_path.replace(tall.path, "library/parks/0123456789abcdef0123456789abcdef.png")

    assert Client().get(copy_path).status_code == 200
    assert Client().get(forged).status_code == 404
    assert Client().get("/media/library/parks/anything.png.instagram-00000000.jpg").status_code == 404


# --- Through the real publish path ------------------------------------------------------------------------


def test_an_oversized_image_in_an_approved_post_is_published_resized(personas):
    """Composer snapshot -> approval -> dispatcher -> Celery task (eager) -> adapter -> the instance."""
    channel = ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        display_name="Parks on Mastodon",
        credentials={"access_token": "token"},
        options={
            "instance_url": MASTODON,
            "max_characters": 500,
            "instance_limits": {"image_size_limit": 1_000_000, "image_matrix_limit": 2_000_000},
        },
    )
    asset = media_upload(
        user=personas.alice, department=personas.parks, upload=upload("big.png", noisy_image("PNG", (1800, 1400)))
    )
    assert asset.size_bytes > 1_000_000 and asset.width * asset.height > 2_000_000
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="The splash pad at Lincoln Park opens Saturday.",
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        media=[(asset, "Children running through the splash pad")],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.post(f"{MASTODON}/api/v2/media", json=fixture("mastodon", "media_ready"))
        mock.post(f"{MASTODON}/api/v1/statuses", json=fixture("mastodon", "status"))
        tick()
        (media_call,) = [call for call in mock.calls if call.request.url == f"{MASTODON}/api/v2/media"]

    headers, sent = multipart_file(media_call.request.body, "file")
    image = opened(sent)
    assert len(sent) <= 1_000_000 and within(image, max_pixels=2_000_000)
    assert image.format == "JPEG" and headers["Content-Type"] == "image/jpeg"
    assert b"Children running through the splash pad" in media_call.request.body
    assert Delivery.objects.get(post=post).status == DeliveryStatus.PUBLISHED
    assert default_storage.size(asset.file_name) == asset.size_bytes  # the library keeps the original
