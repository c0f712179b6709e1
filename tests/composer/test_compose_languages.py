"""Language versions: written by a person, approved with the post, published together (to the same
channels as separate posts, or to language-specific channels), and one unfinished version holds them all."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicpost.exceptions import ApplicationError
from departments.models import LanguagePublishing
from medialibrary.services import media_upload
from scheduler import services
from scheduler.models import Delivery, DeliveryStatus, Post, PostStatus, SandboxPost
from tests.factories import ChannelFactory
from tests.medialibrary.helpers import jpeg_upload
from tests.scheduler import make_due, tick

ENGLISH = "Splash pads open Saturday at 10 a.m. in every city park."
SPANISH = "Las fuentes de agua abren el sábado a las 10 a.m. en todos los parques."


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def bilingual(personas):
    personas.parks.languages = ["en", "es"]
    personas.parks.save()
    return personas


def spanish(text: str = SPANISH, *, reviewed: bool = True, **extra) -> dict:
    return {"es": {"text": text, "channel_text": {}, "media_alt": {}, "reviewed": reviewed, **extra}}


def make_post(personas, *, languages: dict, channels=None, media=None) -> Post:
    return services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=ENGLISH,
        channels=channels or [personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
        languages=languages,
        media=media,
    )


def test_both_languages_are_approved_together_and_published_as_separate_posts(bilingual):
    post = make_post(bilingual, languages=spanish())
    services.post_submit(post=post, user=bilingual.alice)
    approval = services.post_approve(post=post, user=bilingual.bob)
    assert approval.content["languages"] == {"es": {"text": SPANISH}}
    deliveries = {(d.channel_id, d.language) for d in post.deliveries.all()}
    assert deliveries == {(bilingual.parks_channel.pk, "en"), (bilingual.parks_channel.pk, "es")}

    make_due(post)
    tick()
    assert set(SandboxPost.objects.values_list("text", flat=True)) == {ENGLISH, SPANISH}
    assert set(post.deliveries.values_list("status", flat=True)) == {DeliveryStatus.PUBLISHED}
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


@pytest.mark.parametrize(
    ("languages", "reason"),
    [
        (spanish(reviewed=False), "nobody has confirmed that a person wrote or checked it."),
        (spanish(text=""), "it has no text yet."),
    ],
)
def test_an_unfinished_version_holds_the_whole_post(bilingual, languages, reason):
    post = make_post(bilingual, languages=languages)
    with pytest.raises(ApplicationError) as refused:
        services.post_submit(post=post, user=bilingual.alice)
    message = refused.value.message
    assert "The Spanish version is not ready:" in message and reason in message
    assert "The whole post waits until every language version is ready." in message
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT
    assert not Delivery.objects.exists()


def test_a_language_the_department_does_not_list_holds_the_post(personas):
    post = make_post(personas, languages=spanish())  # Parks lists only English
    problems = services.post_problems(post=post)
    assert any("Spanish is not one of the department's languages." in p for p in problems)


def test_every_image_needs_alt_text_in_each_language(bilingual):
    asset = media_upload(user=bilingual.alice, department=bilingual.parks, upload=jpeg_upload())
    post = make_post(bilingual, languages=spanish(), media=[(asset, "Children at a splash pad")])
    assert any("every image needs alt text in Spanish too." in p for p in services.post_problems(post=post))
    post.languages = spanish(media_alt={str(asset.pk): "Niños en una fuente de agua"})
    post.save()
    assert services.post_problems(post=post) == []
    content = services.approval_content_for(post)
    spanish_content = services.channel_content(content, bilingual.parks_channel, "es")
    assert spanish_content.language == "es"
    assert spanish_content.media[0].alt_text == "Niños en una fuente de agua"
    assert services.channel_content(content, bilingual.parks_channel).media[0].alt_text == "Children at a splash pad"


def test_a_version_too_long_for_a_channel_is_named_with_its_language(bilingual):
    bluesky = ChannelFactory(department=bilingual.parks, platform="bluesky", display_name="Parks on Bluesky")
    post = make_post(bilingual, languages=spanish(text="á" * 301), channels=[bluesky])
    problems = services.post_problems(post=post)
    assert "Parks on Bluesky (Spanish): Bluesky allows 300 characters; this post has 301 (1 too many)." in problems


def test_language_channels_get_only_their_language(bilingual):
    bilingual.parks.language_publishing = LanguagePublishing.LANGUAGE_CHANNELS
    bilingual.parks.save()
    spanish_channel = ChannelFactory(
        department=bilingual.parks, display_name="Parques en Sandbox", options={"language": "es"}
    )
    post = make_post(bilingual, languages=spanish(), channels=[bilingual.parks_channel, spanish_channel])
    services.post_submit(post=post, user=bilingual.alice)
    services.post_approve(post=post, user=bilingual.bob)
    assert {(d.channel_id, d.language) for d in post.deliveries.all()} == {
        (bilingual.parks_channel.pk, "en"),
        (spanish_channel.pk, "es"),
    }
    make_due(post)
    tick()
    assert SandboxPost.objects.get(channel=spanish_channel).text == SPANISH
    assert SandboxPost.objects.get(channel=bilingual.parks_channel).text == ENGLISH


def test_language_channels_need_their_version_and_each_version_needs_a_channel(bilingual):
    bilingual.parks.language_publishing = LanguagePublishing.LANGUAGE_CHANNELS
    bilingual.parks.save()
    spanish_channel = ChannelFactory(department=bilingual.parks, display_name="Parques", options={"language": "es"})
    without_version = make_post(bilingual, languages={}, channels=[bilingual.parks_channel, spanish_channel])
    assert "Parques publishes in Spanish: add a Spanish version or leave that channel out." in (
        services.post_problems(post=without_version)
    )
    without_channel = make_post(bilingual, languages=spanish(), channels=[bilingual.parks_channel])
    assert "No chosen channel publishes in Spanish: choose a Spanish channel, or remove that version." in (
        services.post_problems(post=without_channel)
    )


def test_deliveries_to_create_lists_channel_and_language_pairs(bilingual):
    post = make_post(bilingual, languages=spanish())
    services.post_submit(post=post, user=bilingual.alice)
    approval = services.post_approve(post=post, user=bilingual.bob)
    assert services.deliveries_to_create(post, approval) == [
        (bilingual.parks_channel, "en"),
        (bilingual.parks_channel, "es"),
    ]
    with pytest.raises(LookupError):
        services.channel_content(approval.content, bilingual.parks_channel, "fr")


def test_the_composer_form_writes_and_keeps_a_language_version(bilingual):
    alice = Client()
    alice.force_login(bilingual.alice)
    in_a_month = (timezone.now() + dt.timedelta(days=30)).date().isoformat()
    data = {
        "department": bilingual.parks.pk,
        "text": ENGLISH,
        "channels": [bilingual.parks_channel.pk],
        "publish_date": in_a_month,
        "publish_time": "10:00",
        "lang_es_text": SPANISH,
        "submit": "submit",
    }
    page = alice.get(reverse("scheduler:post_create")).content.decode()
    assert "Spanish version" in page and 'lang="es"' in page

    refused = alice.post(reverse("scheduler:post_create"), data)
    html = refused.content.decode()
    assert "The Spanish version is not ready" in html
    assert SPANISH in html  # kept
    assert not Post.objects.exists()

    check = alice.post(reverse("scheduler:post_check_new"), data).content.decode()
    assert "Parks on Sandbox (Spanish):" in check and 'lang="es"' in check

    data["lang_es_reviewed"] = "on"
    assert alice.post(reverse("scheduler:post_create"), data).status_code == 302
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    assert post.languages == {"es": {"text": SPANISH, "channel_text": {}, "media_alt": {}, "reviewed": True}}
    detail = alice.get(reverse("scheduler:post_detail", args=[post.pk])).content.decode()
    assert SPANISH in detail and "Spanish version" in detail
