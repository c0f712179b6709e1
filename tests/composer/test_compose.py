"""The composer through HTTP: live length per platform (the adapters' own counting, the same code as at
submit time), previews, hints, media with alt text, autosave, round trips that keep every field, and the
version history."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from medialibrary.models import MediaAsset, PostMedia
from medialibrary.services import media_update, media_upload
from scheduler import services
from scheduler.models import Post, PostStatus, PostVersion
from tests.factories import ChannelFactory, PostFactory
from tests.medialibrary.helpers import jpeg_upload, mp4_bytes, upload

IN_A_MONTH = (timezone.now() + dt.timedelta(days=30)).date()
ALT_SENTENCE = "Every image needs alt text, so residents who use screen readers get the message."
CAPTIONS_SENTENCE = (
    "Every video needs a captions file (WebVTT or SRT) or captions burned into the picture, so residents who are "
    "deaf or hard of hearing get the message."
)


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def alice(personas) -> Client:
    client = Client()
    client.force_login(personas.alice)
    return client


@pytest.fixture
def platforms(personas) -> dict[str, object]:
    """A Parks channel on each platform with its own counting rule."""
    return {
        "x": ChannelFactory(department=personas.parks, platform="x", display_name="Parks on X"),
        "bluesky": ChannelFactory(department=personas.parks, platform="bluesky", display_name="Parks on Bluesky"),
        "mastodon": ChannelFactory(department=personas.parks, platform="mastodon", display_name="Parks on Mastodon"),
        "threads": ChannelFactory(department=personas.parks, platform="threads", display_name="Parks on Threads"),
    }


def compose_data(personas, **overrides) -> dict:
    data = {
        "department": personas.parks.pk,
        "text": "Splash pads open Saturday at 10 a.m.",
        "link": "",
        "channels": [personas.parks_channel.pk],
        "publish_date": IN_A_MONTH.isoformat(),
        "publish_time": "10:00",
    }
    data.update(overrides)
    return data


def counts(html: str) -> dict[str, str]:
    """Returns {channel label: "used / limit[ — n too many]"} from the counts partial."""
    rows = re.findall(
        r'<span class="civic-counts__label">(.*?):</span> <span class="civic-counts__numbers">(.*?)</span>'
        r'(?: <strong class="civic-counts__over">(.*?)</strong>)?',
        html,
    )
    return {label: numbers + (f" {over}" if over else "") for label, numbers, over in rows}


def check(client: Client, data: dict) -> str:
    response = client.post(reverse("scheduler:post_check_new"), data)
    assert response.status_code == 200
    return response.content.decode()


# --- Length per platform, through the live check ------------------------------------------------------

URL = "https://www.example.gov/parks/summer-programs/splash-pads-and-pools-open-saturday"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A URL: 23 on X and Mastodon however long it is; every character on Bluesky and Threads.
        (f"Pools open {URL}", {"X": 34, "Bluesky": 92, "Mastodon": 34, "Threads": 92}),
        # A family emoji (7 code points joined): 2 on X, one grapheme on Bluesky and Mastodon, and its
        # 25 UTF-8 bytes on Threads.
        ("Family day 👨‍👩‍👧‍👦 at the park", {"X": 25, "Bluesky": 24, "Mastodon": 24, "Threads": 48}),
        # CJK: 2 each on X, 1 elsewhere.
        ("公園のプールは土曜日に開きます", {"X": 30, "Bluesky": 15, "Mastodon": 15, "Threads": 15}),
        # "é" typed as e + a combining accent is stored composed (NFC, civicpost/text.py), so every
        # platform, Threads' code-point count included, sees one character.
        ("Cafe\u0301 reopens", {"X": 12, "Bluesky": 12, "Mastodon": 12, "Threads": 12}),
    ],
)
def test_lengths_are_counted_by_each_platforms_own_rule(personas, platforms, alice, text, expected):
    channel_ids = [channel.pk for channel in platforms.values()]
    html = check(alice, compose_data(personas, text=text, channels=channel_ids))
    found = counts(html)
    for label, used in expected.items():
        numbers = found[f"Parks on {label}"]
        assert numbers.startswith(f"{used} / "), (label, numbers)
    assert 'aria-live="polite"' not in html  # the region lives on the page; the partial only fills it


def test_over_the_limit_says_how_many_too_many_and_submit_is_refused(personas, platforms, alice):
    text = "a" * 301
    html = check(alice, compose_data(personas, text=text, channels=[platforms["bluesky"].pk, platforms["x"].pk]))
    found = counts(html)
    assert found["Parks on Bluesky"] == "301 / 300 — 1 too many"
    assert found["Parks on X"] == "301 / 280 — 21 too many"
    assert "civic-counts__row--problem" in html

    response = alice.post(
        reverse("scheduler:post_create"),
        compose_data(personas, text=text, channels=[platforms["bluesky"].pk], submit="submit"),
    )
    assert response.status_code == 200
    assert "Bluesky allows 300 characters; this post has 301 (1 too many)." in response.content.decode()
    assert not Post.objects.exists()


def test_a_per_channel_version_is_counted_and_previewed_for_its_channel(personas, platforms, alice):
    long_text = "Splash pads open Saturday at 10 a.m. in every city park. " * 6
    data = compose_data(
        personas,
        text=long_text,
        channels=[platforms["bluesky"].pk, platforms["mastodon"].pk],
        **{f"channel_text_{platforms['bluesky'].pk}": "Splash pads open Saturday, 10 a.m. #SplashPads"},
    )
    html = check(alice, data)
    found = counts(html)
    assert found["Parks on Bluesky"] == "46 / 300"
    assert found["Parks on Mastodon"].startswith(f"{len(long_text.strip())} / 500")
    assert "Splash pads open Saturday, 10 a.m. #SplashPads" in html  # the Bluesky preview
    assert 'aria-label="Preview on Parks on Bluesky"' in html


def test_hints_flag_lowercase_hashtags_emoji_runs_and_hard_reading(personas, alice):
    text = (
        "Join the #citycouncil meeting 🎉🎉🎉🎉. The municipality will commence comprehensive infrastructure "
        "rehabilitation initiatives, necessitating temporary discontinuation of recreational facility accessibility."
    )
    html = check(alice, compose_data(personas, text=text))
    assert "Write #citycouncil as #CityCouncil" in html
    assert "There are 4 emoji in a row." in html
    assert "your department aims for grade 8 or lower" in html
    plain = check(alice, compose_data(personas, text="The pool opens at noon. Bring a towel and water. See you there."))
    assert "No hints" in plain and "Reading level: about grade" in plain


def test_the_plain_language_target_is_the_departments(personas, alice):
    personas.parks.plain_language_grade = 12
    personas.parks.save()
    text = "The municipal aquatic facility will resume regular operational hours following scheduled maintenance."
    html = check(alice, compose_data(personas, text=text))
    assert "target: grade 12 or lower" in html


# --- Media and the alt text / captions gate -------------------------------------------------------------


def test_missing_alt_text_is_never_called_fine_and_the_error_summary_links_to_the_alt_field(personas, alice):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("splash.jpg"))
    text = "Splash pads open Saturday at 10 a.m. in every city park. Bring a towel and water."
    data = compose_data(personas, media=[asset.pk], text=text)
    live = check(alice, data)
    assert ALT_SENTENCE in live
    assert "images look fine" not in live
    assert "No hints about hashtags or emoji. The images still need what is asked above." in live

    data["submit"] = "submit"
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    summary = html.split("data-error-summary", 1)[1].split("</div>", 1)[0]
    assert f'<a href="#id_alt_{asset.pk}">{ALT_SENTENCE}</a>' in summary
    assert re.search(rf'<textarea[^>]*\bid="id_alt_{asset.pk}"', html)
    assert f'<span class="usa-error-message" id="id_alt_{asset.pk}-error">{ALT_SENTENCE}</span>' in html
    assert "images look fine" not in html

    data[f"alt_{asset.pk}"] = "Children running through a splash pad"
    del data["submit"]
    assert "No hints: hashtags, emoji and images look fine." in check(alice, data)


def test_upload_in_the_composer_keeps_everything_typed_and_asks_for_alt_text(personas, alice):
    data = compose_data(
        personas,
        link="https://www.example.gov/parks",
        media_action="upload",
        upload=jpeg_upload("splash.jpg", gps=True),
        **{f"channel_text_{personas.parks_channel.pk}": "Short version"},
    )
    response = alice.post(reverse("scheduler:post_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    asset = MediaAsset.objects.get()
    assert "splash.jpg was added. Write its alt text below." in html
    assert f'<input type="hidden" name="media" value="{asset.pk}">' in html
    assert f'name="alt_{asset.pk}"' in html
    assert f'data-focus="id_alt_{asset.pk}"' in html
    assert "Splash pads open Saturday at 10 a.m." in html and 'value="https://www.example.gov/parks"' in html
    assert "Short version" in html
    assert ALT_SENTENCE in html  # the live check already says it
    assert not Post.objects.exists()  # uploading saves no post

    # Submitting without alt text is refused with the one plain sentence; everything stays.
    data = compose_data(personas, media=[asset.pk], submit="submit")
    response = alice.post(reverse("scheduler:post_create"), data)
    assert response.status_code == 200
    assert ALT_SENTENCE in response.content.decode()
    assert not Post.objects.exists()

    data[f"alt_{asset.pk}"] = "Children running through a splash pad"
    response = alice.post(reverse("scheduler:post_create"), data)
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    assert [(m.asset_id, m.alt_text) for m in post.media_items.all()] == [
        (asset.pk, "Children running through a splash pad")
    ]
    assert MediaAsset.objects.get().alt_text == "Children running through a splash pad"


def test_a_video_needs_captions_a_transcript_alone_is_not_enough(personas, alice):
    video = media_upload(
        user=personas.alice, department=personas.parks, upload=upload("council.mp4", mp4_bytes(), "video/mp4")
    )
    data = compose_data(personas, media=[video.pk], submit="submit", **{f"alt_{video.pk}": "The council meeting"})
    response = alice.post(reverse("scheduler:post_create"), data)
    assert CAPTIONS_SENTENCE in response.content.decode()
    assert not Post.objects.exists()
    video.transcript = "Mayor: Welcome, everyone."
    video.save()
    assert CAPTIONS_SENTENCE in alice.post(reverse("scheduler:post_create"), data).content.decode()
    media_update(user=personas.alice, asset=video, alt_text="", transcript=video.transcript, captions_burned_in=True)
    assert alice.post(reverse("scheduler:post_create"), data).status_code == 302


def test_media_can_be_attached_from_the_library_moved_and_removed_without_losing_text(personas, alice):
    first = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("one.jpg"), alt_text="One")
    second = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("two.jpg", size=(80, 60)))
    base = compose_data(personas, text="Keep me", media=[first.pk], **{f"alt_{first.pk}": "First, edited"})

    html = alice.post(
        reverse("scheduler:post_create"), {**base, "media_action": "attach", "library_pick": second.pk}
    ).content.decode()
    assert re.findall(r'name="media" value="(\d+)"', html) == [str(first.pk), str(second.pk)]
    assert "First, edited" in html and "Keep me" in html

    moved = {**base, "media": [first.pk, second.pk], "media_action": f"up:{second.pk}"}
    html = alice.post(reverse("scheduler:post_create"), moved).content.decode()
    assert re.findall(r'name="media" value="(\d+)"', html) == [str(second.pk), str(first.pk)]
    assert "Moved to position 1 of 2." in html

    removed = {**base, "media": [second.pk, first.pk], "media_action": f"remove:{second.pk}"}
    html = alice.post(reverse("scheduler:post_create"), removed).content.decode()
    assert re.findall(r'name="media" value="(\d+)"', html) == [str(first.pk)]
    assert MediaAsset.objects.filter(pk=second.pk).exists()  # still in the library
    assert not Post.objects.exists()


def test_a_file_of_another_departments_library_cannot_be_attached(personas, alice):
    other = media_upload(user=personas.carol, department=personas.library, upload=jpeg_upload("library.jpg"))
    data = compose_data(personas, media=[other.pk], **{f"alt_{other.pk}": "Books"}, save="draft")
    response = alice.post(reverse("scheduler:post_create"), data)
    assert response.status_code == 302
    assert not PostMedia.objects.exists()  # the foreign file was simply not offered to the form


def test_the_approval_snapshot_carries_the_media_with_alt_text_and_channel_text(personas, alice):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("splash.jpg"))
    data = compose_data(
        personas,
        media=[asset.pk],
        submit="submit",
        **{f"alt_{asset.pk}": "Children at a splash pad", f"channel_text_{personas.parks_channel.pk}": "Sandbox text"},
    )
    assert alice.post(reverse("scheduler:post_create"), data).status_code == 302
    post = Post.objects.get()
    approval = services.post_approve(post=post, user=personas.bob)
    assert approval.content["channel_text"] == {str(personas.parks_channel.pk): "Sandbox text"}
    assert approval.content["media"] == [
        {
            "url": f"http://testserver/media/{asset.file_name}",
            "path": asset.file_name,
            "mime_type": "image/jpeg",
            "alt_text": "Children at a splash pad",
            "width": 64,
            "height": 48,
            "size_bytes": asset.size_bytes,
        }
    ]
    content = services.channel_content(approval.content, personas.parks_channel)
    assert content.text == "Sandbox text"
    assert content.media[0].path == asset.file_name and content.media[0].alt_text == "Children at a splash pad"
    assert approval.version == post.versions.get(number=1)
    assert approval.version.content_hash == approval.content_hash


# --- Round trips that keep every field ---------------------------------------------------------------


def test_a_refused_save_keeps_text_channel_versions_media_alt_text_and_choices(personas, platforms, alice):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("splash.jpg"))
    data = compose_data(
        personas,
        text="",  # refused: no text
        link="https://www.example.gov/splash",
        channels=[platforms["x"].pk, personas.parks_channel.pk],
        media=[asset.pk],
        save="draft",
        **{
            f"alt_{asset.pk}": "Children at a splash pad",
            f"channel_text_{platforms['x'].pk}": "Short text for X #SplashPads",
        },
    )
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    assert "Write the text of the post." in html
    assert "Short text for X #SplashPads" in html
    assert "Children at a splash pad" in html
    assert f'name="media" value="{asset.pk}"' in html
    assert 'value="https://www.example.gov/splash"' in html
    for channel in (platforms["x"], personas.parks_channel):
        assert re.search(rf'<input type="checkbox" name="channels" value="{channel.pk}"[^>]*checked', html)
    assert f'value="{IN_A_MONTH.isoformat()}"' in html and 'value="10:00"' in html
    assert not Post.objects.exists()


def test_the_edit_page_shows_what_was_saved_including_media_and_channel_text(personas, alice):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("splash.jpg"))
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Saved text",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=3),
        channel_text={str(personas.parks_channel.pk): "Saved channel text"},
        media=[(asset, "Saved alt text")],
    )
    html = alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    assert "Saved channel text" in html and "Saved alt text" in html
    assert f'name="media" value="{asset.pk}"' in html
    assert counts(html) == {"Parks on Sandbox": "18 / 500"}  # the feedback is there before any typing


# --- Autosave ------------------------------------------------------------------------------------------


def test_the_first_autosave_creates_the_draft_and_answers_with_its_addresses(personas, alice):
    response = alice.post(reverse("scheduler:post_autosave_new"), compose_data(personas))
    assert response.status_code == 200
    post = Post.objects.get()
    assert post.status == PostStatus.DRAFT
    assert response["X-Civic-Edit-Url"] == reverse("scheduler:post_edit", args=[post.pk])
    assert response["X-Civic-Autosave-Url"] == reverse("scheduler:post_autosave", args=[post.pk])
    assert 'data-autosave-state="saved"' in response.content.decode()
    assert "Draft saved automatically at" in response.content.decode()
    version = post.versions.get()
    assert version.autosaved and version.number == 1

    # Nothing changed: no new version; a change: a new version, the post stays a draft.
    url = reverse("scheduler:post_autosave", args=[post.pk])
    alice.post(url, compose_data(personas))
    assert post.versions.count() == 1
    alice.post(url, compose_data(personas, text="Splash pads open Sunday at 10 a.m."))
    post.refresh_from_db()
    assert post.text == "Splash pads open Sunday at 10 a.m."
    assert post.status == PostStatus.DRAFT
    assert list(post.versions.values_list("number", flat=True)) == [1, 2]


def test_autosave_waits_for_a_date_and_never_loses_what_it_cannot_save(personas, alice):
    response = alice.post(reverse("scheduler:post_autosave_new"), compose_data(personas, publish_date=""))
    html = response.content.decode()
    assert 'data-autosave-state="wait"' in html
    assert "choose the date and time" in html and "kept in this browser" in html
    assert not Post.objects.exists()
    html = alice.post(reverse("scheduler:post_autosave_new"), compose_data(personas, link="not a link")).content
    assert b"Not saved yet: Enter a full web address" in html


def test_autosave_keeps_a_draft_with_a_time_that_passed_and_without_channels(personas, alice):
    post = PostFactory(department=personas.parks, author=personas.alice, channels=[personas.parks_channel])
    yesterday = (timezone.now() - dt.timedelta(days=1)).astimezone(personas.parks.zone)
    data = compose_data(
        personas,
        channels=[],
        text="Work in progress",
        publish_date=yesterday.strftime("%Y-%m-%d"),
        publish_time="09:00",
    )
    response = alice.post(reverse("scheduler:post_autosave", args=[post.pk]), data)
    assert 'data-autosave-state="saved"' in response.content.decode()
    post.refresh_from_db()
    assert post.text == "Work in progress" and not post.channels.exists()


def test_autosave_never_touches_a_submitted_or_approved_post(personas, alice):
    post = PostFactory(department=personas.parks, author=personas.alice, channels=[personas.parks_channel])
    services.post_submit(post=post, user=personas.alice)
    response = alice.post(reverse("scheduler:post_autosave", args=[post.pk]), compose_data(personas, text="Changed"))
    assert 'data-autosave-state="off"' in response.content.decode()
    post.refresh_from_db()
    assert post.text != "Changed" and post.status == PostStatus.SUBMITTED


def test_autosave_and_check_refuse_posts_of_other_departments(personas):
    post = PostFactory(department=personas.parks, author=personas.alice, channels=[personas.parks_channel])
    carol = Client()
    carol.force_login(personas.carol)
    assert carol.post(reverse("scheduler:post_autosave", args=[post.pk]), {"text": "x"}).status_code == 404
    assert carol.post(reverse("scheduler:post_check", args=[post.pk]), {"text": "x"}).status_code == 404
    assert Client().post(reverse("scheduler:post_autosave_new"), {"text": "x"}).status_code == 302  # to sign-in


def test_restoring_a_browser_copy_shows_it_again_without_saving(personas, alice):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload("splash.jpg"))
    data = compose_data(personas, text="Typed before the session ended", media=[asset.pk], media_action="restore")
    data[f"alt_{asset.pk}"] = "Alt typed before"
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    assert "What you typed earlier is back in the form." in html
    assert "Typed before the session ended" in html and "Alt typed before" in html
    assert not Post.objects.exists()


def test_a_successful_save_tells_the_post_page_to_drop_the_browser_copy(personas, alice):
    response = alice.post(
        reverse("scheduler:post_create"), compose_data(personas, save="draft", draft_key="abc123"), follow=True
    )
    html = response.content.decode()
    assert 'data-composer-saved="abc123"' in html
    again = alice.get(reverse("scheduler:post_detail", args=[Post.objects.get().pk])).content.decode()
    assert "data-composer-saved" not in again


# --- Versions --------------------------------------------------------------------------------------------


def test_every_save_is_a_version_and_the_approval_points_at_the_exact_one(personas, alice):
    alice.post(reverse("scheduler:post_create"), compose_data(personas, save="draft"))
    post = Post.objects.get()
    edit = reverse("scheduler:post_edit", args=[post.pk])
    alice.post(edit, compose_data(personas, text="Splash pads open Sunday at 11 a.m.", save="draft"))
    alice.post(edit, compose_data(personas, text="Splash pads open Sunday at 11 a.m.", submit="submit"))
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert list(post.versions.values_list("number", "text")) == [
        (1, "Splash pads open Saturday at 10 a.m."),
        (2, "Splash pads open Sunday at 11 a.m."),
    ]
    approval = services.post_approve(post=post, user=personas.bob)
    assert approval.version.number == 2

    # Editing after approval makes version 3; the old approval still points at version 2.
    alice.post(edit, compose_data(personas, text="Splash pads open Sunday at noon."))
    approval.refresh_from_db()
    assert approval.version.number == 2
    assert post.versions.count() == 3

    page = alice.get(reverse("scheduler:post_versions", args=[post.pk])).content.decode()
    assert "Approved" in page and "What changed in version 3" in page
    diff = alice.get(reverse("scheduler:post_version_compare", args=[post.pk]), {"old": 2, "new": 3})
    html = diff.content.decode()
    assert diff.status_code == 200
    removed = '<del><span class="usa-sr-only">[removed: </span>11 a<span class="usa-sr-only"> end of removed text]'
    assert removed in html
    assert '<ins><span class="usa-sr-only">[added: </span>noon' in html
    assert "--- version 2" in html and "+++ version 3" in html


def test_versions_are_visible_only_to_those_who_see_the_post(personas, alice):
    alice.post(reverse("scheduler:post_create"), compose_data(personas, save="draft"))
    post = Post.objects.get()
    carol = Client()
    carol.force_login(personas.carol)
    assert carol.get(reverse("scheduler:post_versions", args=[post.pk])).status_code == 404
    assert carol.get(reverse("scheduler:post_version_compare", args=[post.pk])).status_code == 404


def test_a_version_rebuilds_the_exact_snapshot_it_was_saved_from(personas):
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload())
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Text",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
        channel_text={str(personas.parks_channel.pk): "Channel text"},
        media=[(asset, "Alt")],
        languages={
            "es": {"text": "Texto", "channel_text": {}, "media_alt": {str(asset.pk): "Alt es"}, "reviewed": True}
        },
    )
    version = PostVersion.objects.get(post=post)
    content = services.approval_content_for(post)
    assert version.content_hash == services.content_hash(content)
    assert version.media == content["media"] and version.languages == content["languages"]


def test_a_save_that_overtakes_the_first_autosave_edits_that_draft_instead_of_making_another(personas, alice):
    data = compose_data(personas, draft_key="page-1")
    alice.post(reverse("scheduler:post_autosave_new"), data)
    again = alice.post(reverse("scheduler:post_autosave_new"), {**data, "text": "Second autosave"})
    post = Post.objects.get()
    assert again["X-Civic-Edit-Url"] == reverse("scheduler:post_edit", args=[post.pk])
    response = alice.post(reverse("scheduler:post_create"), {**data, "text": "Saved with the button", "save": "draft"})
    assert response["Location"] == reverse("scheduler:post_detail", args=[post.pk])
    post.refresh_from_db()
    assert Post.objects.count() == 1 and post.text == "Saved with the button"
    # Another page (another draft key) makes its own post.
    alice.post(reverse("scheduler:post_create"), compose_data(personas, draft_key="page-2", save="draft"))
    assert Post.objects.count() == 2
