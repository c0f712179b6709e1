"""Threads of posts and first comments in the composer (issue 17): "add part" and "remove part" buttons (plain
submit buttons: they work from the keyboard and without script; the page comes back with the focus on the new
part), each part labelled "Part 2 of 3", counted per channel in the live check, validated per part at submit,
and kept through edits."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from scheduler import services
from scheduler.models import Post, PostStatus
from tests.composer import test_compose
from tests.composer.test_compose import check, compose_data, counts
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

alice = test_compose.alice


def parts(html: str) -> dict[str, str]:
    """Returns {part number: text} of the thread part boxes on the page."""
    return dict(re.findall(r'<textarea name="thread_part_(\d+)"[^>]*>\n?([^<]*)</textarea>', html))


def test_the_compose_page_offers_to_make_a_thread_and_a_first_comment(personas, alice):
    html = alice.get(reverse("scheduler:post_create")).content.decode()
    assert 'name="thread_action" value="add"' in html
    assert "Make it a thread: add part 2" in html
    assert 'name="first_comment"' in html


def test_add_part_shows_a_labelled_part_with_the_focus_on_it_and_saves_nothing(personas, alice):
    response = alice.post(reverse("scheduler:post_create"), compose_data(personas, thread_action="add"))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<label class="usa-label" for="id_thread_part_2">Part 2 of 2</label>' in html
    assert 'data-focus="id_thread_part_2"' in html
    assert 'name="thread_count" value="2"' in html
    assert "Part 2 added." in html
    assert Post.objects.count() == 0


def test_remove_part_moves_the_later_parts_up(personas, alice):
    data = compose_data(personas, thread_count="4", thread_part_2="two", thread_part_3="three", thread_part_4="four")
    response = alice.post(reverse("scheduler:post_create"), {**data, "thread_action": "remove:3"})

    html = response.content.decode()
    assert 'name="thread_count" value="3"' in html
    assert parts(html) == {"2": "two", "3": "four"}
    assert '<label class="usa-label" for="id_thread_part_3">Part 3 of 3</label>' in html
    assert 'data-focus="id_thread_part_3"' in html


def test_a_thread_is_saved_and_submitted_with_its_parts_and_first_comment(personas, alice):
    data = compose_data(
        personas,
        thread_count="3",
        thread_part_2="Part two.",
        thread_part_3="Part three.",
        first_comment="More at city.example/pools",
        submit="submit",
    )
    response = alice.post(reverse("scheduler:post_create"), data)

    assert response.status_code == 302
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    assert post.thread_parts == ["Part two.", "Part three."]
    assert post.first_comment == "More at city.example/pools"
    edit = alice.get(reverse("scheduler:post_edit", args=[post.pk])).content.decode()
    assert parts(edit) == {"2": "Part two.", "3": "Part three."}
    assert 'name="thread_count" value="3"' in edit


def test_a_part_over_the_limit_is_refused_beside_that_part(personas, alice):
    data = compose_data(personas, thread_count="3", thread_part_2="fine", thread_part_3="x" * 501, submit="submit")

    response = alice.post(reverse("scheduler:post_create"), data)

    html = response.content.decode()
    assert response.status_code == 200
    assert Post.objects.count() == 0
    assert "Parks on Sandbox, part 3 of 3: Sandbox allows 500 characters" in html
    assert 'id="id_thread_part_3-error"' in html


def test_the_live_check_counts_each_part_on_each_thread_channel(personas, alice):
    mastodon = ChannelFactory(department=personas.parks, platform="mastodon", display_name="Parks on Mastodon")
    data = compose_data(
        personas, channels=[mastodon.pk], thread_count="2", thread_part_2="Part two, twelve words or so."
    )

    found = counts(check(alice, data))

    assert found["Parks on Mastodon, part 2 of 2"].startswith("29 / 500")


def test_an_edit_keeps_the_parts_when_the_form_does_not_touch_them(personas):
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="One.",
        channels=[personas.parks_channel],
        due_at=Post._meta.get_field("due_at").to_python("2030-01-01T10:00:00Z"),
        thread_parts=["Two."],
    )
    services.post_update(
        post=post,
        user=personas.alice,
        text="One, edited.",
        link="",
        channels=[personas.parks_channel],
        due_at=post.due_at,
    )
    post.refresh_from_db()
    assert post.thread_parts == ["Two."]
