"""The Mastodon adapter with the real Mastodon.py client against `responses` (Mastodon.py is requests-based),
answering with bodies shaped like docs.joinmastodon.org's examples (fixtures/mastodon/*.json).

The instance lives at http://127.0.0.1:8401: the SSRF guard lets plain http reach loopback only because
the test settings set CIVICPOST_ALLOW_LOOPBACK_PLATFORMS; `responses` answers before any socket opens."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import timezone
from responses.matchers import query_param_matcher
from urllib3.exceptions import MaxRetryError, NewConnectionError

from medialibrary.models import PlatformUpload
from scheduler import publishing
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
    ReplyTarget,
)
from scheduler.adapters.mastodon import adapter as mastodon_module
from scheduler.adapters.mastodon.adapter import (
    ConnectFailed,
    MastodonAdapter,
    authorization_url,
    exchange_code,
    instance_cache_key,
    mastodon_text_length,
    register_app,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.ssrf import UnsafeURL
from scheduler.models import Channel, ChannelStatus, Delivery, DeliveryAttempt, DeliveryStatus, PostStatus
from scheduler.tasks import enqueue_publish
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due
from tests.scheduler.adapters.media_helpers import store_media

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mastodon"
INSTANCE = "http://127.0.0.1:8401"
STATUSES_URL = f"{INSTANCE}/api/v1/statuses"
MEDIA_URL = f"{INSTANCE}/api/v2/media"
INSTANCE_V2_URL = f"{INSTANCE}/api/v2/instance"
TOKEN = "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
STATUS_ID = "113400000000000001"
PERMALINK = "https://social.city.example/@parks/113400000000000001"
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def make_adapter(*, channel_id: int = 0, credentials: dict | None = None, **options) -> MastodonAdapter:
    return MastodonAdapter(
        ChannelAccount(
            channel_id=channel_id,
            display_name="Parks on Mastodon",
            handle="@parks@social.city.example",
            credentials=dict(credentials if credentials is not None else {"access_token": TOKEN}),
            options={"instance_url": INSTANCE, "max_characters": 500, **options},
        )
    )


@pytest.fixture(autouse=True)
def _fresh_cache_and_no_waiting(monkeypatch):
    # Only our own key: with REDIS_URL the cache shares Redis with Celery, so never cache.clear().
    cache.delete(instance_cache_key(INSTANCE))
    monkeypatch.setattr(mastodon_module, "MEDIA_POLL_INTERVAL_SECONDS", 0)
    yield
    cache.delete(instance_cache_key(INSTANCE))


@pytest.fixture
def fake():
    """The fake instance. Tests register what it answers; every request it got is in fake.calls."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


@pytest.fixture
def mastodon_channel(personas) -> Channel:
    return ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        display_name="Parks on Mastodon",
        account_handle="@parks@social.city.example",
        credentials={"access_token": TOKEN},
        options={"instance_url": INSTANCE, "max_characters": 500},
    )


def form(call) -> dict[str, list[str]]:
    return parse_qs(call.request.body if isinstance(call.request.body, str) else call.request.body.decode())


def status_posts(fake) -> list:
    return [call for call in fake.calls if call.request.method == "POST" and call.request.url == STATUSES_URL]


def claimed_delivery(personas, channel: Channel, **kwargs) -> Delivery:
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel], **kwargs)
    make_due(post)
    claimed = publishing.deliveries_claim_due()
    delivery = Delivery.objects.get(post=post)
    assert claimed == [delivery.pk]
    return delivery


REFUSED = requests.exceptions.ConnectionError(
    MaxRetryError(
        None, "/api/v1/statuses", NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    )
)
CONNECT_TIMEOUT = requests.exceptions.ConnectTimeout("Connection to 127.0.0.1 timed out. (connect timeout=5.0)")
READ_TIMEOUT = requests.exceptions.ReadTimeout("HTTPConnectionPool(host='127.0.0.1', port=8401): Read timed out.")


# --- Length ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Splash pads open Saturday.", 26),
        # Any URL written with its protocol counts as 23, however long.
        ("Details: https://www.city.example/parks/splash-pads?utm_source=mastodon&utm_medium=social", 9 + 23),
        ("Short: http://x.co", 7 + 23),
        # Trailing punctuation is not part of the URL.
        ("See https://city.example/parks.", 4 + 23 + 1),
        # Without a protocol it is plain text, counted in full.
        ("See city.example/parks", 22),
        # A remote mention counts only its @user part; a local one counts in full.
        ("Thanks @library@social.city.example and @parks!", 7 + 8 + 5 + 6 + 1),
        # Mastodon counts grapheme clusters: a ZWJ family, a combining accent and a flag are one each.
        ("👩\u200d👩\u200d👧\u200d👦 café 🇺🇸", 1 + 1 + 4 + 1 + 1),
        ("公園のスプラッシュパッド", 12),
    ],
)
def test_mastodon_counts_like_its_status_length_validator(text, expected):
    assert mastodon_text_length(text) == expected


def test_the_link_is_counted_as_23_characters_after_the_text():
    adapter = make_adapter()
    content = PostContent(text="x" * 450, link="https://www.city.example/" + "a" * 200)

    length = adapter.text_length(content)

    assert (length.used, length.limit) == (450 + 2 + 23, 500)
    assert length.over_by == 0


def test_the_limit_is_read_from_the_instance_once_an_hour_and_stored_on_the_channel(fake, mastodon_channel):
    Channel.objects.filter(pk=mastodon_channel.pk).update(options={"instance_url": INSTANCE})
    mastodon_channel.refresh_from_db()
    fake.get(INSTANCE_V2_URL, json=fixture("instance_v2.json"))

    adapter = adapter_for_channel(mastodon_channel)
    first = adapter.text_length(PostContent(text="hello"))
    second = adapter_for_channel(mastodon_channel).text_length(PostContent(text="hello"))
    # The adapter hands the limits out in updated_options; its caller saves them on the channel.
    channel_save_adapter_changes(channel=mastodon_channel, adapter=adapter)

    assert first.limit == second.limit == 1000
    assert len(fake.calls) == 1  # the second read came from the cache
    assert fake.calls[0].request.headers["User-Agent"].startswith("CivicPost/")
    mastodon_channel.refresh_from_db()
    assert mastodon_channel.options["max_characters"] == 1000
    assert mastodon_channel.options["instance_limits"]["characters_reserved_per_url"] == 23
    assert mastodon_channel.options["instance_limits"]["max_media_attachments"] == 4


def test_the_limit_stored_on_the_channel_is_used_without_asking_the_instance(fake):
    adapter = make_adapter(max_characters=640)

    assert adapter.text_length(PostContent(text="hello")).limit == 640
    assert len(fake.calls) == 0


def test_the_limit_falls_back_to_mastodons_default_when_the_instance_cannot_tell(fake):
    fake.get(INSTANCE_V2_URL, status=503, json={"error": "Service unavailable"})
    adapter = make_adapter(max_characters=None)

    assert adapter.text_length(PostContent(text="hello")).limit == 500


def test_validation_names_every_problem_in_plain_words(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    media = tuple(
        MediaItem(url="", path=image, mime_type="image/png", alt_text="" if n == 0 else "Splash pad") for n in range(5)
    )

    problems = make_adapter().validate(PostContent(text="x" * 501, media=media))

    messages = [problem.message for problem in problems]
    assert "Mastodon allows 500 characters; this post has 501 (1 too many)." in messages
    assert "Mastodon takes at most 4 images per post." in messages
    assert any("alt text" in message for message in messages)


def test_a_post_within_the_limits_has_no_problems():
    assert make_adapter().validate(PostContent(text=DEFAULT_TEXT, link="https://city.example/parks")) == []


# --- Publishing: the exact request -----------------------------------------------------------------


def test_publish_sends_the_status_with_the_deliverys_idempotency_key(fake):
    fake.post(STATUSES_URL, json=fixture("status.json"))
    key = str(uuid.uuid4())

    result = make_adapter().publish(
        PostContent(text=DEFAULT_TEXT, link="https://city.example/parks", language="en"), idempotency_key=key
    )

    (call,) = fake.calls
    assert call.request.method == "POST"
    assert urlsplit(call.request.url).path == "/api/v1/statuses"
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Idempotency-Key"] == key
    assert call.request.headers["User-Agent"].startswith("CivicPost/")
    assert form(call) == {
        "status": [f"{DEFAULT_TEXT}\n\nhttps://city.example/parks"],
        "visibility": ["public"],
        "language": ["en"],
        "sensitive": ["0"],
    }
    assert result.remote_id == STATUS_ID
    assert result.permalink == PERMALINK
    json.dumps(result.raw)  # stored in the attempt log as JSON
    assert result.raw["uri"] == "https://social.city.example/users/parks/statuses/113400000000000001"


def test_publish_uploads_each_image_with_its_alt_text_and_waits_for_processing(fake, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    alt = "Children running through the splash pad fountains at Riverside Park."
    fake.post(MEDIA_URL, status=202, json=fixture("media_processing.json"))
    fake.get(f"{INSTANCE}/api/v1/media/113400000000000777", status=206, json=fixture("media_processing.json"))
    fake.get(f"{INSTANCE}/api/v1/media/113400000000000777", status=200, json=fixture("media_ready.json"))
    fake.post(STATUSES_URL, json=fixture("status.json"))

    make_adapter(visibility="unlisted").publish(
        PostContent(
            text=DEFAULT_TEXT,
            language="es",
            media=(MediaItem(url="", path=image, mime_type="image/png", alt_text=alt),),
        ),
        idempotency_key="key-1",
    )

    upload, poll_1, poll_2, status = fake.calls
    assert urlsplit(upload.request.url).path == "/api/v2/media"
    assert upload.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Idempotency-Key" not in upload.request.headers
    body = upload.request.body
    assert b'name="description"' in body and alt.encode() in body
    assert b'name="file"' in body and b"Content-Type: image/png" in body and PNG_1X1 in body
    assert [poll_1.request.method, poll_2.request.method] == ["GET", "GET"]
    assert form(status) == {
        "status": [DEFAULT_TEXT],
        "visibility": ["unlisted"],
        "language": ["es"],
        "media_ids[]": ["113400000000000777"],
        "sensitive": ["0"],
    }
    assert status.request.headers["Idempotency-Key"] == "key-1"


@pytest.mark.django_db
def test_a_video_still_processing_after_the_wait_is_checked_later_without_posting_or_uploading_again(
    fake, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("clip.mp4", b"\x00\x00\x00\x18ftypmp42")
    fake.post(MEDIA_URL, status=202, json=fixture("media_processing.json"))
    fake.get(f"{INSTANCE}/api/v1/media/113400000000000777", status=206, json=fixture("media_processing.json"))
    content = PostContent(text="Clip", media=(MediaItem(url="", path=image, mime_type="video/mp4", alt_text="A clip"),))

    for _attempt in range(2):
        with pytest.raises(CheckAgainLater) as caught:
            make_adapter().publish(content, idempotency_key="k")
        assert caught.value.code == "video_processing"

    assert len(status_posts(fake)) == 0
    assert len([c for c in fake.calls if c.request.method == "POST" and c.request.url == MEDIA_URL]) == 1
    assert PlatformUpload.objects.get(key="k", platform="mastodon").state["media_id"] == "113400000000000777"


# --- Publishing: every documented error ---------------------------------------------------------------


def test_422_is_a_permanent_rejection_with_mastodons_own_message(fake):
    fake.post(STATUSES_URL, status=422, json=fixture("error_422.json"))

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(PostContent(text="x" * 501), idempotency_key="k")

    assert caught.value.permanent is True
    assert caught.value.message == "Mastodon rejected the post: Validation failed: Text character limit of 500 exceeded"
    assert caught.value.code == "422"


@pytest.mark.parametrize("status", [401, 403])
def test_a_revoked_token_or_missing_permission_means_reconnect(fake, status):
    fake.post(STATUSES_URL, status=status, json=fixture(f"error_{status}.json"))

    with pytest.raises(AuthExpired):
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")


def test_429_waits_until_the_reset_time_mastodon_gives(fake):
    reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=120)
    fake.post(
        STATUSES_URL,
        status=429,
        json=fixture("error_429.json"),
        headers={
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    )

    with pytest.raises(RateLimited) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert 110 <= caught.value.retry_after <= 121


def test_429_without_a_reset_time_waits_for_the_five_minute_window(fake):
    fake.post(STATUSES_URL, status=429, json=fixture("error_429.json"))

    with pytest.raises(RateLimited) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.retry_after == 300


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_after_sending_is_an_unknown_outcome(fake, status):
    fake.post(STATUSES_URL, status=status, json={"error": "Something went wrong"})

    with pytest.raises(OutcomeUnknown):
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")


@pytest.mark.parametrize("failure", [REFUSED, CONNECT_TIMEOUT], ids=["refused", "connect-timeout"])
def test_a_connection_that_never_opened_is_retried(fake, failure):
    fake.post(STATUSES_URL, body=failure)

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.permanent is False
    assert caught.value.message == "Could not connect to the Mastodon instance; nothing was sent."


def test_a_read_timeout_after_sending_is_an_unknown_outcome(fake):
    fake.post(STATUSES_URL, body=READ_TIMEOUT)

    with pytest.raises(OutcomeUnknown):
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")


def test_a_timeout_while_uploading_an_image_is_retried_because_no_status_exists(fake, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    image = store_media("splash.png", PNG_1X1)
    fake.post(MEDIA_URL, body=READ_TIMEOUT)

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(
            PostContent(text="hi", media=(MediaItem(url="", path=image, mime_type="image/png", alt_text="Pad"),)),
            idempotency_key="k",
        )

    assert caught.value.permanent is False
    assert len(status_posts(fake)) == 0


@pytest.mark.parametrize("instance_url", ["https://10.0.0.5", "http://192.168.1.20:3000", "ftp://social.example"])
def test_an_unsafe_instance_address_is_refused_before_any_request(fake, instance_url):
    with pytest.raises(PublishError) as caught:
        make_adapter(instance_url=instance_url).publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.permanent is True
    assert "cannot be used" in caught.value.message
    assert len(fake.calls) == 0


def test_a_channel_without_a_token_must_be_connected_first(fake):
    with pytest.raises(AuthExpired):
        make_adapter(credentials={}).publish(PostContent(text="hello"), idempotency_key="k")


# --- Through the publishing service: the delivery's state --------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected_status"),
    [
        ({"status": 422, "json": fixture("error_422.json")}, DeliveryStatus.FAILED),
        ({"status": 401, "json": fixture("error_401.json")}, DeliveryStatus.SCHEDULED),
        ({"status": 429, "json": fixture("error_429.json")}, DeliveryStatus.RETRY_WAIT),
        ({"body": REFUSED}, DeliveryStatus.RETRY_WAIT),
        ({"body": READ_TIMEOUT}, DeliveryStatus.UNKNOWN),
        ({"status": 503, "json": {"error": "Service Unavailable"}}, DeliveryStatus.UNKNOWN),
        ({"json": fixture("status.json")}, DeliveryStatus.PUBLISHED),
    ],
    ids=["422", "401", "429", "refused", "read-timeout", "503", "200"],
)
def test_each_answer_leads_to_the_right_delivery_state(fake, personas, mastodon_channel, answer, expected_status):
    delivery = claimed_delivery(personas, mastodon_channel)
    fake.post(STATUSES_URL, **answer)

    assert publishing.delivery_publish(delivery_id=delivery.pk) == expected_status

    delivery.refresh_from_db()
    mastodon_channel.refresh_from_db()
    (call,) = status_posts(fake)
    assert call.request.headers["Idempotency-Key"] == str(delivery.idempotency_key)
    if expected_status == DeliveryStatus.FAILED:
        assert delivery.failure_message == (
            "Mastodon rejected the post: Validation failed: Text character limit of 500 exceeded"
        )
    if answer.get("status") == 401:
        assert mastodon_channel.status == ChannelStatus.NEEDS_RECONNECT
        assert "reconnect" in delivery.failure_message
    else:
        assert mastodon_channel.status == ChannelStatus.CONNECTED
    if expected_status == DeliveryStatus.PUBLISHED:
        assert (delivery.remote_id, delivery.permalink) == (STATUS_ID, PERMALINK)
        assert delivery.attempt_log.get().response["id"] == STATUS_ID


def test_a_rate_limited_delivery_waits_for_mastodons_reset_time(fake, personas, mastodon_channel):
    delivery = claimed_delivery(personas, mastodon_channel)
    reset = timezone.now() + dt.timedelta(minutes=4)
    fake.post(
        STATUSES_URL,
        status=429,
        json=fixture("error_429.json"),
        headers={"X-RateLimit-Reset": reset.isoformat(), "Date": format_datetime(timezone.now(), usegmt=True)},
    )

    publishing.delivery_publish(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRY_WAIT
    assert abs((delivery.next_attempt_at - reset).total_seconds()) < 5


ACCOUNT_ID = "109000000000000042"
ACCOUNT_STATUSES_URL = f"{INSTANCE}/api/v1/accounts/{ACCOUNT_ID}/statuses"


def listed_status(*, created_at: dt.datetime, status_id: str = STATUS_ID, text: str = DEFAULT_TEXT) -> dict:
    status = fixture("status.json")
    status.update(
        id=status_id,
        created_at=created_at.isoformat().replace("+00:00", "Z"),
        content=f"<p>{text}</p>",
        url=f"https://social.city.example/@parks/{status_id}",
    )
    return status


def age_attempts(delivery: Delivery, by: dt.timedelta) -> None:
    for attempt in DeliveryAttempt.objects.filter(delivery=delivery):
        DeliveryAttempt.objects.filter(pk=attempt.pk).update(started_at=attempt.started_at - by)


def test_an_unknown_outcome_proved_absent_is_replayed_with_the_same_idempotency_key(fake, personas, mastodon_channel):
    delivery = claimed_delivery(personas, mastodon_channel)
    fake.post(STATUSES_URL, body=READ_TIMEOUT)
    fake.post(STATUSES_URL, json=fixture("status.json"))
    fake.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", json=fixture("credential_account.json"))
    listing = fake.get(ACCOUNT_STATUSES_URL, json=[])
    assert publishing.delivery_publish(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN
    age_attempts(delivery, dt.timedelta(minutes=3))

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    report = publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery.refresh_from_db()
    assert parse_qs(urlsplit(listing.calls[0].request.url).query) == {"exclude_reblogs": ["1"], "limit": ["40"]}
    assert report.claimed == [delivery.pk]
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.permalink == PERMALINK
    first, second = status_posts(fake)
    assert first.request.headers["Idempotency-Key"] == second.request.headers["Idempotency-Key"]
    assert second.request.headers["Idempotency-Key"] == str(delivery.idempotency_key)
    assert form(first) == form(second)


def test_an_unknown_outcome_found_on_the_account_is_published_without_sending_again(fake, personas, mastodon_channel):
    Channel.objects.filter(pk=mastodon_channel.pk).update(credentials={"access_token": TOKEN, "account_id": ACCOUNT_ID})
    delivery = claimed_delivery(personas, mastodon_channel)
    fake.post(STATUSES_URL, body=READ_TIMEOUT)
    publishing.delivery_publish(delivery_id=delivery.pk)
    # 70 minutes on: past Mastodon's one-hour idempotency window, which no longer matters.
    age_attempts(delivery, dt.timedelta(minutes=70))
    sent = DeliveryAttempt.objects.get(delivery=delivery).started_at
    fake.get(
        ACCOUNT_STATUSES_URL,
        json=[
            listed_status(created_at=sent + dt.timedelta(seconds=1), status_id="113400000000000009", text="Other"),
            listed_status(created_at=sent + dt.timedelta(seconds=1)),
            listed_status(created_at=sent - dt.timedelta(hours=1), status_id="113300000000000001"),
        ],
    )
    source = fake.get(f"{STATUSES_URL}/{STATUS_ID}/source", json={"id": STATUS_ID, "text": DEFAULT_TEXT})

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    assert (delivery.remote_id, delivery.permalink) == (STATUS_ID, PERMALINK)
    assert source.call_count == 1  # only the status whose rendered text could be ours is confirmed
    assert len(status_posts(fake)) == 1


def test_the_lookup_reaches_back_to_the_first_attempt_that_may_have_arrived(fake, personas, mastodon_channel):
    """The first attempt (unknown) was 58 minutes ago, a later one 3 minutes ago: the status of the first is on
    the second page (Link rel="next"), so the lookup must not stop at the latest attempt's window."""
    Channel.objects.filter(pk=mastodon_channel.pk).update(credentials={"access_token": TOKEN, "account_id": ACCOUNT_ID})
    delivery = claimed_delivery(personas, mastodon_channel)
    fake.post(STATUSES_URL, body=READ_TIMEOUT)
    publishing.delivery_publish(delivery_id=delivery.pk)
    age_attempts(delivery, dt.timedelta(minutes=58))
    first = DeliveryAttempt.objects.get(delivery=delivery).started_at
    later = DeliveryAttempt.objects.create(delivery=delivery, number=2, outcome="unknown")
    DeliveryAttempt.objects.filter(pk=later.pk).update(started_at=timezone.now() - dt.timedelta(minutes=3))
    newer = [
        listed_status(
            created_at=timezone.now() - dt.timedelta(minutes=m), status_id=f"1134000000000001{m:02d}", text=f"n{m}"
        )
        for m in range(4, 44)
    ]
    fake.get(
        ACCOUNT_STATUSES_URL,
        json=newer,
        headers={"Link": f'<{ACCOUNT_STATUSES_URL}?limit=40&max_id=113400000000000143>; rel="next"'},
        match=[query_param_matcher({"exclude_reblogs": "1", "limit": "40"})],
    )
    fake.get(
        ACCOUNT_STATUSES_URL,
        json=[listed_status(created_at=first + dt.timedelta(seconds=2))],
        match=[query_param_matcher({"exclude_reblogs": "1", "limit": "40", "max_id": "113400000000000143"})],
    )
    fake.get(f"{STATUSES_URL}/{STATUS_ID}/source", json={"id": STATUS_ID, "text": DEFAULT_TEXT})
    fake.get(
        ACCOUNT_STATUSES_URL,
        json=[],
        match=[query_param_matcher({"exclude_reblogs": "1", "limit": "40", "max_id": STATUS_ID})],
    )

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    assert len(status_posts(fake)) == 1


def test_a_status_listed_without_its_source_endpoint_is_judged_on_its_rendered_text(fake):
    adapter = make_adapter(credentials={"access_token": TOKEN, "account_id": ACCOUNT_ID})
    sent = timezone.now() - dt.timedelta(minutes=5)
    fake.get(ACCOUNT_STATUSES_URL, json=[listed_status(created_at=sent + dt.timedelta(seconds=1))])
    fake.get(f"{STATUSES_URL}/{STATUS_ID}/source", status=404, json=fixture("error_404.json"))

    found = adapter.reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key=str(uuid.uuid4()), sent_at=sent)

    assert found is not None and found.remote_id == STATUS_ID


# --- End to end: dispatcher -> Celery task (eager) -> fake instance -------------------------------------


def test_an_approved_due_post_is_published_once_through_the_dispatcher(fake, personas, mastodon_channel):
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[mastodon_channel], link="https://city.example/parks"
    )
    make_due(post)
    fake.post(STATUSES_URL, json=fixture("status.json"))

    publishing.dispatch_tick(enqueue=enqueue_publish)
    publishing.dispatch_tick(enqueue=enqueue_publish)

    delivery = Delivery.objects.get(post=post)
    (call,) = status_posts(fake)
    assert call.request.headers["Idempotency-Key"] == str(delivery.idempotency_key)
    assert form(call)["status"] == [f"{DEFAULT_TEXT}\n\nhttps://city.example/parks"]
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.permalink == PERMALINK
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED


# --- Delete, metrics, connection -----------------------------------------------------------------------


def test_delete_removes_the_status_and_a_missing_one_counts_as_deleted(fake):
    fake.delete(f"{STATUSES_URL}/{STATUS_ID}", json=fixture("status.json"))
    fake.delete(f"{STATUSES_URL}/999", status=404, json=fixture("error_404.json"))

    make_adapter().delete(STATUS_ID)
    make_adapter().delete("999")

    assert [call.request.method for call in fake.calls] == ["DELETE", "DELETE"]
    assert fake.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_metrics_are_favourites_reblogs_and_replies(fake):
    fake.get(f"{STATUSES_URL}/{STATUS_ID}", json=fixture("status_with_counts.json"))

    assert make_adapter().fetch_metrics(STATUS_ID) == {"likes": 48, "shares": 12, "replies": 3}


def test_check_connection_reads_the_account_and_refreshes_the_instance_limits(fake, mastodon_channel):
    fake.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", json=fixture("credential_account.json"))
    fake.get(INSTANCE_V2_URL, json=fixture("instance_v2.json"))

    adapter = adapter_for_channel(mastodon_channel)
    check = adapter.check_connection()
    channel_save_adapter_changes(channel=mastodon_channel, adapter=adapter)  # what the connection check does

    assert check.ok is True
    assert check.message == "Connected as @parks on 127.0.0.1:8401."
    assert check.expires_at is None  # Mastodon tokens last until revoked
    mastodon_channel.refresh_from_db()
    assert mastodon_channel.options["max_characters"] == 1000


def test_check_connection_reports_a_revoked_token(fake):
    fake.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", status=401, json=fixture("error_401.json"))

    check = make_adapter().check_connection()

    assert check.ok is False
    assert "reconnect" in check.message


# --- Connecting an account -------------------------------------------------------------------------------


def test_register_app_creates_an_oauth_app_on_the_instance(fake, settings):
    settings.SITE_URL = "https://civicpost.city.example"
    fake.post(f"{INSTANCE}/api/v1/apps", json=fixture("app.json"))

    client_id, client_secret = register_app(f"{INSTANCE}/", "https://civicpost.city.example/channels/mastodon/callback")

    assert (client_id, client_secret) == (fixture("app.json")["client_id"], fixture("app.json")["client_secret"])
    (call,) = fake.calls
    assert form(call) == {
        "client_name": ["CivicPost"],
        "scopes": [
            "read:accounts read:statuses read:notifications write:statuses write:media write:blocks write:mutes"
        ],
        "redirect_uris": ["https://civicpost.city.example/channels/mastodon/callback"],
        "website": ["https://civicpost.city.example"],
    }


def test_register_app_refuses_an_internal_address_without_contacting_it(fake):
    with pytest.raises(UnsafeURL):
        register_app("https://192.168.10.4", "https://civicpost.city.example/callback")
    assert len(fake.calls) == 0


def test_register_app_explains_when_the_server_is_not_mastodon(fake):
    fake.post(f"{INSTANCE}/api/v1/apps", status=404, body="<html>Not found</html>")

    with pytest.raises(ConnectFailed, match="Is it a Mastodon server"):
        register_app(INSTANCE, "https://civicpost.city.example/callback")


def test_authorization_url_and_code_exchange_give_the_channel_credentials(fake):
    app = fixture("app.json")
    fake.get(f"{INSTANCE}/.well-known/oauth-authorization-server", json=fixture("oauth_authorization_server.json"))
    fake.post(f"{INSTANCE}/oauth/token", json=fixture("token.json"))
    fake.get(f"{INSTANCE}/api/v1/accounts/verify_credentials", json=fixture("credential_account.json"))
    redirect = "https://civicpost.city.example/channels/mastodon/callback"

    url = authorization_url(INSTANCE, app["client_id"], app["client_secret"], redirect, "state-123")
    credentials = exchange_code(INSTANCE, app["client_id"], app["client_secret"], "the-code", redirect)

    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{INSTANCE}/oauth/authorize?")
    assert query["client_id"] == [app["client_id"]]
    assert query["redirect_uri"] == [redirect]
    assert query["scope"] == [
        "read:accounts read:statuses read:notifications write:statuses write:media write:blocks write:mutes"
    ]
    assert query["state"] == ["state-123"]
    token_call = next(call for call in fake.calls if call.request.url == f"{INSTANCE}/oauth/token")
    token_form = form(token_call)
    # Mastodon.py 2.3.3 also posts its local `oauth_info` (the server metadata keys) as a form field; the
    # instance ignores unknown fields.
    token_form.pop("oauth_info", None)
    assert token_form == {
        "code": ["the-code"],
        "redirect_uri": [redirect],
        "grant_type": ["authorization_code"],
        "client_id": [app["client_id"]],
        "client_secret": [app["client_secret"]],
        "scope": ["read:accounts read:statuses read:notifications write:statuses write:media write:blocks write:mutes"],
    }
    assert credentials == {
        "access_token": fixture("token.json")["access_token"],
        "account_id": "109000000000000042",
        "acct": "parks",
        "scopes": [
            "read:accounts",
            "read:statuses",
            "read:notifications",
            "write:statuses",
            "write:media",
            "write:blocks",
            "write:mutes",
        ],
    }


def test_a_refused_code_is_a_plain_connection_failure(fake):
    app = fixture("app.json")
    fake.get(f"{INSTANCE}/.well-known/oauth-authorization-server", status=404, json={"error": "Not found"})
    fake.post(f"{INSTANCE}/oauth/token", status=400, json={"error": "invalid_grant"})

    with pytest.raises(ConnectFailed):
        exchange_code(INSTANCE, app["client_id"], app["client_secret"], "stale", "https://civicpost.city.example/cb")


def test_a_rate_limit_reset_already_past_falls_back_to_the_window(fake):
    fake.post(
        STATUSES_URL,
        status=429,
        json=fixture("error_429.json"),
        headers={"X-RateLimit-Reset": (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)).isoformat()},
    )

    with pytest.raises(RateLimited) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert caught.value.retry_after == 300


# --- Publishing without Mastodon.py's typing (issue 18): the status's POST is the adapter's own -------------


def test_the_published_status_is_kept_as_the_instance_sent_it(fake):
    fake.post(STATUSES_URL, json=fixture("status.json"))

    result = make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert result.raw == fixture("status.json")


def test_a_reply_to_a_status_the_instance_does_not_know_is_a_permanent_rejection(fake):
    fake.post(STATUSES_URL, status=404, json={"error": "Record not found"})
    content = PostContent(text="hello", reply_to=ReplyTarget(remote_id="999"))

    with pytest.raises(PublishError) as caught:
        make_adapter().publish(content, idempotency_key="k")

    assert caught.value.permanent is True
    assert (caught.value.message, caught.value.code) == ("Mastodon rejected the post: Record not found", "404")
    assert form(status_posts(fake)[0])["in_reply_to_id"] == ["999"]


def test_a_429_with_the_reset_in_epoch_seconds_waits_until_then(fake):
    reset = int(dt.datetime.now(dt.UTC).timestamp()) + 90
    fake.post(STATUSES_URL, status=429, json=fixture("error_429.json"), headers={"X-RateLimit-Reset": str(reset)})

    with pytest.raises(RateLimited) as caught:
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")

    assert 80 <= caught.value.retry_after <= 91


@pytest.mark.parametrize("body", ["<html>Bad gateway page</html>", "[]", '{"error": null}'])
def test_a_success_without_a_status_is_an_unknown_outcome(fake, body):
    fake.post(STATUSES_URL, status=200, body=body)

    with pytest.raises(OutcomeUnknown):
        make_adapter().publish(PostContent(text="hello"), idempotency_key="k")
