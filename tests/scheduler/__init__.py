"""Helpers shared by the scheduler tests: drive posts through the real services, and move rows in time.

The dispatcher compares with the DATABASE clock (Now()), which time-machine cannot move (PostgreSQL,
and SQLite's 'now', read the real clock). So "time passes" is written as moving the rows' times into
the past, never as moving the clock.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from scheduler import publishing, services
from scheduler.models import Channel, Delivery, Post
from scheduler.tasks import enqueue_publish

DEFAULT_TEXT = "Splash pads open Saturday at 10 a.m. at every city park."


def draft_post(
    *,
    author,  # noqa: ANN001 - a User
    channels: list[Channel],
    text: str = DEFAULT_TEXT,
    link: str = "",
    due_in: dt.timedelta = dt.timedelta(hours=2),
) -> Post:
    """Returns a draft written through post_create, in the department of the first channel."""
    return services.post_create(
        author=author,
        department=channels[0].department,
        text=text,
        link=link,
        channels=channels,
        due_at=timezone.now() + due_in,
    )


def submitted_post(*, author, channels: list[Channel], **kwargs) -> Post:  # noqa: ANN001
    post = draft_post(author=author, channels=channels, **kwargs)
    return services.post_submit(post=post, user=author)


def approved_post(*, author, approver, channels: list[Channel], **kwargs) -> Post:  # noqa: ANN001
    post = submitted_post(author=author, channels=channels, **kwargs)
    services.post_approve(post=post, user=approver)
    post.refresh_from_db()
    return post


def make_due(post: Post, *, ago: dt.timedelta = dt.timedelta(minutes=1)) -> None:
    """Moves the post's live deliveries into the past, as if their time had come."""
    past = timezone.now() - ago
    Delivery.objects.filter(post=post).exclude(status="cancelled").update(due_at=past, next_attempt_at=past)


def make_retry_due(delivery: Delivery) -> None:
    """The wait a platform asked for (or our backoff) has passed."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def expire_lease(delivery: Delivery) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(lease_expires_at=timezone.now() - dt.timedelta(seconds=1))


def tick(times: int = 1) -> list[publishing.TickReport]:
    """Runs the dispatcher like beat and cron do: tasks enqueued with .delay (eager in tests)."""
    return [publishing.dispatch_tick(enqueue=enqueue_publish) for _ in range(times)]


def set_mode(channel: Channel, mode: str) -> None:
    """Switches a Sandbox channel's behaviour (ok, fail, rate_limit, down, timeout, drop_response)."""
    channel.options = {**channel.options, "mode": mode}
    channel.save(update_fields=["options"])
