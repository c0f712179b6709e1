"""Helpers for the Meta adapter tests (Facebook Page, Instagram, Threads): fixtures, request decoding,
and approved posts that carry media (the composer does not attach media yet)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.utils import timezone

from scheduler import services
from scheduler.models import Channel, Delivery, Post, PostApproval, PostStatus
from tests.factories import PostFactory

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(platform: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / platform / f"{name}.json").read_text())


def form(call: responses.Call) -> dict[str, str]:
    """The form-encoded body of a recorded request, one value per field."""
    body = call.request.body or ""
    if isinstance(body, bytes):
        body = body.decode()
    return {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}


def query(call: responses.Call) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(call.request.url).query).items()}


def path(call: responses.Call) -> str:
    return urlsplit(call.request.url).path


def calls_to(fake: responses.RequestsMock, method: str, url_path: str) -> list[responses.Call]:
    return [call for call in fake.calls if call.request.method == method and path(call) == url_path]


@pytest.fixture
def fake():
    """A `responses` mock: any request not registered fails the test with a ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replaces the container poll's sleep; returns the waits that were asked for."""
    from scheduler.adapters import graph

    waits: list[float] = []
    monkeypatch.setattr(graph, "_sleep", waits.append)
    return waits


def approved_post_with_media(*, author, approver, channel: Channel, text: str, media: list[dict[str, str]]) -> Post:  # noqa: ANN001
    """An approved, due post whose approved snapshot carries media, as the media composer will write it."""
    past = timezone.now() - dt.timedelta(minutes=1)
    post = PostFactory(department=channel.department, author=author, text=text, due_at=past, channels=[channel])
    content = {**services.approval_content_for(post), "media": media}
    approval = PostApproval.objects.create(
        post=post,
        content=content,
        content_hash=services.content_hash(content),
        approved_by=approver,
        approved_at=timezone.now(),
    )
    post.status = PostStatus.APPROVED
    post.current_approval = approval
    post.save(update_fields=["status", "current_approval"])
    Delivery.objects.create(post=post, channel=channel, approval=approval, due_at=past, next_attempt_at=past)
    return post


def set_attempt_started(delivery: Delivery, *, ago: dt.timedelta) -> None:
    """Moves the last attempt's start into the past (the reconciler measures from it)."""
    delivery.attempt_log.update(started_at=timezone.now() - ago)
