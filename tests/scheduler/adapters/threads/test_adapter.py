"""The Threads adapter against `responses` on graph.threads.net with documented bodies: emoji counted
as UTF-8 bytes, the container -> publish flow, errors to delivery states, reconciliation, the 60-day
token refresh, the connection flow, and one approved post through the dispatcher."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.threads.adapter import (
    THREADS_TEXT_LIMIT,
    ThreadsAdapter,
    authorization_url,
    exchange_code,
    exchange_long_lived_token,
    profile,
    threads_channel_fields,
    threads_text_length,
)
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import calls_to, fixture, form, query

pytestmark = pytest.mark.django_db

# Fixtures shared by the Meta adapter tests.
fake = meta_helpers.fake
no_sleep = meta_helpers.no_sleep

USER_ID = "26123456789012345"
TOKEN = "THQVJLongLivedToken"
THREADS = "https://graph.threads.net/v1.0"
CONTAINER = "17912345678901234"
MEDIA_ID = "18098765432109876"
PERMALINK = "https://www.threads.net/@cityparks/post/DAbCdEfGhIj"
EXPIRES = "2027-01-20T00:00:00+00:00"


def th(name: str) -> dict:
    return fixture("threads", name)


def account(credentials: dict | None = None) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1,
        display_name="@cityparks",
        credentials=credentials or {"access_token": TOKEN, "expires_at": EXPIRES},
        options={"threads_user_id": USER_ID, "username": "cityparks"},
    )


def adapter(credentials: dict | None = None) -> ThreadsAdapter:
    return ThreadsAdapter(account(credentials))


def register_flow(fake, *, statuses: tuple[str, ...] = ("container_finished",)) -> None:
    fake.post(f"{THREADS}/{USER_ID}/threads", json=th("container_created"))
    for status in statuses:
        fake.get(f"{THREADS}/{CONTAINER}", json=th(status))
    fake.post(f"{THREADS}/{USER_ID}/threads_publish", json=th("published"))
    fake.get(f"{THREADS}/{MEDIA_ID}", json=th("permalink"))


@pytest.fixture
def threads_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="threads",
        display_name="Parks on Threads",
        credentials={"access_token": TOKEN, "expires_at": EXPIRES},
        options={"threads_user_id": USER_ID, "username": "cityparks"},
    )


# --- Length: emoji count as UTF-8 bytes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pools open", 10),
        ("Café 漢字", 7),  # other non-ASCII letters count one each
        ("👍", 4),
        ("Pools 👍", 10),
        ("❤️", 6),  # U+2764 (3 bytes) + variation selector-16 (3 bytes)
        ("👍🏽", 8),  # thumbs up + skin tone
        ("👩‍👩‍👧", 18),  # a family joined with zero-width joiners
        ("🇺🇸", 8),  # a flag is two regional indicators
        ("1️⃣", 7),  # keycap sequence
        ("☀", 3),
    ],
)
def test_emoji_count_as_their_utf8_bytes(text, expected):
    assert threads_text_length(text) == expected


def test_the_limit_is_500_with_emoji_counted_as_bytes():
    fits = PostContent(text="👍" * 125)  # 125 characters, 500 bytes
    too_long = PostContent(text="👍" * 126)  # 126 characters, but 504 by Threads' count

    assert adapter().text_length(fits).used == THREADS_TEXT_LIMIT
    assert adapter().validate(fits) == []
    length = adapter().text_length(too_long)
    assert (length.used, length.limit, length.over_by) == (504, 500, 4)
    assert any("500 characters" in problem.message for problem in adapter().validate(too_long))


def test_the_link_counts_towards_the_length():
    content = PostContent(text="Pools", link="https://city.example/p")

    assert adapter().text_length(content).used == len("Pools\n\nhttps://city.example/p")


def test_media_needs_https_supported_types_and_alt_text():
    content = PostContent(
        text="Pools",
        media=(
            MediaItem(url="http://city.example/a.jpg", mime_type="image/jpeg", alt_text="A"),
            MediaItem(url="https://city.example/b.pdf", mime_type="application/pdf", alt_text="B"),
            MediaItem(url="https://city.example/c.jpg", mime_type="image/jpeg"),
        ),
    )

    messages = " ".join(problem.message for problem in adapter().validate(content))

    assert "https://" in messages and "Threads takes images and MP4 or MOV videos." in messages
    assert "alt text" in messages
    # A GIF or WebP image gets a JPEG copy at publish time, so it is not a problem.
    gif = MediaItem(url="https://city.example/b.gif", mime_type="image/gif", alt_text="B")
    assert adapter().validate(PostContent(text="Pools", media=(gif,))) == []


def test_the_registry_builds_the_threads_adapter(threads_channel):
    assert isinstance(adapter_for_channel(threads_channel), ThreadsAdapter)


# --- Publishing ----------------------------------------------------------------------------------------------


def test_a_text_post_creates_a_text_container_and_publishes_it(fake, no_sleep):
    register_flow(fake)

    result = adapter().publish(PostContent(text="Pools open 👍", link="https://city.example/p"), idempotency_key="k")

    create = calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads")[0]
    assert form(create) == {"media_type": "TEXT", "text": "Pools open 👍\n\nhttps://city.example/p"}
    assert create.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in create.request.url and TOKEN not in create.request.body
    assert query(calls_to(fake, "GET", f"/v1.0/{CONTAINER}")[0]) == {"fields": "status,error_message"}
    assert [form(call) for call in calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads_publish")] == [
        {"creation_id": CONTAINER}
    ]
    assert (result.remote_id, result.permalink) == (MEDIA_ID, PERMALINK)
    assert no_sleep == []


def test_an_image_post_sends_the_public_url_and_alt_text(fake, no_sleep):
    register_flow(fake, statuses=("container_in_progress", "container_finished"))
    photo = MediaItem(url="https://city.example/x.jpg", mime_type="image/jpeg", alt_text="A splash pad")

    adapter().publish(PostContent(text="Splash!", media=(photo,)), idempotency_key="k")

    assert form(fake.calls[0]) == {
        "media_type": "IMAGE",
        "image_url": "https://city.example/x.jpg",
        "alt_text": "A splash pad",
        "text": "Splash!",
    }
    assert no_sleep == [1.0]


def test_several_images_become_a_carousel(fake, no_sleep):
    fake.post(f"{THREADS}/{USER_ID}/threads", json=th("child_container_1"))
    fake.post(f"{THREADS}/{USER_ID}/threads", json=th("child_container_2"))
    register_flow(fake)
    media = (
        MediaItem(url="https://city.example/a.jpg", mime_type="image/jpeg", alt_text="A"),
        MediaItem(url="https://city.example/b.mp4", mime_type="video/mp4", alt_text="B"),
    )

    adapter().publish(PostContent(text="Two", media=media), idempotency_key="k")

    assert [form(call) for call in calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads")] == [
        {"media_type": "IMAGE", "image_url": media[0].url, "alt_text": "A", "is_carousel_item": "true"},
        {"media_type": "VIDEO", "video_url": media[1].url, "alt_text": "B", "is_carousel_item": "true"},
        {"media_type": "CAROUSEL", "children": "17912345678901301,17912345678901302", "text": "Two"},
    ]


def test_a_container_in_error_fails_permanently_with_the_reason(fake, no_sleep):
    register_flow(fake, statuses=("container_error",))

    with pytest.raises(PublishError) as raised:
        adapter().publish(PostContent(text="Video"), idempotency_key="k")

    assert raised.value.permanent is True
    assert "FAILED_DOWNLOADING_VIDEO" in raised.value.message
    assert calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads_publish") == []


def test_a_container_not_ready_within_the_budget_is_retried_without_publishing(fake, no_sleep):
    register_flow(fake, statuses=("container_in_progress",))

    with pytest.raises(PublishError) as raised:
        adapter().publish(PostContent(text="Video"), idempotency_key="k")

    assert raised.value.permanent is False
    assert calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads_publish") == []


def test_a_publish_without_an_id_is_an_unknown_outcome(fake, no_sleep):
    fake.post(f"{THREADS}/{USER_ID}/threads", json=th("container_created"))
    fake.get(f"{THREADS}/{CONTAINER}", json=th("container_finished"))
    fake.post(f"{THREADS}/{USER_ID}/threads_publish", json=th("publish_without_id"))

    with pytest.raises(OutcomeUnknown):
        adapter().publish(PostContent(text="Hi"), idempotency_key="k")


@pytest.mark.parametrize(
    ("step", "response", "expected_status"),
    [
        ("threads", ("error_190_463_expired", 400), DeliveryStatus.SCHEDULED),
        ("threads", ("error_4_app_limit", 400), DeliveryStatus.RETRY_WAIT),
        ("threads", ("error_100_too_long", 400), DeliveryStatus.FAILED),
        ("threads_publish", ("error_4_app_limit", 400), DeliveryStatus.RETRY_WAIT),
        ("threads_publish", (requests.exceptions.ReadTimeout(), None), DeliveryStatus.UNKNOWN),
        ("threads_publish", (requests.exceptions.ConnectTimeout(), None), DeliveryStatus.RETRY_WAIT),
    ],
    ids=["expired-token", "rate-limit", "too-long", "publish-rate-limit", "publish-timeout", "publish-refused"],
)
def test_each_error_leads_to_the_right_delivery_state(
    fake, no_sleep, personas, threads_channel, step, response, expected_status
):
    body, status = response
    kwargs = {"body": body} if status is None else {"json": th(body), "status": status}
    if step == "threads":
        fake.post(f"{THREADS}/{USER_ID}/threads", **kwargs)
    else:
        fake.post(f"{THREADS}/{USER_ID}/threads", json=th("container_created"))
        fake.get(f"{THREADS}/{CONTAINER}", json=th("container_finished"))
        fake.post(f"{THREADS}/{USER_ID}/threads_publish", **kwargs)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[threads_channel])
    make_due(post)

    tick()

    assert Delivery.objects.get(post=post).status == expected_status
    threads_channel.refresh_from_db()
    expected_channel = ChannelStatus.NEEDS_RECONNECT if status and "190" in body else ChannelStatus.CONNECTED
    assert threads_channel.status == expected_channel


# --- Reconciliation --------------------------------------------------------------------------------------


def test_reconcile_matches_the_text_among_recent_threads(fake):
    fake.get(f"{THREADS}/{USER_ID}/threads", json=th("threads_recent"))

    found = adapter().reconcile(
        PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    )

    assert (found.remote_id, found.permalink) == (MEDIA_ID, PERMALINK)
    params = query(fake.calls[0])
    assert params == {
        "fields": "id,text,timestamp,permalink",
        "since": str(int(dt.datetime(2026, 11, 29, 9, 58, tzinfo=dt.UTC).timestamp())),
        "until": params["until"],
        "limit": "100",
    }


def test_reconcile_waits_for_the_settle_time_before_proving_absence(fake):
    fake.get(f"{THREADS}/{USER_ID}/threads", json=th("threads_recent"))
    sent_at = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)
    content = PostContent(text="Something else")

    with time_machine.travel(sent_at + dt.timedelta(seconds=10), tick=False), pytest.raises(CheckAgainLater) as raised:
        adapter().reconcile(content, idempotency_key="k", sent_at=sent_at)
    assert raised.value.retry_after == 110
    with time_machine.travel(sent_at + dt.timedelta(minutes=10), tick=False):
        assert adapter().reconcile(content, idempotency_key="k", sent_at=sent_at) is None


SENT_AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
TEXT_SENT = DEFAULT_TEXT
LISTING = f"{THREADS}/{USER_ID}/threads"


def listing_item(number: int, *, text: str, created: dt.datetime) -> dict:
    return {
        "id": f"1809{number:014d}",
        "text": text,
        "timestamp": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": f"https://example.test/p/{number}",
    }


def listing_page(items: list[dict], *, after: str | None) -> dict:
    paging: dict = {"cursors": {"before": "QVFIUmJ", "after": after or "QVFIUmF"}}
    if after:
        paging["next"] = f"{LISTING}?access_token={TOKEN}&limit=100&after={after}"
    return {"data": items, "paging": paging}


def after_matcher(cursor: str):
    return responses.matchers.query_param_matcher({"after": cursor}, strict_match=False)


def newer_items(count: int) -> list[dict]:
    return [
        listing_item(500 - n, text=f"Update {n}", created=SENT_AT + dt.timedelta(seconds=90 - n)) for n in range(count)
    ]


def test_reconcile_sends_the_window_and_follows_paging_next_past_thirty_newer_posts(fake):
    newer = newer_items(30)
    ours = listing_item(1, text=TEXT_SENT, created=SENT_AT + dt.timedelta(seconds=3))
    fake.get(LISTING, match=[after_matcher("p2")], json=listing_page(newer[25:] + [ours], after=None))
    fake.get(LISTING, json=listing_page(newer[:25], after="p2"))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        found = adapter().reconcile(PostContent(text=TEXT_SENT), idempotency_key="k", sent_at=SENT_AT)

    assert found is not None
    assert found.remote_id == ours["id"]
    first, second = fake.calls
    assert query(first) == {
        "fields": "id,text,timestamp,permalink",
        "since": str(int((SENT_AT - dt.timedelta(minutes=2)).timestamp())),
        "until": str(int((SENT_AT + dt.timedelta(minutes=10)).timestamp())),
        "limit": "100",
    }
    # Meta's next-page address, its token left out of the URL (it travels in the header).
    assert query(second) == {"limit": "100", "after": "p2"}
    assert second.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_reconcile_proves_absence_only_after_every_page_of_the_window(fake):
    newer = newer_items(30)
    fake.get(LISTING, match=[after_matcher("p2")], json=listing_page(newer[25:], after=None))
    fake.get(LISTING, json=listing_page(newer[:25], after="p2"))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        assert adapter().reconcile(PostContent(text=TEXT_SENT), idempotency_key="k", sent_at=SENT_AT) is None
    assert len(fake.calls) == 2


def test_reconcile_stops_reading_once_a_page_reaches_posts_older_than_the_window(fake):
    old = listing_item(2, text="Last week", created=SENT_AT - dt.timedelta(days=7))
    fake.get(LISTING, json=listing_page(newer_items(3) + [old], after="p2"))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        assert adapter().reconcile(PostContent(text=TEXT_SENT), idempotency_key="k", sent_at=SENT_AT) is None
    assert len(fake.calls) == 1


def test_a_window_with_more_pages_than_the_cap_needs_a_person_not_a_resend(fake, monkeypatch):
    from scheduler.adapters import graph as graph_module

    monkeypatch.setattr(graph_module, "RECONCILE_MAX_PAGES", 3)
    newer = newer_items(6)
    fake.get(LISTING, match=[after_matcher("p2")], json=listing_page(newer[2:4], after="p3"))
    fake.get(LISTING, match=[after_matcher("p3")], json=listing_page(newer[4:], after="p4"))
    fake.get(LISTING, json=listing_page(newer[:2], after="p2"))

    with (
        time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False),
        pytest.raises(OutcomeUnknown, match="check the account before posting again") as raised,
    ):
        adapter().reconcile(PostContent(text=TEXT_SENT), idempotency_key="k", sent_at=SENT_AT)

    assert not isinstance(raised.value, CheckAgainLater)
    assert len(fake.calls) == 3


# --- Delete, metrics, connection --------------------------------------------------------------------------


def test_delete_removes_the_thread(fake):
    fake.delete(f"{THREADS}/{MEDIA_ID}", json=th("delete_success"))

    adapter().delete(MEDIA_ID)

    assert fake.calls[0].request.method == "DELETE"


def test_metrics_read_the_insights(fake):
    fake.get(f"{THREADS}/{MEDIA_ID}/insights", json=th("insights"))

    assert adapter().fetch_metrics(MEDIA_ID) == {
        "views": 1520,
        "likes": 87,
        "replies": 12,
        "reposts": 5,
        "quotes": 2,
        "shares": 4,
    }
    assert query(fake.calls[0]) == {"metric": "views,likes,replies,reposts,quotes,shares"}


def test_check_connection_shows_the_days_left(fake):
    fake.get(f"{THREADS}/me", json=th("me"))

    with time_machine.travel(dt.datetime(2026, 12, 1, tzinfo=dt.UTC), tick=False):
        check = adapter().check_connection()

    assert check.ok is True
    assert check.expires_at == dt.datetime(2027, 1, 20, tzinfo=dt.UTC)
    assert check.message == "Connected; the token expires in 50 days."


def test_an_expired_token_needs_reconnecting_without_asking_threads(fake):
    check = adapter({"access_token": TOKEN, "expires_at": "2026-01-01T00:00:00+00:00"}).check_connection()

    assert check.ok is False
    assert "reconnect" in check.message
    assert len(fake.calls) == 0


# --- The 60-day token refresh ------------------------------------------------------------------------------


def test_refresh_credentials_returns_a_new_token_and_its_expiry(fake):
    fake.get("https://graph.threads.net/refresh_access_token", json=th("refreshed_token"))

    with time_machine.travel(dt.datetime(2026, 12, 1, tzinfo=dt.UTC), tick=False):
        credentials = adapter().refresh_credentials()

    assert query(fake.calls[0]) == {"grant_type": "th_refresh_token", "access_token": TOKEN}
    assert credentials == {
        "access_token": "THQVJRefreshedToken",
        "expires_at": (dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=5183944)).isoformat(),
    }


def test_a_refused_refresh_means_reconnect(fake):
    fake.get("https://graph.threads.net/refresh_access_token", json=th("error_190_463_expired"), status=400)

    with pytest.raises(AuthExpired):
        adapter().refresh_credentials()


# --- Connecting ----------------------------------------------------------------------------------------------


def test_the_authorization_window_url(settings):
    settings.CIVICPOST_THREADS_APP_ID = "990602627938098"

    url = authorization_url(redirect_uri="https://civicpost.city.example/connect/threads/done", state="st-9")

    parts = urlsplit(url)
    assert (parts.netloc, parts.path) == ("threads.com", "/oauth/authorize")
    assert {key: values[0] for key, values in parse_qs(parts.query).items()} == {
        "client_id": "990602627938098",
        "redirect_uri": "https://civicpost.city.example/connect/threads/done",
        "scope": "threads_basic,threads_content_publish,threads_manage_insights,threads_delete,"
        "threads_read_replies,threads_manage_replies",
        "response_type": "code",
        "state": "st-9",
    }


def test_the_code_is_exchanged_then_made_long_lived(fake, settings):
    settings.CIVICPOST_THREADS_APP_ID = "990602627938098"
    settings.CIVICPOST_THREADS_APP_SECRET = "threads-app-secret"
    fake.post("https://graph.threads.net/oauth/access_token", json=th("short_lived_token"))
    fake.get("https://graph.threads.net/access_token", json=th("long_lived_token"))
    fake.get(f"{THREADS}/me", json=th("me"))

    short = exchange_code(code="AQBcode", redirect_uri="https://civicpost.city.example/done")
    long = exchange_long_lived_token(short_lived_token=short.access_token)
    me = profile(access_token=long.access_token)
    fields = threads_channel_fields(token=long, account=me)

    assert form(fake.calls[0]) == {
        "client_id": "990602627938098",
        "client_secret": "threads-app-secret",
        "grant_type": "authorization_code",
        "redirect_uri": "https://civicpost.city.example/done",
        "code": "AQBcode",
    }
    assert short.user_id == USER_ID
    assert query(fake.calls[1]) == {
        "grant_type": "th_exchange_token",
        "client_secret": "threads-app-secret",
        "access_token": "THQVJShortLivedToken",
    }
    assert fake.calls[2].request.headers["Authorization"] == "Bearer THQVJLongLivedToken"
    assert fields["credentials"]["access_token"] == "THQVJLongLivedToken"
    assert fields["options"] == {"threads_user_id": USER_ID, "username": "cityparks"}
    assert fields["token_expires_at"] - timezone.now() > dt.timedelta(days=59)


# --- End to end --------------------------------------------------------------------------------------------


def test_an_approved_due_post_is_published_once_through_the_dispatcher(fake, no_sleep, personas, threads_channel):
    register_flow(fake)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[threads_channel])
    make_due(post)

    tick(times=2)

    assert len(calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads_publish")) == 1
    assert form(calls_to(fake, "POST", f"/v1.0/{USER_ID}/threads")[0]) == {"media_type": "TEXT", "text": DEFAULT_TEXT}
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id, delivery.permalink) == (DeliveryStatus.PUBLISHED, MEDIA_ID, PERMALINK)
