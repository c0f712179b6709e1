"""Helpers of the inbox tests: a published Sandbox post (residents answer it) and a read of its channel."""

from __future__ import annotations

from django.utils import timezone

from inbox.models import InboxItem, PolicyClause
from inbox.services import channel_poll
from scheduler.models import Channel, Delivery, Post
from tests.scheduler import approved_post, make_due, tick


def published_post(*, author, approver, channel: Channel, text: str = "Pools open Saturday.") -> Post:  # noqa: ANN001
    """A post published on `channel` through the real publishing path."""
    post = approved_post(author=author, approver=approver, channels=[channel], text=text)
    make_due(post)
    tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == "published", delivery.failure_message
    return post


def read(channel: Channel) -> list[InboxItem]:
    channel_poll(channel=channel, now=timezone.now())
    return list(InboxItem.objects.filter(channel=channel).order_by("pk"))


def clause(number: str = "4.2", title: str = "Threats and harassment") -> PolicyClause:
    return PolicyClause.objects.create(number=number, title=title, text="Comments that threaten a person are removed.")
