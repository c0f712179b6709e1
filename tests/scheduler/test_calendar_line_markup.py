"""The month's and week's lines are written in Python (scheduler/calendar/line_markup.py), outside the
templates that tests/accounts/test_hardening.py scans: the rendered pages must still need no inline script,
style or event handler, every value must be escaped (text, versions, names, attributes), and the line's
words must follow the interface language."""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from scheduler.models import Channel, Post, PostStatus
from tests.accounts.test_hardening import inline_code
from tests.scheduler.test_calendar import NOW, at, make_post

pytestmark = pytest.mark.django_db

HOSTILE = 'Pool <script>alert("x")</script> & Bob\'s <img src=x onerror=alert(1)> style="color:red"'
ESCAPED = (
    "Pool &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Bob&#x27;s "
    "&lt;img src=x onerror=alert(1)&gt; style=&quot;color:red&quot;"
)
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es-US,es;q=0.9,en;q=0.5"}


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def hostile_posts(personas):  # noqa: ANN201
    """A movable draft and an approved post one minute apart on one channel (a conflict hint each), with
    hostile text in the post, its channel version, its thread, its channel's name and its approver's name."""
    Channel.objects.filter(pk=personas.parks_channel.pk).update(display_name='Parks <b>"on"</b> & Sandbox')
    personas.bob.first_name, personas.bob.last_name = "<Bob>", 'O\'Brien "B"'
    personas.bob.save()
    draft = make_post(
        author=personas.alice, channels=[personas.parks_channel], due_at=at(2026, 11, 10, 9), text=HOSTILE
    )
    approved = make_post(
        author=personas.alice,
        channels=[personas.parks_channel],
        due_at=at(2026, 11, 10, 9, 1),
        status=PostStatus.APPROVED,
        approver=personas.bob,
        text=HOSTILE,
    )
    Post.objects.filter(pk__in=[draft.pk, approved.pk]).update(
        channel_text={str(personas.parks_channel.pk): "Own " + HOSTILE}, thread_parts=["<two>", "three & four"]
    )
    return draft, approved


def pages(client, user, **headers) -> dict[str, str]:  # noqa: ANN001
    client.force_login(user)
    found = {}
    for name, url, params in (
        ("month", reverse("scheduler:calendar_month"), {"month": "2026-11", "filtered": "1"}),
        ("week", reverse("scheduler:calendar_week"), {"week": "2026-11-10", "filtered": "1"}),
    ):
        response = client.get(url, params, **headers)
        assert response.status_code == 200
        found[name] = response.content.decode()
    return found


def test_the_lines_need_no_inline_code_and_escape_every_value(personas, client, hostile_posts):
    draft, approved = hostile_posts
    for name, page in pages(client, personas.alice).items():
        assert inline_code(page) == [], name
        assert "<script>alert" not in page and "<img src=x" not in page and "<b>" not in page, name
        for post in (draft, approved):
            assert f'data-post-id="{post.pk}"' in page, name
            assert f'id="cal-preview-{post.pk}"' in page and f'aria-describedby="cal-preview-{post.pk}"' in page
        assert f'<p class="civic-cal-preview__text">{ESCAPED}</p>' in page, name
        assert f"<strong>Parks &lt;b&gt;&quot;on&quot;&lt;/b&gt; &amp; Sandbox:</strong> Own {ESCAPED}" in page
        assert "Approved by &lt;Bob&gt; O&#x27;Brien &quot;B&quot;." in page, name
        # The move summary is an attribute: its quotes are escaped too.
        assert 'data-summary="Pool &lt;script&gt;alert(&quot;x&quot;)' in page, name
        assert 'aria-label="Has a warning"' in page and "<strong>Conflict:</strong>" in page, name
        assert "Thread of 3 parts" in page and "Channels: Parks &lt;b&gt;" in page, name


def test_the_lines_words_follow_the_interface_language(personas, client, hostile_posts):
    for name, page in pages(client, personas.alice, **SPANISH).items():
        for words in (
            'aria-label="Tiene una advertencia"',
            "<strong>Conflicto:</strong>",
            "Hilo de 3 partes",
            "Canales: Parks &lt;b&gt;",
            "Versiones para canales concretos:",
            "Aprobada por &lt;Bob&gt;",
            ">Mover<span",
        ):
            assert words in page, (name, words)
        assert "Has a warning" not in page and "Thread of" not in page, name
