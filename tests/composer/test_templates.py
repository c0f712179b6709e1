"""Department templates with placeholders: "Trash pickup moves to {day} this week" becomes a draft."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from composer.models import PostTemplate
from composer.post_templates import post_template_save, template_fill, template_placeholders
from scheduler.models import Post, PostStatus

NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_placeholders_are_found_once_each_and_filled():
    text = "Trash pickup moves to {day} this week. {day} pickup starts at {start_time}. Keep {braces }."
    assert template_placeholders(text) == ["day", "start_time"]
    assert template_fill(text, {"day": "Tuesday", "start_time": "7 a.m."}) == (
        "Trash pickup moves to Tuesday this week. Tuesday pickup starts at 7 a.m.. Keep {braces }."
    )
    with pytest.raises(ApplicationError, match=r"Fill in \{start_time\}"):
        template_fill(text, {"day": "Tuesday", "start_time": " "})


def test_a_template_name_is_unique_in_its_department(personas):
    post_template_save(user=personas.alice, department=personas.parks, name="Trash", text="Moves to {day}.")
    with pytest.raises(ApplicationError, match="already has a template called “Trash”"):
        post_template_save(user=personas.alice, department=personas.parks, name="Trash", text="Other")
    with pytest.raises(ApplicationError, match="not a member"):
        post_template_save(user=personas.carol, department=personas.parks, name="Mine", text="x")


def test_filling_in_a_template_makes_a_draft_and_opens_it(personas):
    alice = Client()
    alice.force_login(personas.alice)
    response = alice.post(
        reverse("composer:template_list"),
        {
            "department": personas.parks.pk,
            "name": "Trash pickup moved",
            "text": "Trash pickup moves to {day} this week because of {holiday}.",
            "channels": [personas.parks_channel.pk],
        },
    )
    assert response.status_code == 302
    template = PostTemplate.objects.get()
    page = alice.get(reverse("composer:template_use", args=[template.pk])).content.decode()
    assert 'name="value_day"' in page and 'name="value_holiday"' in page
    assert (
        f'name="channels" value="{personas.parks_channel.pk}" class="usa-checkbox__input" id="id_channels_0" checked'
        in page
    )

    missing = alice.post(
        reverse("composer:template_use", args=[template.pk]),
        {
            "value_day": "Tuesday",
            "channels": [personas.parks_channel.pk],
            "publish_date": "2026-02-16",
            "publish_time": "07:00",
        },
    )
    assert "Fill in “Holiday”." in missing.content.decode()
    response = alice.post(
        reverse("composer:template_use", args=[template.pk]),
        {
            "value_day": "Tuesday",
            "value_holiday": "Presidents' Day",
            "channels": [personas.parks_channel.pk],
            "publish_date": "2026-02-16",
            "publish_time": "07:00",
        },
    )
    post = Post.objects.get()
    assert response["Location"] == reverse("scheduler:post_edit", args=[post.pk])
    assert post.text == "Trash pickup moves to Tuesday this week because of Presidents' Day."
    assert post.status == PostStatus.DRAFT
    assert post.due_at == dt.datetime(2026, 2, 16, 13, 0, tzinfo=dt.UTC)
    assert post.versions.count() == 1


def test_templates_of_other_departments_are_not_found(personas):
    template = post_template_save(user=personas.alice, department=personas.parks, name="Garbage day", text="{day}")
    carol = Client()
    carol.force_login(personas.carol)
    assert "Garbage day" not in carol.get(reverse("composer:template_list")).content.decode()
    for name in ("composer:template_edit", "composer:template_use"):
        assert carol.get(reverse(name, args=[template.pk])).status_code == 404
    assert carol.post(reverse("composer:template_delete", args=[template.pk])).status_code == 404
    assert PostTemplate.objects.exists()
