"""Bad input on the compose form: each mistake gets a clear message and nothing typed is lost."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from civicpost.fields import LocalTime, classify_local_time
from civicpost.timelabels import format_in_zone
from composer.compose_forms import PostForm
from departments.models import Role
from scheduler.models import Post
from tests.factories import ChannelFactory, DepartmentFactory, MembershipFactory, PostFactory

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
MINUS = "\N{MINUS SIGN}"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def alice(personas) -> Client:
    client = Client()
    client.force_login(personas.alice)
    return client


def typed(personas, **overrides) -> dict:
    data = {
        "department": str(personas.parks.pk),
        "text": "Pools open at 9 a.m. on Saturday & Sunday.",
        "link": "https://www.example.gov/pools?season=summer",
        "channels": [str(personas.parks_channel.pk)],
        "publish_date": "2026-02-10",
        "publish_time": "10:00",
        "save": "draft",
    }
    data.update(overrides)
    return data


def assert_everything_kept(html: str, data: dict) -> None:
    """Every value the person typed is back in the re-rendered form."""
    textarea = re.search(r'<textarea name="text"[^>]*>(.*?)</textarea>', html, re.S)
    assert textarea is not None
    expected_text = data["text"].replace("&", "&amp;")
    assert textarea.group(1).strip() == expected_text.strip()
    assert f'value="{data["link"].replace("&", "&amp;")}"' in html
    assert f'value="{data["publish_date"]}"' in html
    assert f'value="{data["publish_time"]}"' in html
    assert re.search(rf'<option value="{data["department"]}"[^>]*selected', html)
    for channel_id in data["channels"]:
        checkbox = re.search(rf'<input type="checkbox" name="channels" value="{channel_id}"[^>]*>', html)
        if checkbox:  # a channel the person may not use is not offered again
            assert "checked" in checkbox.group(0)


def error_for(html: str, field: str) -> str:
    match = re.search(rf'<span class="usa-error-message" id="id_{field}-error">(.*?)</span>', html, re.S)
    assert match, f"no error shown for {field}"
    return match.group(1)


def test_empty_text_is_refused_and_everything_else_kept(personas, alice):
    data = typed(personas, text="   ")
    response = alice.post(reverse("scheduler:post_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert error_for(html, "text") == "Write the text of the post."
    assert 'aria-describedby="id_text-error"' in html
    assert 'aria-invalid="true"' in html
    assert "Please check what you entered" in html
    assert_everything_kept(html, {**data, "text": ""})
    assert not Post.objects.exists()


def test_a_time_in_the_past_is_refused(personas, alice):
    data = typed(personas, publish_date="2026-01-15", publish_time="08:00")  # 14:00 UTC, an hour ago
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    assert "8:00 AM on Thu, Jan 15, 2026 has already passed in America/Chicago" in error_for(html, "publish_time")
    assert_everything_kept(html, data)
    assert not Post.objects.exists()


def test_a_time_that_does_not_exist_on_the_spring_forward_night_is_refused(personas, alice):
    data = typed(personas, publish_date="2026-03-08", publish_time="02:30")
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    message = error_for(html, "publish_time")
    assert "2:30 AM does not exist on Sun, Mar 8, 2026 in America/Chicago" in message
    assert "such as 3:30 AM" in message
    assert_everything_kept(html, data)
    assert not Post.objects.exists()


def test_an_ambiguous_time_on_the_fall_back_night_asks_which_one(personas, alice):
    data = typed(personas, publish_date="2026-11-01", publish_time="01:30")
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    assert "1:30 AM happens twice on Sun, Nov 1, 2026 in America/Chicago" in error_for(html, "fold")
    assert f"Earlier (CDT, UTC{MINUS}05:00)" in html
    assert f"Later (CST, UTC{MINUS}06:00)" in html
    assert re.search(r'<input type="radio" name="fold" value="later"', html)
    assert_everything_kept(html, data)
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("choice", "utc_hour", "shown"),
    [("later", 7, f"1:30 AM CST (UTC{MINUS}06:00)"), ("earlier", 6, f"1:30 AM CDT (UTC{MINUS}05:00)")],
)
def test_choosing_one_of_the_two_times_stores_that_instant(personas, alice, choice, utc_hour, shown):
    data = typed(personas, publish_date="2026-11-01", publish_time="01:30", fold=choice)
    response = alice.post(reverse("scheduler:post_create"), data)
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.due_at == dt.datetime(2026, 11, 1, utc_hour, 30, tzinfo=dt.UTC)
    page = alice.get(response["Location"]).content.decode()
    assert f"Sun, Nov 1, 2026, {shown}" in page


def test_editing_a_post_at_the_later_ambiguous_time_keeps_that_choice(personas, alice):
    post = PostFactory(
        department=personas.parks,
        author=personas.alice,
        channels=[personas.parks_channel],
        due_at=dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC),
    )
    html = alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    assert re.search(r'<input type="radio" name="fold" value="later"[^>]*checked', html)
    assert 'value="01:30"' in html


def test_a_channel_of_another_department_is_refused(personas, alice):
    data = typed(personas, channels=[str(personas.library_channel.pk)])
    html = alice.post(reverse("scheduler:post_create"), data).content.decode()
    assert "does not belong to your department" in error_for(html, "channels")
    assert_everything_kept(html, data)
    assert f'name="channels" value="{personas.parks_channel.pk}"' in html
    assert not Post.objects.exists()


def test_a_member_of_two_departments_cannot_mix_their_channels(personas):
    MembershipFactory(user=personas.alice, department=personas.library, role=Role.EDITOR)
    personas.alice._civicpost_memberships = None
    form = PostForm(
        data=typed(personas, channels=[str(personas.parks_channel.pk), str(personas.library_channel.pk)]),
        user=personas.alice,
    )
    assert not form.is_valid()
    assert form.errors["channels"] == [
        "Library on Sandbox belongs to Public Library, not to Parks and Recreation. "
        "Choose only channels of Parks and Recreation."
    ]


def test_a_department_the_user_does_not_belong_to_is_refused(personas):
    form = PostForm(data=typed(personas, department=str(personas.library.pk)), user=personas.alice)
    assert not form.is_valid()
    assert form.errors["department"] == ["You can only post for departments you belong to."]


def test_missing_date_and_time_and_bad_link_get_plain_messages(personas):
    form = PostForm(data=typed(personas, publish_date="", publish_time="", link="not a link"), user=personas.alice)
    assert not form.is_valid()
    assert form.errors["publish_date"] == ["Choose the date to publish."]
    assert form.errors["publish_time"] == ["Choose the time to publish."]
    assert form.errors["link"] == ["Enter a full web address, such as https://www.example.gov/parks."]


def test_no_channel_chosen(personas):
    form = PostForm(data=typed(personas, channels=[]), user=personas.alice)
    assert not form.is_valid()
    assert form.errors["channels"] == ["Choose at least one channel."]


def test_times_are_read_in_the_departments_zone(personas):
    tokyo = DepartmentFactory(name="Sister City Office", slug="sister", time_zone="Asia/Tokyo")
    MembershipFactory(user=personas.alice, department=tokyo, role=Role.EDITOR)
    personas.alice._civicpost_memberships = None
    channel = ChannelFactory(department=tokyo)
    form = PostForm(
        data=typed(personas, department=str(tokyo.pk), channels=[str(channel.pk)], publish_time="09:00"),
        user=personas.alice,
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["due_at"] == dt.datetime(2026, 2, 10, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("local", "kind"),
    [
        (dt.datetime(2026, 3, 8, 2, 30), LocalTime.MISSING),
        (dt.datetime(2026, 3, 8, 3, 0), LocalTime.EXISTS),
        (dt.datetime(2026, 11, 1, 1, 30), LocalTime.AMBIGUOUS),
        (dt.datetime(2026, 11, 1, 2, 0), LocalTime.EXISTS),
        (dt.datetime(2026, 7, 4, 12, 0), LocalTime.EXISTS),
    ],
)
def test_classify_local_time(local, kind):
    assert classify_local_time(local, CHICAGO) is kind


def test_times_are_shown_in_the_department_zone_with_the_offset():
    moment = dt.datetime(2026, 12, 5, 16, 0, tzinfo=dt.UTC)
    assert format_in_zone(moment, "America/Chicago") == f"Sat, Dec 5, 2026, 10:00 AM CST (UTC{MINUS}06:00)"
    assert format_in_zone(moment, "Asia/Kolkata") == "Sat, Dec 5, 2026, 9:30 PM IST (UTC+05:30)"
