"""The Facebook Page adapter against `responses` on graph.facebook.com with documented response bodies:
the exact requests, every documented error to its delivery state, reconciliation, the connection flow,
and one approved post through the dispatcher."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from scheduler import publishing
from scheduler.adapters.base import (
    ChannelAccount,
    Duplicate,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
)
from scheduler.adapters.facebook.adapter import (
    FACEBOOK_TEXT_LIMIT,
    FacebookPageAdapter,
    authorization_url,
    debug_token,
    exchange_code,
    exchange_long_lived_user_token,
    list_pages,
    token_expiry,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import calls_to, fixture, form, query, set_attempt_started

pytestmark = pytest.mark.django_db

# Fixtures shared by the Meta adapter tests.
fake = meta_helpers.fake

PAGE_ID = "104412345678901"
POST_ID = f"{PAGE_ID}_122100000000000001"
TOKEN = "EAAGPageTokenForParks"
GRAPH = "https://graph.facebook.com/v27.0"
FEED = f"{GRAPH}/{PAGE_ID}/feed"
PERMALINK = f"https://www.facebook.com/{PAGE_ID}/posts/122100000000000001"


def account(**options) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1,
        display_name="City Parks and Recreation",
        credentials={"page_access_token": TOKEN},
        options={"page_id": PAGE_ID, "page_name": "City Parks and Recreation", **options},
    )


def adapter() -> FacebookPageAdapter:
    return FacebookPageAdapter(account())


def fb(name: str) -> dict:
    return fixture("facebook", name)


@pytest.fixture
def facebook_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="facebook",
        display_name="Parks on Facebook",
        credentials={"page_access_token": TOKEN},
        options={"page_id": PAGE_ID, "page_name": "City Parks and Recreation"},
    )


def publish_ok(fake) -> None:
    fake.post(FEED, json=fb("feed_created"))
    fake.get(f"{GRAPH}/{POST_ID}", json=fb("post_permalink"))


# --- Length and validation -------------------------------------------------------------------------------


def test_the_registry_builds_the_facebook_adapter(facebook_channel):
    assert isinstance(adapter_for_channel(facebook_channel), FacebookPageAdapter)
    assert facebook_channel.platform_label == "Facebook Page"


def test_text_length_counts_the_message_and_not_the_link_card():
    content = PostContent(text="Pools open", link="https://city.example/pools")

    length = adapter().text_length(content)

    assert (length.used, length.limit) == (len("Pools open"), FACEBOOK_TEXT_LIMIT)


def test_with_photos_the_link_goes_into_the_text_and_counts():
    content = PostContent(
        text="Pools open",
        link="https://city.example/pools",
        media=(MediaItem(url="https://city.example/p.jpg", mime_type="image/jpeg", alt_text="Pool"),),
    )

    assert adapter().text_length(content).used == len("Pools open\n\nhttps://city.example/pools")


def test_validate_accepts_a_plain_text_post():
    assert adapter().validate(PostContent(text=DEFAULT_TEXT)) == []


def test_validate_names_each_problem():
    content = PostContent(
        text="x" * (FACEBOOK_TEXT_LIMIT + 1),
        media=(
            MediaItem(url="http://city.example/a.jpg", mime_type="image/jpeg", alt_text="A"),
            MediaItem(url="https://city.example/b.mp4", mime_type="video/mp4", alt_text="B"),
            MediaItem(url="https://city.example/c.png", mime_type="image/png"),
        ),
    )

    messages = [problem.message for problem in adapter().validate(content)]

    assert any("63206 characters" in message for message in messages)
    assert any("https://" in message for message in messages)
    assert any("one video on its own" in message for message in messages)
    assert any("alt text" in message for message in messages)


def test_validate_refuses_an_empty_post():
    assert adapter().validate(PostContent(text="  ")) != []


# --- Publishing: the exact requests ----------------------------------------------------------------------


def test_a_text_and_link_post_goes_to_the_page_feed(fake):
    publish_ok(fake)

    result = adapter().publish(
        PostContent(text=DEFAULT_TEXT, link="https://city.example/splash"), idempotency_key="k-1"
    )

    feed_call = calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/feed")[0]
    assert form(feed_call) == {"message": DEFAULT_TEXT, "link": "https://city.example/splash"}
    assert feed_call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in feed_call.request.url
    permalink_call = calls_to(fake, "GET", f"/v27.0/{POST_ID}")[0]
    assert query(permalink_call) == {"fields": "permalink_url"}
    assert result.remote_id == POST_ID
    assert result.permalink == PERMALINK
    assert result.raw == {"id": POST_ID}


def test_a_post_without_link_sends_only_the_message(fake):
    publish_ok(fake)

    adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k-1")

    assert form(fake.calls[0]) == {"message": DEFAULT_TEXT}


def test_photos_are_uploaded_unpublished_then_attached_to_one_feed_post(fake):
    fake.post(f"{GRAPH}/{PAGE_ID}/photos", json=fb("photo_uploaded"))
    fake.post(f"{GRAPH}/{PAGE_ID}/photos", json=fb("photo_uploaded_2"))
    publish_ok(fake)
    content = PostContent(
        text="New playground at Riverside Park",
        link="https://city.example/riverside",
        media=(
            MediaItem(url="https://city.example/media/slide.jpg", mime_type="image/jpeg", alt_text="A red slide"),
            MediaItem(url="https://city.example/media/swings.jpg", mime_type="image/jpeg", alt_text="Two swings"),
        ),
    )

    result = adapter().publish(content, idempotency_key="k-1")

    photo_calls = calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/photos")
    assert [form(call) for call in photo_calls] == [
        {"url": "https://city.example/media/slide.jpg", "published": "false", "alt_text_custom": "A red slide"},
        {"url": "https://city.example/media/swings.jpg", "published": "false", "alt_text_custom": "Two swings"},
    ]
    feed = form(calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/feed")[0])
    assert feed == {
        "message": "New playground at Riverside Park\n\nhttps://city.example/riverside",
        "attached_media[0]": '{"media_fbid": "122100000000000101"}',
        "attached_media[1]": '{"media_fbid": "122100000000000102"}',
    }
    assert json.loads(feed["attached_media[1]"]) == {"media_fbid": "122100000000000102"}
    assert result.remote_id == POST_ID


def test_a_failed_permalink_lookup_still_reports_the_published_post(fake):
    fake.post(FEED, json=fb("feed_created"))
    fake.get(f"{GRAPH}/{POST_ID}", json=fb("error_2_service"), status=500)

    result = adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k-1")

    assert result.remote_id == POST_ID
    assert result.permalink == f"https://www.facebook.com/{POST_ID}"


def test_an_answer_without_an_id_is_an_unknown_outcome(fake):
    fake.post(FEED, json={})

    with pytest.raises(OutcomeUnknown):
        adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k-1")


def test_a_duplicate_finds_the_earlier_post_when_the_page_shows_it(fake):
    fake.post(FEED, json=fb("error_506_duplicate"), status=400)
    recent = fb("feed_recent")
    recent["data"][1]["created_time"] = (timezone.now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    fake.get(FEED, json=recent)

    with pytest.raises(Duplicate) as raised:
        adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k-1")

    assert raised.value.existing.remote_id == POST_ID
    assert raised.value.existing.permalink == PERMALINK


def test_a_duplicate_that_cannot_be_found_has_no_existing_post(fake):
    fake.post(FEED, json=fb("error_506_duplicate"), status=400)
    fake.get(FEED, json=fb("feed_empty"))

    with pytest.raises(Duplicate) as raised:
        adapter().publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k-1")

    assert raised.value.existing is None


def test_a_failed_photo_upload_is_safe_to_retry(fake):
    fake.post(f"{GRAPH}/{PAGE_ID}/photos", body=requests.exceptions.ReadTimeout())
    content = PostContent(
        text="Playground",
        media=(MediaItem(url="https://city.example/slide.jpg", mime_type="image/jpeg", alt_text="Slide"),),
    )

    with pytest.raises(PublishError) as raised:
        adapter().publish(content, idempotency_key="k-1")

    assert raised.value.permanent is False
    assert calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/feed") == []


# --- Each documented error leads to the right delivery state ---------------------------------------------


@pytest.mark.parametrize(
    ("fixture_name", "http_status", "expected_status"),
    [
        ("error_190_463_expired", 400, DeliveryStatus.SCHEDULED),
        ("error_190_460_password_changed", 400, DeliveryStatus.SCHEDULED),
        ("error_200_permission", 403, DeliveryStatus.SCHEDULED),
        ("error_4_app_limit", 400, DeliveryStatus.RETRY_WAIT),
        ("error_17_user_limit", 400, DeliveryStatus.RETRY_WAIT),
        ("error_32_page_limit", 400, DeliveryStatus.RETRY_WAIT),
        ("error_613_hourly", 400, DeliveryStatus.RETRY_WAIT),
        ("error_80001_buc", 400, DeliveryStatus.RETRY_WAIT),
        ("error_506_duplicate", 400, DeliveryStatus.NEEDS_ATTENTION),
        ("error_368_blocked", 400, DeliveryStatus.FAILED),
        ("error_100_invalid_link", 400, DeliveryStatus.FAILED),
        ("error_1_unknown", 500, DeliveryStatus.UNKNOWN),
        ("error_2_service", 503, DeliveryStatus.UNKNOWN),
    ],
)
def test_each_documented_error_leads_to_the_right_delivery_state(
    fake, personas, facebook_channel, fixture_name, http_status, expected_status
):
    fake.post(FEED, json=fb(fixture_name), status=http_status)
    fake.get(FEED, json=fb("feed_empty"))  # the duplicate lookup finds nothing
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)

    tick()

    delivery = Delivery.objects.get(post=post)
    assert delivery.status == expected_status
    assert len(calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/feed")) == 1
    facebook_channel.refresh_from_db()
    if fixture_name.startswith(("error_190", "error_200")):
        assert facebook_channel.status == ChannelStatus.NEEDS_RECONNECT
        assert "reconnect" in facebook_channel.status_message
    else:
        assert facebook_channel.status == ChannelStatus.CONNECTED
    if expected_status == DeliveryStatus.FAILED:
        assert fb(fixture_name)["error"]["error_user_msg"] in delivery.failure_message


def test_a_rate_limit_waits_for_the_time_meta_names(fake, personas, facebook_channel):
    fake.post(
        FEED,
        json=fb("error_32_page_limit"),
        status=400,
        headers={
            "X-Business-Use-Case-Usage": json.dumps(
                {
                    PAGE_ID: [
                        {
                            "type": "pages",
                            "call_count": 100,
                            "total_cputime": 20,
                            "total_time": 25,
                            "estimated_time_to_regain_access": 7,
                        }
                    ]
                }
            )
        },
    )
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)

    tick()

    delivery = Delivery.objects.get(post=post)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert delivery.status == DeliveryStatus.RETRY_WAIT
    assert 7 * 60 - 30 < wait <= 7 * 60


def test_a_duplicate_found_on_the_page_is_recorded_as_published(fake, personas, facebook_channel):
    fake.post(FEED, json=fb("error_506_duplicate"), status=400)
    recent = fb("feed_recent")
    recent["data"][1]["created_time"] = timezone.now().strftime("%Y-%m-%dT%H:%M:%S+0000")
    fake.get(FEED, json=recent)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)

    tick()

    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id, delivery.permalink) == (DeliveryStatus.PUBLISHED, POST_ID, PERMALINK)


def test_a_timeout_while_publishing_is_unknown_and_never_resent_blindly(fake, personas, facebook_channel):
    fake.post(FEED, body=requests.exceptions.ReadTimeout())
    fake.get(FEED, json=fb("feed_empty"))
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)

    tick()
    tick()

    # Too early to prove the post absent: it stays unknown and is looked up again later, never resent.
    assert Delivery.objects.get(post=post).status == DeliveryStatus.UNKNOWN
    assert len(calls_to(fake, "POST", f"/v27.0/{PAGE_ID}/feed")) == 1


def test_a_connection_refused_is_retried_later(fake, personas, facebook_channel):
    fake.post(FEED, body=requests.exceptions.ConnectTimeout())
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)

    tick()

    assert Delivery.objects.get(post=post).status == DeliveryStatus.RETRY_WAIT


# --- Reconciliation --------------------------------------------------------------------------------------


def _unknown_delivery(fake, personas, facebook_channel, *, sent_ago: dt.timedelta) -> Delivery:
    fake.post(FEED, body=requests.exceptions.ReadTimeout())
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[facebook_channel])
    make_due(post)
    publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN
    set_attempt_started(delivery, ago=sent_ago)
    return delivery


def test_reconcile_finds_the_post_in_the_page_feed(fake, personas, facebook_channel):
    delivery = _unknown_delivery(fake, personas, facebook_channel, sent_ago=dt.timedelta(seconds=30))
    recent = fb("feed_recent")
    recent["data"][1]["created_time"] = (timezone.now() - dt.timedelta(seconds=25)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    fake.get(FEED, json=recent)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    assert (delivery.remote_id, delivery.permalink) == (POST_ID, PERMALINK)
    feed_read = calls_to(fake, "GET", f"/v27.0/{PAGE_ID}/feed")[0]
    sent_at = delivery.attempt_log.get().started_at
    params = query(feed_read)
    assert params == {
        "fields": "id,message,created_time,permalink_url",
        "since": str(int((sent_at - dt.timedelta(minutes=2)).timestamp())),
        "until": params["until"],
        "limit": "100",
    }
    # The window ends now: 10 minutes after the send have not passed yet.
    assert abs(int(params["until"]) - timezone.now().timestamp()) < 5


def test_reconcile_proves_absence_after_the_settle_time_and_sends_again(fake, personas, facebook_channel):
    delivery = _unknown_delivery(fake, personas, facebook_channel, sent_ago=dt.timedelta(minutes=5))
    fake.get(FEED, json=fb("feed_empty"))

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED


def test_reconcile_looks_again_after_the_settle_time_instead_of_guessing(fake, personas, facebook_channel):
    delivery = _unknown_delivery(fake, personas, facebook_channel, sent_ago=dt.timedelta(seconds=20))
    fake.get(FEED, json=fb("feed_empty"))

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN

    delivery.refresh_from_db()
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 90 < wait <= 100  # the rest of the 120-second settle time


def test_a_hiccup_while_reconciling_means_looking_again_later(fake, personas, facebook_channel):
    delivery = _unknown_delivery(fake, personas, facebook_channel, sent_ago=dt.timedelta(minutes=5))
    fake.get(FEED, json=fb("error_2_service"), status=503)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.UNKNOWN


def test_a_revoked_token_while_reconciling_hands_over_to_a_person(fake, personas, facebook_channel):
    delivery = _unknown_delivery(fake, personas, facebook_channel, sent_ago=dt.timedelta(minutes=5))
    fake.get(FEED, json=fb("error_190_460_password_changed"), status=400)

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.NEEDS_ATTENTION


def test_reconcile_matches_on_text_and_time_from_the_feed(fake):
    fake.get(FEED, json=fb("feed_recent"))
    sent_at = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)

    found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    # Not the post with the same text from 2026-11-20: that one is older than our send.
    assert (found.remote_id, found.permalink) == (POST_ID, PERMALINK)


def test_reconcile_does_not_take_an_older_post_with_the_same_text_for_ours(fake):
    fake.get(FEED, json=fb("feed_recent"))
    sent_at = dt.datetime(2026, 11, 29, 10, 30, tzinfo=dt.UTC)

    with time_machine.travel(sent_at + dt.timedelta(minutes=5), tick=False):
        found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    assert found is None


def feed_item(number: int, *, text: str, created: dt.datetime) -> dict:
    return {
        "id": f"{PAGE_ID}_1221000000{number:08d}",
        "message": text,
        "created_time": created.strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink_url": f"https://www.facebook.com/{PAGE_ID}/posts/1221000000{number:08d}",
    }


def feed_page(items: list[dict], *, next_url: str | None) -> dict:
    paging: dict = {"cursors": {"before": "QVFIUmJlZm9yZQ", "after": "QVFIUmFmdGVy"}}
    if next_url:
        paging["next"] = next_url
    return {"data": items, "paging": paging}


SENT_AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
# Meta's next-page address carries the token and its own cursor; CivicPost sends the token in the header.
NEXT_URL = (
    f"{FEED}?access_token={TOKEN}&fields=id%2Cmessage%2Ccreated_time%2Cpermalink_url"
    "&limit=100&until=1795946400&__paging_token=enc_AdC1"
)


def test_reconcile_reads_a_window_around_the_send_and_follows_paging_next(fake):
    newer = [feed_item(100 - i, text=f"Update {i}", created=SENT_AT + dt.timedelta(seconds=60 - i)) for i in range(30)]
    fake.get(
        FEED,
        match=[responses.matchers.query_param_matcher({"__paging_token": "enc_AdC1"}, strict_match=False)],
        json=feed_page([feed_item(1, text=DEFAULT_TEXT, created=SENT_AT + dt.timedelta(seconds=3))], next_url=None),
    )
    fake.get(FEED, json=feed_page(newer, next_url=NEXT_URL))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert found.remote_id == f"{PAGE_ID}_122100000000000001"
    first, second = calls_to(fake, "GET", f"/v27.0/{PAGE_ID}/feed")
    assert query(first) == {
        "fields": "id,message,created_time,permalink_url",
        "since": str(int((SENT_AT - dt.timedelta(minutes=2)).timestamp())),
        "until": str(int((SENT_AT + dt.timedelta(minutes=10)).timestamp())),
        "limit": "100",
    }
    # The next page is Meta's own address, without the token in the URL.
    assert query(second) == {
        "fields": "id,message,created_time,permalink_url",
        "limit": "100",
        "until": "1795946400",
        "__paging_token": "enc_AdC1",
    }
    assert second.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_thirty_newer_posts_do_not_make_a_sent_post_look_absent(fake):
    """The chaos run's duplicate: the old first page (25) was full of newer posts, so the post looked absent."""
    newer = [feed_item(100 - i, text=f"Update {i}", created=SENT_AT + dt.timedelta(seconds=60 - i)) for i in range(30)]
    older = [feed_item(1, text=DEFAULT_TEXT, created=SENT_AT + dt.timedelta(seconds=2))]
    fake.get(
        FEED,
        match=[responses.matchers.query_param_matcher({"after": "p2"}, strict_match=False)],
        json=feed_page(newer[25:] + older, next_url=None),
    )
    fake.get(FEED, json=feed_page(newer[:25], next_url=f"{FEED}?limit=25&after=p2"))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=5), tick=False):
        found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert found is not None
    assert found.remote_id == f"{PAGE_ID}_122100000000000001"


def test_a_window_with_more_pages_than_the_cap_needs_a_person_not_a_resend(fake, monkeypatch):
    from scheduler.adapters import graph

    monkeypatch.setattr(graph, "RECONCILE_MAX_PAGES", 3)
    for page in (2, 3):
        fake.get(
            FEED,
            match=[responses.matchers.query_param_matcher({"after": f"p{page}"}, strict_match=False)],
            json=feed_page(
                [feed_item(page, text=f"Update {page}", created=SENT_AT + dt.timedelta(seconds=60 - page))],
                next_url=f"{FEED}?after=p{page + 1}",
            ),
        )
    fake.get(
        FEED,
        json=feed_page(
            [feed_item(1, text="Update 1", created=SENT_AT + dt.timedelta(seconds=59))], next_url=f"{FEED}?after=p2"
        ),
    )

    with (
        time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False),
        pytest.raises(OutcomeUnknown, match="check the account before posting again"),
    ):
        adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert len(calls_to(fake, "GET", f"/v27.0/{PAGE_ID}/feed")) == 3


def test_the_cap_does_not_hide_a_post_found_on_the_last_page_read(fake, monkeypatch):
    from scheduler.adapters import graph

    monkeypatch.setattr(graph, "RECONCILE_MAX_PAGES", 2)
    fake.get(
        FEED,
        match=[responses.matchers.query_param_matcher({"after": "p2"}, strict_match=False)],
        json=feed_page(
            [feed_item(1, text=DEFAULT_TEXT, created=SENT_AT + dt.timedelta(seconds=2))], next_url=f"{FEED}?after=p3"
        ),
    )
    fake.get(
        FEED,
        json=feed_page(
            [feed_item(9, text="Update", created=SENT_AT + dt.timedelta(seconds=50))], next_url=f"{FEED}?after=p2"
        ),
    )

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert found.remote_id == f"{PAGE_ID}_122100000000000001"


def test_a_next_page_on_another_host_is_not_followed(fake):
    fake.get(FEED, json=feed_page([], next_url="https://graph.example.net/v27.0/1/feed?after=x"))

    with (
        time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False),
        pytest.raises(PublishError, match="did not follow"),
    ):
        adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert len(fake.calls) == 1


def test_absence_is_proved_only_after_the_whole_window_was_read(fake):
    fake.get(
        FEED,
        match=[responses.matchers.query_param_matcher({"after": "p2"}, strict_match=False)],
        json=feed_page([feed_item(2, text="Update 2", created=SENT_AT + dt.timedelta(seconds=20))], next_url=None),
    )
    fake.get(
        FEED,
        json=feed_page(
            [feed_item(3, text="Update 3", created=SENT_AT + dt.timedelta(seconds=30))], next_url=f"{FEED}?after=p2"
        ),
    )

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        found = adapter().reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=SENT_AT)

    assert found is None
    assert len(fake.calls) == 2


# --- Delete, metrics, connection ----------------------------------------------------------------------


def test_delete_removes_the_post(fake):
    fake.delete(f"{GRAPH}/{POST_ID}", json=fb("delete_success"))

    adapter().delete(POST_ID)

    assert fake.calls[0].request.method == "DELETE"
    assert fake.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_an_unconfirmed_delete_is_an_error(fake):
    fake.delete(f"{GRAPH}/{POST_ID}", json={"success": False})

    with pytest.raises(PublishError):
        adapter().delete(POST_ID)


def test_metrics_read_reactions_comments_and_shares(fake):
    fake.get(f"{GRAPH}/{POST_ID}", json=fb("post_metrics"))

    assert adapter().fetch_metrics(POST_ID) == {"likes": 42, "replies": 7, "shares": 3}
    assert query(fake.calls[0])["fields"] == (
        "shares,reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
    )


def test_a_reels_metrics_leave_out_shares_which_a_video_has_not(fake):
    fake.get(
        f"{GRAPH}/104857600000077",
        json={"id": "104857600000077", **{k: v for k, v in fb("post_metrics").items() if k != "shares"}},
    )

    assert adapter().fetch_metrics("104857600000077") == {"likes": 42, "replies": 7, "shares": 0}
    assert (
        query(fake.calls[0])["fields"]
        == "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
    )


def test_check_connection_confirms_the_page_and_reads_the_expiry(fake, settings):
    settings.CIVICPOST_META_APP_ID = "1234567890"
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    fake.get(f"{GRAPH}/me", json=fb("me_page"))
    fake.get(f"{GRAPH}/debug_token", json=fb("debug_token_page"))

    check = adapter().check_connection()

    assert check.ok is True
    assert check.expires_at is None
    assert "does not expire" in check.message
    debug_call = calls_to(fake, "GET", "/v27.0/debug_token")[0]
    assert query(debug_call) == {"input_token": TOKEN}
    assert debug_call.request.headers["Authorization"] == "Bearer 1234567890|meta-app-secret"


def test_check_connection_notices_a_token_for_another_page(fake):
    fake.get(f"{GRAPH}/me", json={"id": "999", "name": "Someone Else"})

    check = adapter().check_connection()

    assert check.ok is False
    assert "Someone Else" in check.message


def test_check_connection_reports_a_revoked_token(fake):
    fake.get(f"{GRAPH}/me", json=fb("error_190_460_password_changed"), status=400)

    check = adapter().check_connection()

    assert check.ok is False
    assert "reconnect" in check.message


def test_a_token_with_an_expiry_reports_it():
    assert token_expiry({"expires_at": 1803456000}) == dt.datetime.fromtimestamp(1803456000, tz=dt.UTC)
    assert token_expiry({"expires_at": 0}) is None


# --- Connecting a Page ---------------------------------------------------------------------------------


def test_the_login_dialog_url_carries_state_scopes_and_pkce(settings):
    settings.CIVICPOST_META_APP_ID = "1234567890"

    url = authorization_url(
        redirect_uri="https://civicpost.city.example/connect/facebook/done",
        state="st-123",
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    )

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.facebook.com", "/v27.0/dialog/oauth")
    assert {key: values[0] for key, values in parse_qs(parts.query).items()} == {
        "client_id": "1234567890",
        "redirect_uri": "https://civicpost.city.example/connect/facebook/done",
        "state": "st-123",
        "response_type": "code",
        "scope": "pages_show_list,pages_read_engagement,pages_manage_posts,"
        "pages_read_user_engagement,pages_manage_engagement",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


def test_the_code_is_exchanged_with_the_pkce_verifier(fake, settings):
    settings.CIVICPOST_META_APP_ID = "1234567890"
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    fake.get(f"{GRAPH}/oauth/access_token", json=fb("oauth_token"))

    token = exchange_code(
        code="AQDcode", redirect_uri="https://civicpost.city.example/done", code_verifier="verifier-123"
    )

    assert token.access_token == "EAAGm0PX4ZCpsBAShortLivedUserToken"
    assert query(fake.calls[0]) == {
        "client_id": "1234567890",
        "client_secret": "meta-app-secret",
        "redirect_uri": "https://civicpost.city.example/done",
        "code": "AQDcode",
        "code_verifier": "verifier-123",
    }
    assert "Authorization" not in fake.calls[0].request.headers


def test_the_user_token_is_exchanged_for_a_long_lived_one(fake, settings):
    settings.CIVICPOST_META_APP_ID = "1234567890"
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    fake.get(f"{GRAPH}/oauth/access_token", json=fb("long_lived_token"))

    token = exchange_long_lived_user_token(user_token="EAAGm0PX4ZCpsBAShortLivedUserToken")

    assert token.access_token == "EAAGm0PX4ZCpsBALongLivedUserToken"
    assert token.expires_at > timezone.now() + dt.timedelta(days=59)
    assert query(fake.calls[0]) == {
        "grant_type": "fb_exchange_token",
        "client_id": "1234567890",
        "client_secret": "meta-app-secret",
        "fb_exchange_token": "EAAGm0PX4ZCpsBAShortLivedUserToken",
    }


def test_pages_are_listed_with_their_tokens_across_result_pages(fake):
    fake.get(f"{GRAPH}/me/accounts", json=fb("me_accounts"))
    fake.get(f"{GRAPH}/me/accounts", json=fb("me_accounts_page2"))

    pages = list_pages(user_token="EAAGm0PX4ZCpsBALongLivedUserToken")

    assert [(page.id, page.name, page.access_token) for page in pages] == [
        (PAGE_ID, "City Parks and Recreation", "EAAGPageTokenForParks"),
        ("104400000000002", "Riverside Pool", "EAAGPageTokenForPool"),
        ("104400000000003", "Public Library", "EAAGPageTokenForLibrary"),
    ]
    assert [page.can_publish for page in pages] == [True, False, True]
    assert query(fake.calls[0]) == {"fields": "id,name,access_token,tasks", "limit": "100"}
    assert query(fake.calls[1])["after"] == "QVFIUmFmdGVy"
    assert fake.calls[0].request.headers["Authorization"] == "Bearer EAAGm0PX4ZCpsBALongLivedUserToken"
    assert pages[0].channel_fields() == {
        "platform": "facebook",
        "display_name": "City Parks and Recreation",
        "credentials": {"page_access_token": "EAAGPageTokenForParks"},
        "options": {"page_id": PAGE_ID, "page_name": "City Parks and Recreation"},
    }


def test_debug_token_returns_the_token_details(fake):
    fake.get(f"{GRAPH}/debug_token", json=fb("debug_token_page"))

    data = debug_token(input_token=TOKEN, app_id="1", app_secret="s")

    assert data["type"] == "PAGE" and data["is_valid"] is True


def test_a_refused_code_exchange_is_reported(fake):
    fake.get(f"{GRAPH}/oauth/access_token", json=fb("error_100_invalid_link"), status=400)

    with pytest.raises(PublishError):
        exchange_code(code="bad", redirect_uri="https://x.example/", code_verifier="v", app_id="1", app_secret="s")


# --- End to end --------------------------------------------------------------------------------------------


def test_an_approved_due_post_is_published_once_through_the_dispatcher(fake, personas, facebook_channel, settings):
    settings.CIVICPOST_GRAPH_API_VERSION = "v26.0"
    fake.post(f"https://graph.facebook.com/v26.0/{PAGE_ID}/feed", json=fb("feed_created"))
    fake.get(f"https://graph.facebook.com/v26.0/{POST_ID}", json=fb("post_permalink"))
    post = approved_post(
        author=personas.alice, approver=personas.bob, channels=[facebook_channel], link="https://city.example/splash"
    )
    make_due(post)

    tick(times=2)

    publishes = calls_to(fake, "POST", f"/v26.0/{PAGE_ID}/feed")
    assert len(publishes) == 1
    assert form(publishes[0]) == {"message": DEFAULT_TEXT, "link": "https://city.example/splash"}
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id, delivery.permalink) == (DeliveryStatus.PUBLISHED, POST_ID, PERMALINK)
    assert delivery.attempt_log.get().response == {"id": POST_ID}
    post.refresh_from_db()
    assert post.status == "published"
