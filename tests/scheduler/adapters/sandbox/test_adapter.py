"""The built-in Sandbox platform: the contract, and each failure mode classified in the error vocabulary."""

import datetime as dt
import re

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from medialibrary.services import media_public_url, media_upload
from scheduler import services
from scheduler.adapters import registry
from scheduler.adapters.base import (
    ChannelAccount,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.sandbox.adapter import SANDBOX_MODES, SANDBOX_TEXT_LIMIT, SandboxAdapter
from scheduler.models import SandboxPost
from tests.factories import ChannelFactory
from tests.medialibrary.helpers import jpeg_upload
from tests.scheduler import make_due, tick

pytestmark = pytest.mark.django_db

CONTENT = PostContent(text="Library closed Monday for Memorial Day.", link="https://library.example/hours")


@pytest.fixture
def channel():
    return ChannelFactory(display_name="Library on Sandbox")


def _adapter(channel, mode: str | None = None) -> SandboxAdapter:  # noqa: ANN001
    options = {"mode": mode} if mode else {}
    return SandboxAdapter(ChannelAccount(channel_id=channel.pk, display_name=channel.display_name, options=options))


def test_the_registry_builds_a_sandbox_adapter_with_decrypted_credentials(channel):
    adapter = registry.adapter_for_channel(channel)
    assert isinstance(adapter, SandboxAdapter)
    assert adapter.account.credentials == {"token": "sandbox-secret-token"}
    assert registry.platform_label("sandbox") == "Sandbox"
    assert ("sandbox", "Sandbox") in registry.platform_choices()
    with pytest.raises(registry.UnknownPlatform):
        registry.get_adapter_class("myspace")


def test_publishing_stores_the_post_and_returns_its_permalink(channel):
    result = _adapter(channel).publish(CONTENT, idempotency_key="key-1")
    sandbox_post = SandboxPost.objects.get()
    assert (sandbox_post.channel, sandbox_post.text, sandbox_post.link, sandbox_post.idempotency_key) == (
        channel,
        CONTENT.text,
        CONTENT.link,
        "key-1",
    )
    assert result.remote_id == str(sandbox_post.pk)
    assert result.permalink == f"http://testserver/sandbox/#sandbox-post-{sandbox_post.pk}"
    assert result.raw == {"id": sandbox_post.pk, "created_at": sandbox_post.created_at.isoformat()}


def test_the_same_idempotency_key_answers_with_the_existing_post(channel):
    first = _adapter(channel).publish(CONTENT, idempotency_key="key-1")
    second = _adapter(channel).publish(CONTENT, idempotency_key="key-1")
    other = _adapter(channel).publish(CONTENT, idempotency_key="key-2")
    assert first == second
    assert other.remote_id != first.remote_id
    assert SandboxPost.objects.count() == 2


@pytest.mark.parametrize(
    ("mode", "error", "message"),
    [
        ("fail", PublishError, "The sandbox rejected this post (demonstration of a platform refusal)."),
        ("rate_limit", RateLimited, "The sandbox is rate limiting this account."),
        ("down", PublishError, "Could not connect to the sandbox; nothing was sent."),
        ("timeout", OutcomeUnknown, "The sandbox did not answer in time."),
        ("drop_response", OutcomeUnknown, "The connection to the sandbox dropped before it answered."),
    ],
)
def test_each_failure_mode_raises_the_right_error(channel, mode, error, message):
    with pytest.raises(error) as excinfo:
        _adapter(channel, mode).publish(CONTENT, idempotency_key="key-1")
    assert excinfo.value.message == message
    if mode == "fail":
        assert excinfo.value.permanent is True
    if mode == "down":
        assert excinfo.value.permanent is False
    if mode == "rate_limit":
        assert excinfo.value.retry_after == 60
    # Only a dropped response has really stored the post.
    assert SandboxPost.objects.count() == (1 if mode == "drop_response" else 0)


def test_every_documented_mode_is_handled():
    assert set(SANDBOX_MODES) == {"ok", "fail", "rate_limit", "down", "timeout", "drop_response"}


def test_the_channel_mode_wins_over_the_global_setting(channel):
    with override_settings(CIVICPOST_SANDBOX_MODE="fail"):
        with pytest.raises(PublishError):
            _adapter(channel).publish(CONTENT, idempotency_key="a")
        assert _adapter(channel, "ok").publish(CONTENT, idempotency_key="b").remote_id


def test_the_sandbox_cannot_confirm_an_unknown_outcome(channel):
    with pytest.raises(OutcomeUnknown, match="Sandbox gives no way to check"):
        _adapter(channel).reconcile(CONTENT, idempotency_key="key-1", sent_at=None)


def test_text_length_counts_the_link_and_validate_reports_the_overflow(channel):
    adapter = _adapter(channel)
    assert adapter.text_length(CONTENT).used == len(CONTENT.text) + 2 + len(CONTENT.link)
    assert adapter.text_length(PostContent(text="see https://x.example", link="https://x.example")).used == 21
    assert adapter.validate(PostContent(text="x" * SANDBOX_TEXT_LIMIT)) == []
    problems = adapter.validate(PostContent(text="x" * (SANDBOX_TEXT_LIMIT + 3)))
    assert [p.message for p in problems] == ["Sandbox allows 500 characters; this post has 503 (3 too many)."]


def test_delete_removes_only_this_channels_post(channel):
    other_channel = ChannelFactory()
    mine = _adapter(channel).publish(CONTENT, idempotency_key="k")
    theirs = _adapter(other_channel).publish(CONTENT, idempotency_key="k")
    _adapter(channel).delete(theirs.remote_id)
    assert SandboxPost.objects.count() == 2
    _adapter(channel).delete(mine.remote_id)
    assert list(SandboxPost.objects.values_list("pk", flat=True)) == [int(theirs.remote_id)]


def test_connection_check_and_metrics(channel):
    assert _adapter(channel).check_connection().ok is True
    assert _adapter(channel, "down").check_connection().ok is False
    metrics = _adapter(channel).fetch_metrics("1")
    # Deterministic figures per post so the demo has some; quotes not reported, to show how that looks.
    assert metrics == _adapter(channel).fetch_metrics("1")
    assert set(metrics) == {"views", "likes", "shares", "replies", "clicks"}
    assert all(value > 0 for value in metrics.values())


@pytest.mark.parametrize("first_post_id", [1, 2, 3, 998, 12345])
def test_any_three_posts_in_a_row_hear_from_every_resident_and_a_post_always_gets_the_same_replies(
    channel, first_post_id
):
    from scheduler.adapters.sandbox.adapter import RESIDENT_REPLIES

    post_ids = [str(first_post_id + offset) for offset in range(3)]
    page = _adapter(channel).fetch_conversation(None, our_remote_ids=post_ids)

    assert {item.text for item in page.items} == {text for _handle, text in RESIDENT_REPLIES}
    for post_id in post_ids:
        replies = [item.text for item in page.items if item.in_reply_to_remote_id == post_id]
        assert 2 <= len(replies) <= 3 and len(set(replies)) == len(replies)
    again = _adapter(channel).fetch_conversation(None, our_remote_ids=post_ids)
    assert [(item.remote_id, item.text) for item in again.items] == [(item.remote_id, item.text) for item in page.items]
    assert page.next_cursor == post_ids[-1]


def test_a_post_deleted_from_the_sandbox_timeline_reads_as_removed(channel):
    from scheduler.adapters.base import MetricsReading, Removed

    mine = _adapter(channel).publish(CONTENT, idempotency_key="k")
    gone = _adapter(channel).publish(PostContent(text="Another"), idempotency_key="k2")
    _adapter(channel).delete(gone.remote_id)
    readings = _adapter(channel).fetch_metrics_batch([mine.remote_id, gone.remote_id])
    assert isinstance(readings[mine.remote_id], MetricsReading)
    assert isinstance(readings[gone.remote_id], Removed)


def test_publishing_keeps_each_attachment_with_its_alt_text_and_the_language(channel):
    content = PostContent(
        text="Piscinas abiertas",
        language="es",
        media=(
            MediaItem(
                url="https://city.example/media/pool.jpg", mime_type="image/jpeg", alt_text="Niños", path="p.jpg"
            ),
            MediaItem(url="https://city.example/media/tour.mp4", mime_type="video/mp4", alt_text="Recorrido"),
        ),
    )
    _adapter(channel).publish(content, idempotency_key="key-1")
    sandbox_post = SandboxPost.objects.get()
    assert sandbox_post.language == "es"
    assert sandbox_post.media == [
        {
            "url": "https://city.example/media/pool.jpg",
            "mime_type": "image/jpeg",
            "alt_text": "Niños",
            "path": "p.jpg",
            "width": None,
            "height": None,
        },
        {
            "url": "https://city.example/media/tour.mp4",
            "mime_type": "video/mp4",
            "alt_text": "Recorrido",
            "path": "",
            "width": None,
            "height": None,
        },
    ]


def test_the_timeline_shows_a_published_post_with_its_images_alt_text_link_and_language(personas, client):
    """Written, approved and published through the services and the dispatcher, as a person would."""
    asset = media_upload(user=personas.alice, department=personas.parks, upload=jpeg_upload(size=(40, 30)))
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Piscinas abiertas & <gratis>\nsábado",
        link="https://www.example.gov/piscinas",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(hours=2),
        language="es",
        media=[(asset, "Niños corriendo en la piscina")],
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    make_due(post)
    tick()
    sandbox_post = SandboxPost.objects.get()

    client.force_login(personas.alice)
    html = client.get(reverse("scheduler:sandbox_timeline")).content.decode()
    article = re.search(rf'<article[^>]*id="sandbox-post-{sandbox_post.pk}".*?</article>', html, re.S).group(0)
    image = re.search(r"<img [^>]*>", article).group(0)
    assert f'src="{media_public_url(asset.file_name)}"' in image
    assert 'alt="Niños corriendo en la piscina"' in image
    assert 'width="40" height="30"' in image
    assert "Alt text:</span> Niños corriendo en la piscina</figcaption>" in article
    assert 'lang="es"' in article and "In Spanish" in article
    assert "Piscinas abiertas &amp; &lt;gratis&gt;<br>sábado" in article
    assert '<a class="usa-link" href="https://www.example.gov/piscinas">' in article


def test_the_timeline_says_when_an_image_has_no_alt_text_and_shows_a_video_with_its_description(personas, client):
    SandboxPost.objects.create(
        channel=personas.parks_channel,
        idempotency_key="k",
        text="Tour",
        media=[
            {"url": "/media/a.png", "mime_type": "image/png", "alt_text": ""},
            {"url": "/media/tour.mp4", "mime_type": "video/mp4", "alt_text": "A walk around the new pool"},
        ],
    )
    SandboxPost.objects.create(channel=personas.parks_channel, idempotency_key="old", text="Stored before media")
    client.force_login(personas.alice)
    html = client.get(reverse("scheduler:sandbox_timeline")).content.decode()
    assert '<img class="civic-sandbox-post__image" src="/media/a.png" alt=""' in html
    assert "No alt text: people who use a screen reader will not know what this shows." in html
    assert '<video class="civic-sandbox-post__image" controls preload="metadata" src="/media/tour.mp4"' in html
    assert 'aria-label="A walk around the new pool"' in html
    assert "Stored before media" in html
