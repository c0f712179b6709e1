"""A PDF document in the composer: only LinkedIn takes one; every other platform refuses it with one sentence naming
itself (scheduler/adapters/base.py), a document cannot be mixed with images or video, and a document without a title
stops the post before it is submitted."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from medialibrary.services import TITLE_REQUIRED, media_upload
from scheduler import services
from scheduler.adapters.base import ChannelAccount, MediaItem, PostContent
from scheduler.adapters.linkedin.adapter import ONE_VIDEO_OR_DOCUMENT
from scheduler.adapters.registry import BUILT_IN_PLATFORMS, get_adapter_class
from tests.factories import ChannelFactory
from tests.medialibrary.helpers import jpeg_upload, pdf_upload

PDF = MediaItem(
    url="https://city.example/budget.pdf",
    mime_type="application/pdf",
    alt_text="Budget 2027",
    path="library/parks/budget.pdf",
    size_bytes=2048,
)
OPTIONS = {"organization_urn": "urn:li:organization:1", "instance_url": "https://social.example"}


def _adapter(platform: str):  # noqa: ANN202
    return get_adapter_class(platform)(ChannelAccount(channel_id=1, display_name="Parks", options=dict(OPTIONS)))


def test_linkedin_takes_a_titled_pdf():
    assert _adapter("linkedin").validate(PostContent(text="The budget", media=(PDF,))) == []


@pytest.mark.parametrize("platform", sorted(set(BUILT_IN_PLATFORMS) - {"linkedin", "youtube"}))
def test_every_other_platform_refuses_a_pdf_in_one_sentence_naming_itself(platform):
    adapter = _adapter(platform)
    messages = [p.message for p in adapter.validate(PostContent(text="The budget", media=(PDF,)))]
    assert messages[0] == f"{adapter.label} cannot post a PDF document; only LinkedIn Pages take one."


def test_youtube_refuses_a_pdf_as_it_refuses_anything_but_one_video():
    [problem] = _adapter("youtube").validate(PostContent(text="The budget", media=(PDF,)))
    assert problem.message.startswith("YouTube needs a video")


@pytest.mark.parametrize("other", ["image/jpeg", "video/mp4"])
def test_a_document_cannot_be_mixed_with_images_or_video(other):
    item = MediaItem(url="https://city.example/f", mime_type=other, alt_text="Pool", duration_seconds=10.0)
    messages = [p.message for p in _adapter("linkedin").validate(PostContent(text="Budget", media=(PDF, item)))]
    assert ONE_VIDEO_OR_DOCUMENT in messages


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def _post(personas, channels, media):  # noqa: ANN001, ANN202
    return services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="The 2027 parks budget.",
        link="",
        channels=channels,
        due_at=timezone.now() + dt.timedelta(hours=2),
        media=media,
    )


@pytest.mark.django_db
def test_a_post_with_a_pdf_names_each_channel_that_cannot_take_it(personas):
    linkedin = ChannelFactory(
        department=personas.parks,
        platform="linkedin",
        display_name="Parks on LinkedIn",
        options={"organization_urn": "urn:li:organization:1"},
    )
    mastodon = ChannelFactory(department=personas.parks, platform="mastodon", display_name="Parks on Mastodon")
    pdf = media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="Budget 2027")

    assert services.post_problems(post=_post(personas, [linkedin], [(pdf, "Budget 2027")])) == []
    problems = services.post_problems(post=_post(personas, [linkedin, mastodon], [(pdf, "Budget 2027")]))
    assert "Parks on Mastodon: Mastodon cannot post a PDF document; only LinkedIn Pages take one." in problems
    assert not any(p.startswith("Parks on LinkedIn") for p in problems)


@pytest.mark.django_db
def test_a_pdf_without_a_title_holds_the_post_and_an_image_still_needs_alt_text(personas):
    linkedin = ChannelFactory(
        department=personas.parks,
        platform="linkedin",
        display_name="Parks on LinkedIn",
        options={"organization_urn": "urn:li:organization:1"},
    )
    pdf = media_upload(user=personas.alice, department=personas.parks, upload=pdf_upload(), alt_text="Budget 2027")
    assert TITLE_REQUIRED in services.post_problems(post=_post(personas, [linkedin], [(pdf, "")]))
    image = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload())
    problems = services.post_problems(post=_post(personas, [linkedin], [(image, "")]))
    assert TITLE_REQUIRED not in problems


@pytest.mark.django_db
def test_the_composer_attaches_a_pdf_with_its_title_and_submits_it_for_linkedin(personas):
    from django.test import Client
    from django.urls import reverse

    from scheduler.models import Post, PostStatus

    linkedin = ChannelFactory(
        department=personas.parks,
        platform="linkedin",
        display_name="Parks on LinkedIn",
        options={"organization_urn": "urn:li:organization:1"},
    )
    client = Client()
    client.force_login(personas.alice)
    data = {
        "department": personas.parks.pk,
        "text": "The 2027 parks budget.",
        "link": "",
        "channels": [linkedin.pk],
        "publish_date": (timezone.now() + dt.timedelta(days=30)).date().isoformat(),
        "publish_time": "10:00",
    }
    untitled = client.post(reverse("scheduler:post_create"), {**data, "media_action": "upload", "upload": pdf_upload()})
    assert TITLE_REQUIRED in untitled.content.decode()

    response = client.post(
        reverse("scheduler:post_create"),
        {**data, "media_action": "upload", "upload": pdf_upload(), "upload_alt": "Budget 2027"},
    )
    html = response.content.decode()
    assert "budget-2027.pdf was added." in html
    assert "PDF document" in html and "Title of budget-2027.pdf" in html
    [asset_id] = re.findall(r'<input type="hidden" name="media" value="(\d+)">', html)

    response = client.post(
        reverse("scheduler:post_create"),
        {**data, "media": [asset_id], f"alt_{asset_id}": "Budget 2027", "submit": "submit"},
    )
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    assert [(m.asset.kind, m.alt_text) for m in post.media_items.all()] == [("document", "Budget 2027")]
