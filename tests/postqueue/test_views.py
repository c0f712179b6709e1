"""The queue pages through HTTP: the admin adds slots, a member queues a post from its page, reorders the
queue with the buttons (the result announced in a status message), and marks a post to repeat."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from postqueue.models import EvergreenPost, PostingSlot, QueueEntry
from scheduler.models import Post
from tests.governance.city import City, city  # noqa: F401 - the fixture
from tests.scheduler import approved_post

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _client(user) -> Client:  # noqa: ANN001
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_adds_and_removes_a_slot(city: City, clock) -> None:  # noqa: F811
    pat = _client(city.pat)
    url = reverse("postqueue:slots", args=[city.parks.pk])
    page = pat.get(url)
    assert "No posting slots yet" in page.content.decode()
    response = pat.post(url, {"channel": city.parks_channel.pk, "weekday": 1, "local_time": "10:00"})
    assert response.status_code == 302
    slot = PostingSlot.objects.get()
    assert (slot.weekday, slot.local_time, slot.channel) == (1, dt.time(10), city.parks_channel)
    assert "Tuesday" in pat.get(url).content.decode()
    assert pat.post(reverse("postqueue:slot_delete", args=[slot.pk])).status_code == 302
    assert not PostingSlot.objects.exists()


def test_a_member_queues_from_the_post_page_and_reorders_with_the_buttons(city: City, clock) -> None:  # noqa: F811
    for day in (1, 3):
        PostingSlot.objects.create(
            department=city.parks, channel=city.parks_channel, weekday=day, local_time=dt.time(10)
        )
    first = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="First")
    second = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Second")
    quinn = _client(city.quinn)
    detail = quinn.get(reverse("scheduler:post_detail", args=[first.pk])).content.decode()
    assert "Add to queue" in detail and "Repeat in free slots" in detail
    for post in (first, second):
        response = quinn.post(reverse("postqueue:add", args=[post.pk]), follow=True)
        assert "Added to the queue" in response.content.decode()
    page = quinn.get(reverse("postqueue:queue")).content.decode()
    assert page.index("First") < page.index("Second")
    entry = QueueEntry.objects.get(post=second)
    response = quinn.post(reverse("postqueue:move", args=[entry.pk]), {"direction": "up"}, follow=True)
    html = response.content.decode()
    assert 'role="status"' in html and "Moved to position 1" in html
    assert response.redirect_chain[-1][0].endswith(f"#entry-{entry.pk}")
    assert html.index("Second") < html.index("First", html.index("civic-queue"))
    assert Post.objects.get(pk=second.pk).due_at < Post.objects.get(pk=first.pk).due_at


def test_a_member_marks_a_post_to_repeat_and_stops_it(city: City, clock) -> None:  # noqa: F811
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    alice = _client(city.alice)
    url = reverse("postqueue:evergreen", args=[post.pk])
    response = alice.post(url, {"min_interval_days": "30"}, follow=True)
    assert "each repetition needs approval" in response.content.decode()
    assert EvergreenPost.objects.get(post=post).min_interval_days == 30
    alice.post(url, {"stop": "1"})
    assert not EvergreenPost.objects.get(post=post).is_active


def test_the_queue_says_what_to_do_when_it_is_empty(city: City) -> None:  # noqa: F811
    html = _client(city.alice).get(reverse("postqueue:queue")).content.decode()
    assert "Nothing is waiting in the queue" in html
