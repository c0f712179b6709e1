"""Text people type is stored normalised (civicpost/text.py): Word's Shift+Enter (U+000B) becomes a line
break, other control characters and lone surrogates go, tabs and newlines stay, accents are composed (NFC).
Checked in the function, in the services every path writes through, and in the forms people see."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from civicpost.text import normalize_form_data, normalize_text, normalize_text_tree
from composer.compose_forms import PostForm
from composer.csv_import import csv_preview
from composer.post_templates import post_template_save
from governance.emergency import LanguageVersion, emergency_publish
from medialibrary.models import MediaAsset
from medialibrary.services import media_update
from scheduler import services
from scheduler.models import Post

WORD = "Pool closed\x0bMonday"  # Shift+Enter in Word
DECOMPOSED = "Cafe\u0301"  # "e" + combining acute accent
COMPOSED = "Café"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (WORD, "Pool closed\nMonday"),
        ("Windows\r\nline\rends", "Windows\nline\nends"),
        ("form\x0cfeed, NEL\x85, separators\u2028and\u2029", "form\nfeed, NEL\n, separators\nand\n"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("bell\x07 null\x00 escape\x1b del\x7f c1\x9b", "bell null escape del c1"),
        ("lone \ud800surrogate\udfff", "lone surrogate"),
        ("not XML\ufffe\uffff", "not XML"),
        (DECOMPOSED, COMPOSED),
        ("emoji 👩‍👩‍👧 and zero-width joiner stay", "emoji 👩‍👩‍👧 and zero-width joiner stay"),
        ("", ""),
    ],
)
def test_normalize_text_keeps_newlines_and_tabs_and_drops_other_controls(typed, stored):
    assert normalize_text(typed) == stored


def test_single_line_fields_turn_line_breaks_into_one_space():
    assert normalize_text("Parks\x0b\tnews\r\non the site", single_line=True) == "Parks news on the site"


def test_nested_values_and_form_data_are_normalised_and_other_values_kept():
    assert normalize_text_tree({"12": WORD, "es": {"text": DECOMPOSED, "reviewed": True, "n": [1, "\x01x"]}}) == {
        "12": "Pool closed\nMonday",
        "es": {"text": COMPOSED, "reviewed": True, "n": [1, "x"]},
    }
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    data.setlist("channels", ["1", "2"])
    data["text"] = WORD
    normalized = normalize_form_data(data)
    assert normalized["text"] == "Pool closed\nMonday"
    assert normalized.getlist("channels") == ["1", "2"]
    assert data["text"] == WORD  # the request's own data is not changed
    assert normalize_form_data(None) is None


@pytest.fixture
def asset(personas) -> MediaAsset:
    return MediaAsset.objects.create(
        department=personas.parks,
        kind="image",
        file_name=f"library/parks/{uuid.uuid4().hex}.png",
        original_name="pool.png",
        mime_type="image/png",
        size_bytes=10,
        sha256="0" * 64,
        alt_text="",
    )


def test_post_services_store_every_typed_text_normalised(personas, asset):
    channel = personas.parks_channel
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=WORD,
        link="https://www.example.gov/pools\x0b",
        channels=[channel],
        due_at=timezone.now() + dt.timedelta(days=1),
        channel_text={str(channel.pk): f"{WORD}\x01"},
        languages={"es": {"text": "Piscina\x0bcerrada", "channel_text": {}, "media_alt": {}, "reviewed": True}},
        media=[(asset, f"Empty {DECOMPOSED}\x0b pool")],
    )
    post.refresh_from_db()
    assert post.text == "Pool closed\nMonday"
    assert post.link == "https://www.example.gov/pools"
    assert post.channel_text == {str(channel.pk): "Pool closed\nMonday"}
    assert post.languages["es"]["text"] == "Piscina\ncerrada"
    assert post.media_items.get().alt_text == f"Empty {COMPOSED}\n pool"
    assert post.versions.get().text == "Pool closed\nMonday"

    services.post_update(
        post=post,
        user=personas.alice,
        text=f"{DECOMPOSED}\x1b open",
        link="",
        channels=[channel],
        due_at=post.due_at,
        media=[(asset, "Full\x0bpool")],
    )
    post.refresh_from_db()
    assert post.text == f"{COMPOSED} open"
    assert post.media_items.get().alt_text == "Full\npool"


def test_compose_form_shows_and_cleans_the_text_as_it_will_be_stored(personas):
    data = {
        "department": str(personas.parks.pk),
        "text": WORD,
        "link": "",
        "channels": [str(personas.parks_channel.pk)],
        "publish_date": (timezone.now() + dt.timedelta(days=3)).strftime("%Y-%m-%d"),
        "publish_time": "10:00",
        f"channel_text_{personas.parks_channel.pk}": "Sandbox\x0bversion",
        "save": "draft",
    }
    form = PostForm(data, user=personas.alice)
    assert form.is_valid(), form.errors
    arguments = form.service_arguments()
    assert arguments["text"] == "Pool closed\nMonday"
    assert arguments["channel_text"] == {str(personas.parks_channel.pk): "Sandbox\nversion"}
    assert form["text"].value() == "Pool closed\nMonday"  # what a re-shown form puts back in the box


def test_a_word_line_break_in_an_unquoted_csv_cell_keeps_its_row_and_becomes_a_line_break(personas):
    date = (timezone.now() + dt.timedelta(days=10)).strftime("%Y-%m-%d")
    text = (
        "department,channels,date,time,text\n"
        f"parks,Parks on Sandbox,{date},10:00,Splash pads\x0bopen {DECOMPOSED}\x01\n"
        f"parks,Parks on Sandbox,{date},11:00,Second row\n"
    )
    rows = csv_preview(user=personas.alice, text=text).rows
    assert [row.text for row in rows] == [f"Splash pads\nopen {COMPOSED}", "Second row"]
    assert all(row.ok for row in rows), [row.problems for row in rows]


def test_templates_and_media_alt_text_are_stored_normalised(personas, asset):
    template = post_template_save(
        user=personas.alice,
        department=personas.parks,
        name="Pool\x0bclosing\x01",
        text=f"{WORD} [reason]",
        channels=[personas.parks_channel],
    )
    template.refresh_from_db()
    assert (template.name, template.text) == ("Pool closing", "Pool closed\nMonday [reason]")
    media_update(user=personas.alice, asset=asset, alt_text=f"{DECOMPOSED}\x0bterrace\x00")
    asset.refresh_from_db()
    assert asset.alt_text == f"{COMPOSED}\nterrace"


def test_emergency_post_text_is_stored_normalised(personas):
    from departments.models import CityRole

    CityRole.objects.create(user=personas.dana, can_post_emergency=True)
    emergency_publish(
        user=personas.dana,
        channels=[personas.parks_channel],
        versions=[LanguageVersion("en", "Boil water\x0bnotice\x07")],
    )
    assert Post.objects.get().text == "Boil water\nnotice"
