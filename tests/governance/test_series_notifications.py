"""A recurring series submitted or approved at once tells each person once: one message per recipient for
the series action, naming the series and how many posts, listing each post and linking the series page.
Posts approved one by one are announced as before, one message per post."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from composer.series import series_approve, series_submit
from scheduler import services
from scheduler.models import BlackoutPeriod, PostStatus
from tests.governance.test_series_and_calendar_approval import parks_policy, series_posts, weekly_series

SERIES_TEXT = "City council meets tonight at 6 p.m. Watch live on the city website."


def by_recipient() -> dict[str, list[mail.EmailMessage]]:
    messages: dict[str, list[mail.EmailMessage]] = {}
    for message in mail.outbox:
        assert len(message.to) == 1
        messages.setdefault(message.to[0], []).append(message)
    return messages


def series_address(series) -> str:  # noqa: ANN001
    return f"http://testserver/composer/series/{series.pk}/"


def post_address(post) -> str:  # noqa: ANN001
    return f"http://testserver/posts/{post.pk}/"


def test_approving_a_series_at_step_one_tells_each_step_two_approver_once(city, django_capture_on_commit_callbacks):
    parks_policy(city)  # step 1: Parks approvers (Bob, Pat, Quinn); step 2: communications managers (Dana, Max)
    series = weekly_series(city, count=10)
    posts = series_posts(series)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert series_approve(series=series, user=city.bob) == 0

    messages = by_recipient()
    assert sorted(messages) == ["dana@city.example", "max@city.example"]
    for address, received in messages.items():
        assert len(received) == 1, address
        message = received[0]
        assert message.subject == "[CivicPost] Waiting for your approval: 10 posts of a Parks and Recreation series"
        assert "10 posts of a recurring series of Parks and Recreation passed the step before yours" in message.body
        assert "Step 2 of 2: Communications." in message.body
        assert SERIES_TEXT in message.body
        assert series_address(series) in message.body
        assert all(post_address(post) in message.body for post in posts)
        assert "Post 1, " in message.body and "Post 10, " in message.body
    assert {post.status for post in series_posts(series)} == {PostStatus.SUBMITTED}


def test_submitting_a_series_tells_each_first_step_approver_once(city, django_capture_on_commit_callbacks):
    parks_policy(city)
    with django_capture_on_commit_callbacks(execute=True):
        series = weekly_series(city, count=10)

    messages = by_recipient()
    assert sorted(messages) == ["bob@city.example", "pat@city.example", "quinn@city.example"]
    assert all(len(received) == 1 for received in messages.values())
    body = messages["bob@city.example"][0].body
    assert messages["bob@city.example"][0].subject.endswith("10 posts of a Parks and Recreation series")
    assert "10 posts of a recurring series of Parks and Recreation by" in body
    assert "Step 1 of 2: Parks review." in body
    assert series_address(series) in body and "approve all of them at once" in body


def test_submitting_the_drafts_of_a_series_later_tells_each_approver_once(city, django_capture_on_commit_callbacks):
    series = weekly_series(city, count=4)
    for post in series_posts(series):
        services.post_request_changes(post=post, user=city.bob, comment="Add the room number.")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert series_submit(series=series, user=city.alice) == 4

    messages = by_recipient()
    # The default one-step policy: the Parks approvers and the communications managers.
    assert sorted(messages) == [f"{name}@city.example" for name in ("bob", "dana", "max", "pat", "quinn")]
    assert all(len(received) == 1 for received in messages.values())
    assert "4 posts of a Parks and Recreation series" in messages["dana@city.example"][0].subject


def test_approving_a_series_at_the_last_step_tells_the_author_and_admins_once(city, django_capture_on_commit_callbacks):
    parks_policy(city)
    series = weekly_series(city, count=10)
    series_approve(series=series, user=city.bob)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert series_approve(series=series, user=city.dana) == 10

    messages = by_recipient()
    assert sorted(messages) == ["alice@city.example", "pat@city.example"]
    for received in messages.values():
        assert len(received) == 1
        assert received[0].subject == "[CivicPost] Approved: 10 posts of a Parks and Recreation series"
        assert (
            "approved 10 posts of a recurring series of Parks and Recreation. They are scheduled." in received[0].body
        )
        assert series_address(series) in received[0].body


def test_the_series_page_button_sends_one_message_per_person(city, django_capture_on_commit_callbacks):
    parks_policy(city)
    series = weekly_series(city, count=10)
    mail.outbox.clear()
    client = Client()
    client.force_login(city.quinn)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("composer:series_approve", args=[series.pk]))

    assert response.status_code == 302
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "dana@city.example",
        "max@city.example",
    ]


def test_a_post_of_a_series_approved_on_its_own_is_announced_as_a_single_post(city, django_capture_on_commit_callbacks):
    parks_policy(city)
    series = weekly_series(city, count=3)
    first = series_posts(series)[0]
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.post_approve(post=first, user=city.bob) is None

    assert sorted(address for message in mail.outbox for address in message.to) == [
        "dana@city.example",
        "max@city.example",
    ]
    message = mail.outbox[0]
    assert message.subject == "[CivicPost] Waiting for your approval: Parks and Recreation post"
    assert "step 2 of 2 (Communications)" in message.body
    assert post_address(first) in message.body and "series" not in message.body


def test_a_refused_series_approval_sends_nothing(city, django_capture_on_commit_callbacks):
    parks_policy(city)
    series = weekly_series(city, count=3)
    third = series_posts(series)[2]
    BlackoutPeriod.objects.create(
        starts_at=third.due_at - dt.timedelta(hours=1), ends_at=third.due_at + dt.timedelta(hours=1), reason="Vote"
    )
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError, match="Post 3"):
        series_approve(series=series, user=city.bob)

    assert mail.outbox == []
