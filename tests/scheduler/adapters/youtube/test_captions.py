"""YouTube: the post's captions file goes up as the video's captions track (captions.insert) once the upload is
done; a refused track is recorded and never fails the published video."""

from __future__ import annotations

import pytest
import responses
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from scheduler.adapters.base import MediaItem, PostContent
from tests.fakeplatform.youtube import FakeYouTube
from tests.scheduler.adapters.youtube.test_adapter import TEXT, VIDEO_BYTES, adapter

CAPTIONS = b"WEBVTT\n\n00:00.000 --> 00:02.000\nThe meeting will come to order.\n"


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeYouTube(mock).install()


@pytest.fixture
def captioned(settings, tmp_path) -> MediaItem:
    settings.MEDIA_ROOT = str(tmp_path)
    path = default_storage.save("library/parks/council.mp4", ContentFile(VIDEO_BYTES))
    captions = default_storage.save("library/parks/council.vtt", ContentFile(CAPTIONS))
    return MediaItem(
        url=f"https://city.example/media/{path}",
        mime_type="video/mp4",
        path=path,
        size_bytes=len(VIDEO_BYTES),
        captions_path=captions,
        captions_url=f"https://city.example/media/{captions}",
    )


def test_the_captions_file_becomes_the_videos_captions_track(fake, captioned):
    youtube = adapter()
    result = youtube.publish(PostContent(text=TEXT, media=(captioned,), language="es"), idempotency_key="k")

    [(resource, data)] = fake.captions
    assert resource == {
        "snippet": {"videoId": result.remote_id, "language": "es", "name": "Captions", "isDraft": False}
    }
    assert data == CAPTIONS
    assert result.raw["captions"] == {"status": "sent", "id": "AUieDa1"}
    [call] = [c for c in fake.mock.calls if "/captions" in c.request.url]
    assert call.request.url.endswith("/upload/youtube/v3/captions?uploadType=multipart&part=snippet")
    assert youtube.updated_options["youtube_quota"]["units"] == 400  # captions.insert costs 400 units


def test_a_refused_captions_track_is_recorded_and_the_video_stays_published(fake, captioned):
    fake.captions_refusal = "Request had insufficient authentication scopes."

    result = adapter().publish(PostContent(text=TEXT, media=(captioned,)), idempotency_key="k")

    assert result.remote_id == fake.videos[0]["id"]
    assert result.raw["captions"]["status"] == "not sent"
    assert result.raw["captions"]["reason"].endswith("(Request had insufficient authentication scopes.)")


def test_burned_in_captions_send_no_track(fake, captioned):
    burned = MediaItem(url=captioned.url, mime_type="video/mp4", path=captioned.path, captions_burned_in=True)

    result = adapter().publish(PostContent(text=TEXT, media=(burned,)), idempotency_key="k")

    assert fake.captions == []
    assert result.raw["captions"] == {"status": "not sent", "reason": "burned into the picture"}
