"""The Instagram adapter against `responses` with documented bodies: validation, the container ->
status -> media_publish flow with bounded polling, each documented error to its delivery state,
reconciliation, the Instagram-Login flavour, connecting through a Page, and one post end to end."""

from __future__ import annotations

import datetime as dt

import pytest
import requests
import responses
import time_machine
from django.utils import timezone

from scheduler.adapters import graph
from scheduler.adapters.base import (
    ChannelAccount,
    CheckAgainLater,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
)
from scheduler.adapters.instagram.adapter import (
    INSTAGRAM_CAPTION_LIMIT,
    InstagramAdapter,
    count_hashtags,
    count_mentions,
    instagram_account_for_page,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from scheduler.snapshots import channel_content
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import approved_post_with_media, calls_to, fixture, form, query

pytestmark = pytest.mark.django_db

# Fixtures shared by the Meta adapter tests.
fake = meta_helpers.fake
no_sleep = meta_helpers.no_sleep

IG_USER = "17841400000000001"
PAGE_ID = "104412345678901"
TOKEN = "EAAGPageTokenForParks"
GRAPH = "https://graph.facebook.com/v27.0"
CONTAINER = "17889455560051444"
MEDIA_ID = "17920238422030506"
PERMALINK = "https://www.instagram.com/p/C9xYzAbCdEf/"
TEXT = "Splash pads open Saturday at 10 a.m. at every city park."
PHOTO = MediaItem(url="https://city.example/x.jpg", mime_type="image/jpeg", alt_text="Children at a splash pad")


def ig(name: str) -> dict:
    return fixture("instagram", name)


def account(**options) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1,
        display_name="@cityparks",
        credentials={"access_token": TOKEN},
        options={"ig_user_id": IG_USER, "flavour": "facebook_login", "username": "cityparks", **options},
    )


def adapter(**options) -> InstagramAdapter:
    return InstagramAdapter(account(**options))


def photo_post(text: str = TEXT, *media: MediaItem) -> PostContent:
    return PostContent(text=text, media=media or (PHOTO,))


def register_flow(fake, *, statuses: tuple[str, ...] = ("container_finished",)) -> None:
    fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("container_created"))
    for status in statuses:
        fake.get(f"{GRAPH}/{CONTAINER}", json=ig(status))
    fake.post(f"{GRAPH}/{IG_USER}/media_publish", json=ig("media_published"))
    fake.get(f"{GRAPH}/{MEDIA_ID}", json=ig("media_permalink"))


@pytest.fixture
def instagram_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="instagram",
        display_name="Parks on Instagram",
        credentials={"access_token": TOKEN},
        options={"ig_user_id": IG_USER, "flavour": "facebook_login", "username": "cityparks"},
    )


# --- Validation --------------------------------------------------------------------------------------------


def test_the_registry_builds_the_instagram_adapter(instagram_channel):
    built = adapter_for_channel(instagram_channel)
    assert isinstance(built, InstagramAdapter)
    assert built.supports_delete is False


def test_a_text_only_post_is_refused():
    messages = [problem.message for problem in adapter().validate(PostContent(text=TEXT))]

    assert any("text-only posts are not possible" in message for message in messages)


def test_a_photo_post_with_alt_text_is_accepted():
    assert adapter().validate(photo_post()) == []


def test_media_needs_a_public_https_address_a_supported_type_and_alt_text():
    content = photo_post(
        TEXT,
        MediaItem(url="http://city.example/x.jpg", mime_type="image/jpeg", alt_text="A"),
        MediaItem(url="https://city.example/x.pdf", mime_type="application/pdf", alt_text="B"),
        MediaItem(url="https://city.example/x.jpg", mime_type="image/jpeg"),
    )

    messages = " ".join(problem.message for problem in adapter().validate(content))

    assert "https://" in messages
    assert "Instagram takes images and MP4 or MOV videos." in messages
    assert "alt text" in messages
    # Other image formats are converted to JPEG at publish time, so they are not a problem.
    png = MediaItem(url="https://city.example/x.png", mime_type="image/png", alt_text="B")
    assert adapter().validate(photo_post(TEXT, png)) == []


def test_the_caption_is_limited_to_2200_characters_including_the_link():
    text = "x" * (INSTAGRAM_CAPTION_LIMIT - 10)
    content = PostContent(text=text, link="https://city.example/long-link", media=(PHOTO,))

    length = adapter().text_length(content)

    assert length.limit == 2200
    assert length.used == len(text) + 2 + len("https://city.example/long-link")
    assert any("2200 characters" in problem.message for problem in adapter().validate(content))


def test_at_most_30_hashtags_and_20_mentions():
    too_many = " ".join(f"#park{i}" for i in range(31)) + " " + " ".join(f"@friend{i}" for i in range(21))

    messages = " ".join(problem.message for problem in adapter().validate(photo_post(too_many)))

    assert "30 hashtags; this post has 31" in messages
    assert "20 @mentions; this post has 21" in messages
    assert adapter().validate(photo_post(" ".join(f"#park{i}" for i in range(30)))) == []


def test_hashtags_and_mentions_are_counted_like_instagram():
    assert count_hashtags("#parks and #pools, not a#b or &#38;") == 2
    assert count_mentions("@city.parks thanks @library! mail parks@city.example") == 2


# --- Publishing ----------------------------------------------------------------------------------------------


def test_a_photo_post_creates_a_container_waits_for_it_and_publishes_it(fake, no_sleep):
    register_flow(fake, statuses=("container_in_progress", "container_finished"))

    result = adapter().publish(photo_post(), idempotency_key="k-1")

    create = calls_to(fake, "POST", f"/v27.0/{IG_USER}/media")[0]
    assert form(create) == {
        "image_url": "https://city.example/x.jpg",
        "alt_text": "Children at a splash pad",
        "caption": TEXT,
    }
    assert create.request.headers["Authorization"] == f"Bearer {TOKEN}"
    status_calls = calls_to(fake, "GET", f"/v27.0/{CONTAINER}")
    assert [query(call) for call in status_calls] == [{"fields": "status_code,status"}] * 2
    assert no_sleep == [1.0]
    publish = calls_to(fake, "POST", f"/v27.0/{IG_USER}/media_publish")
    assert [form(call) for call in publish] == [{"creation_id": CONTAINER}]
    assert query(calls_to(fake, "GET", f"/v27.0/{MEDIA_ID}")[0]) == {"fields": "permalink"}
    assert (result.remote_id, result.permalink) == (MEDIA_ID, PERMALINK)
    assert result.raw == {"container_id": CONTAINER, "id": MEDIA_ID}


def test_a_link_is_written_into_the_caption(fake, no_sleep):
    register_flow(fake)

    adapter().publish(PostContent(text=TEXT, link="https://city.example/splash", media=(PHOTO,)), idempotency_key="k")

    assert form(fake.calls[0])["caption"] == f"{TEXT}\n\nhttps://city.example/splash"


def test_several_photos_become_a_carousel(fake, no_sleep):
    fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("child_container_1"))
    fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("child_container_2"))
    register_flow(fake)
    second = MediaItem(url="https://city.example/y.jpg", mime_type="image/jpeg", alt_text="A new slide")

    adapter().publish(photo_post(TEXT, PHOTO, second), idempotency_key="k")

    creates = [form(call) for call in calls_to(fake, "POST", f"/v27.0/{IG_USER}/media")]
    assert creates == [
        {"image_url": PHOTO.url, "alt_text": PHOTO.alt_text, "is_carousel_item": "true"},
        {"image_url": second.url, "alt_text": "A new slide", "is_carousel_item": "true"},
        {"media_type": "CAROUSEL", "children": "17889455560051501,17889455560051502", "caption": TEXT},
    ]


def test_a_single_video_is_published_as_a_reel(fake, no_sleep):
    register_flow(fake)
    video = MediaItem(url="https://city.example/tour.mp4", mime_type="video/mp4", alt_text="Park tour")

    adapter().publish(photo_post(TEXT, video), idempotency_key="k")

    assert form(fake.calls[0]) == {"media_type": "REELS", "video_url": video.url, "caption": TEXT}


def test_a_container_in_error_fails_permanently_with_instagrams_message(fake, no_sleep):
    register_flow(fake, statuses=("container_error",))

    with pytest.raises(PublishError) as raised:
        adapter().publish(photo_post(), idempotency_key="k")

    assert raised.value.permanent is True
    assert "The media URI doesn't meet our requirements" in raised.value.message
    assert calls_to(fake, "POST", f"/v27.0/{IG_USER}/media_publish") == []


def test_a_container_still_processing_after_the_budget_is_retried_without_publishing(fake, no_sleep):
    register_flow(fake, statuses=("container_in_progress",))

    with pytest.raises(PublishError) as raised:
        adapter().publish(photo_post(), idempotency_key="k")

    assert raised.value.permanent is False
    assert calls_to(fake, "POST", f"/v27.0/{IG_USER}/media_publish") == []
    assert sum(no_sleep) <= 15


def test_an_expired_container_is_retried_with_a_new_one(fake, no_sleep):
    register_flow(fake, statuses=("container_expired",))

    with pytest.raises(PublishError) as raised:
        adapter().publish(photo_post(), idempotency_key="k")

    assert raised.value.permanent is False


def test_a_publish_answer_without_an_id_is_an_unknown_outcome(fake, no_sleep):
    fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("container_created"))
    fake.get(f"{GRAPH}/{CONTAINER}", json=ig("container_finished"))
    fake.post(f"{GRAPH}/{IG_USER}/media_publish", json={})

    with pytest.raises(OutcomeUnknown):
        adapter().publish(photo_post(), idempotency_key="k")


def test_a_timeout_on_media_publish_is_an_unknown_outcome(fake, no_sleep):
    fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("container_created"))
    fake.get(f"{GRAPH}/{CONTAINER}", json=ig("container_finished"))
    fake.post(f"{GRAPH}/{IG_USER}/media_publish", body=requests.exceptions.ReadTimeout())

    with pytest.raises(OutcomeUnknown):
        adapter().publish(photo_post(), idempotency_key="k")


def test_a_timeout_while_creating_the_container_is_safe_to_retry(fake, no_sleep):
    fake.post(f"{GRAPH}/{IG_USER}/media", body=requests.exceptions.ReadTimeout())

    with pytest.raises(PublishError) as raised:
        adapter().publish(photo_post(), idempotency_key="k")

    assert raised.value.permanent is False


def test_the_adapter_never_publishes_without_media(fake):
    with pytest.raises(PublishError):
        adapter().publish(PostContent(text=TEXT), idempotency_key="k")
    assert len(fake.calls) == 0


# --- Each documented error leads to the right delivery state ---------------------------------------------

MEDIA = [{"url": PHOTO.url, "mime_type": "image/jpeg", "alt_text": PHOTO.alt_text}]


@pytest.mark.parametrize(
    ("step", "fixture_name", "expected_status"),
    [
        ("media", "error_190_463_expired", DeliveryStatus.SCHEDULED),
        ("media", "error_2207042_publish_limit", DeliveryStatus.RETRY_WAIT),
        ("media", "error_2207004_too_large", DeliveryStatus.FAILED),
        ("media", "error_2207003_download_timeout", DeliveryStatus.RETRY_WAIT),
        ("media", "error_2207001_server", DeliveryStatus.RETRY_WAIT),
        ("media_publish", "error_2207042_publish_limit", DeliveryStatus.RETRY_WAIT),
        ("media_publish", "error_2207051_spam", DeliveryStatus.FAILED),
        ("media_publish", "error_2207001_server", DeliveryStatus.UNKNOWN),
    ],
)
def test_each_documented_error_leads_to_the_right_delivery_state(
    fake, no_sleep, personas, instagram_channel, step, fixture_name, expected_status
):
    if step == "media":
        fake.post(f"{GRAPH}/{IG_USER}/media", json=ig(fixture_name), status=400)
    else:
        fake.post(f"{GRAPH}/{IG_USER}/media", json=ig("container_created"))
        fake.get(f"{GRAPH}/{CONTAINER}", json=ig("container_finished"))
        fake.post(f"{GRAPH}/{IG_USER}/media_publish", json=ig(fixture_name), status=400)
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=instagram_channel, text=TEXT, media=MEDIA
    )

    tick()

    delivery = Delivery.objects.get(post=post)
    assert delivery.status == expected_status
    instagram_channel.refresh_from_db()
    expected_channel = ChannelStatus.NEEDS_RECONNECT if "190" in fixture_name else ChannelStatus.CONNECTED
    assert instagram_channel.status == expected_channel
    if fixture_name == "error_2207042_publish_limit":
        assert (delivery.next_attempt_at - timezone.now()).total_seconds() > 3500


def test_a_container_error_fails_the_delivery_with_the_status_message(fake, no_sleep, personas, instagram_channel):
    register_flow(fake, statuses=("container_error",))
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=instagram_channel, text=TEXT, media=MEDIA
    )

    tick()

    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.FAILED
    assert "Media download has failed" in delivery.failure_message


def test_a_text_only_post_cannot_even_be_submitted_for_instagram(personas, instagram_channel):
    from civicpost.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as raised:
        approved_post(author=personas.alice, approver=personas.bob, channels=[instagram_channel])

    assert "text-only" in str(raised.value)


# --- Reconciliation --------------------------------------------------------------------------------------


def test_reconcile_matches_the_caption_among_recent_media(fake):
    fake.get(f"{GRAPH}/{IG_USER}/media", json=ig("media_recent"))

    found = adapter().reconcile(
        photo_post(), idempotency_key="k", sent_at=dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
    )

    assert (found.remote_id, found.permalink) == (MEDIA_ID, PERMALINK)
    params = query(fake.calls[0])
    assert params == {
        "fields": "id,caption,timestamp,permalink",
        "since": str(int(dt.datetime(2026, 11, 29, 9, 58, tzinfo=dt.UTC).timestamp())),
        "until": params["until"],
        "limit": "100",
    }


def test_reconcile_proves_absence_only_after_the_settle_time(fake):
    fake.get(f"{GRAPH}/{IG_USER}/media", json=ig("media_recent"))
    sent_at = dt.datetime(2026, 11, 29, 11, 0, tzinfo=dt.UTC)
    content = photo_post("A caption nobody posted")

    with time_machine.travel(sent_at + dt.timedelta(seconds=30), tick=False), pytest.raises(CheckAgainLater) as raised:
        adapter().reconcile(content, idempotency_key="k", sent_at=sent_at)
    assert raised.value.retry_after == 90
    with time_machine.travel(sent_at + dt.timedelta(minutes=3), tick=False):
        assert adapter().reconcile(content, idempotency_key="k", sent_at=sent_at) is None


SENT_AT = dt.datetime(2026, 11, 29, 10, 0, tzinfo=dt.UTC)
TEXT_SENT = TEXT
LISTING = f"{GRAPH}/{IG_USER}/media"


def listing_item(number: int, *, text: str, created: dt.datetime) -> dict:
    return {
        "id": f"1809{number:014d}",
        "caption": text,
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
        found = adapter().reconcile(photo_post(), idempotency_key="k", sent_at=SENT_AT)

    assert found is not None
    assert found.remote_id == ours["id"]
    first, second = fake.calls
    assert query(first) == {
        "fields": "id,caption,timestamp,permalink",
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
        assert adapter().reconcile(photo_post(), idempotency_key="k", sent_at=SENT_AT) is None
    assert len(fake.calls) == 2


def test_reconcile_stops_reading_once_a_page_reaches_posts_older_than_the_window(fake):
    old = listing_item(2, text="Last week", created=SENT_AT - dt.timedelta(days=7))
    fake.get(LISTING, json=listing_page(newer_items(3) + [old], after="p2"))

    with time_machine.travel(SENT_AT + dt.timedelta(minutes=30), tick=False):
        assert adapter().reconcile(photo_post(), idempotency_key="k", sent_at=SENT_AT) is None
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
        adapter().reconcile(photo_post(), idempotency_key="k", sent_at=SENT_AT)

    assert not isinstance(raised.value, CheckAgainLater)
    assert len(fake.calls) == 3


# --- Delete, metrics, connection, flavours -------------------------------------------------------------------


def test_instagram_media_cannot_be_deleted_through_the_api(fake):
    with pytest.raises(PublishError) as raised:
        adapter().delete(MEDIA_ID)

    assert raised.value.permanent is True
    assert len(fake.calls) == 0


def test_metrics_read_likes_and_comments_with_the_insights_in_one_request(fake):
    fake.get(f"{GRAPH}/{MEDIA_ID}", json=ig("media_metrics"))

    # The fixture carries no insights: views and shares stay unreported.
    assert adapter().fetch_metrics(MEDIA_ID) == {"likes": 128, "replies": 9}
    assert query(fake.calls[0]) == {"fields": "like_count,comments_count,insights.metric(views,shares)"}


def test_check_connection_reads_the_account(fake):
    fake.get(f"{GRAPH}/{IG_USER}", json=ig("account"))

    check = adapter().check_connection()

    assert check.ok is True
    assert query(fake.calls[0]) == {"fields": "id,username"}


def test_check_connection_reports_a_dead_token(fake):
    fake.get(f"{GRAPH}/{IG_USER}", json=ig("error_190_463_expired"), status=400)

    assert adapter().check_connection().ok is False


def test_the_instagram_login_flavour_talks_to_graph_instagram_com(fake, no_sleep, settings):
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    host = "https://graph.instagram.com/v27.0"
    fake.post(f"{host}/{IG_USER}/media", json=ig("container_created"))
    fake.get(f"{host}/{CONTAINER}", json=ig("container_finished"))
    fake.post(f"{host}/{IG_USER}/media_publish", json=ig("media_published"))
    fake.get(f"{host}/{MEDIA_ID}", json=ig("media_permalink"))

    result = adapter(flavour="instagram_login").publish(photo_post(), idempotency_key="k")

    assert result.remote_id == MEDIA_ID
    # The Meta app secret does not sign Instagram-Login tokens.
    assert all("appsecret_proof" not in call.request.url for call in fake.calls)


def test_the_facebook_login_flavour_signs_calls_with_appsecret_proof(fake, settings):
    settings.CIVICPOST_META_APP_SECRET = "meta-app-secret"
    fake.get(f"{GRAPH}/{MEDIA_ID}", json=ig("media_metrics"))

    adapter().fetch_metrics(MEDIA_ID)

    assert query(fake.calls[0])["appsecret_proof"] == graph.appsecret_proof(TOKEN, "meta-app-secret")


def test_instagram_login_tokens_are_refreshed_for_another_60_days(fake):
    fake.get("https://graph.instagram.com/refresh_access_token", json=ig("refreshed_token"))
    old = ChannelAccount(
        channel_id=1,
        display_name="@cityparks",
        credentials={"access_token": "IGQ-old", "expires_at": "2026-12-20T00:00:00+00:00"},
        options={"ig_user_id": IG_USER, "flavour": "instagram_login"},
    )

    credentials = InstagramAdapter(old).refresh_credentials()

    assert query(fake.calls[0]) == {"grant_type": "ig_refresh_token", "access_token": "IGQ-old"}
    assert credentials["access_token"] == "IGQWRPcmVmcmVzaGVkLXRva2Vu"
    expires_at = dt.datetime.fromisoformat(credentials["expires_at"])
    assert dt.timedelta(days=59) < expires_at - timezone.now() <= dt.timedelta(days=60)


def test_facebook_login_channels_have_nothing_to_refresh(fake):
    # The periodic refresh looks the refresher up with getattr(adapter, "refresh_credentials", None).
    assert adapter().refresh_credentials is None
    assert callable(adapter(flavour="instagram_login").refresh_credentials)
    assert len(fake.calls) == 0


# --- Connecting through a Page -------------------------------------------------------------------------------


def test_the_instagram_account_linked_to_a_page_is_found(fake):
    fake.get(f"{GRAPH}/{PAGE_ID}", json=ig("page_instagram_account"))

    found = instagram_account_for_page(page_id=PAGE_ID, page_token=TOKEN)

    assert (found.id, found.username) == (IG_USER, "cityparks")
    assert query(fake.calls[0]) == {"fields": "instagram_business_account{id,username}"}
    assert found.channel_fields(access_token=TOKEN, page_id=PAGE_ID) == {
        "platform": "instagram",
        "display_name": "@cityparks",
        "account_handle": "cityparks",
        "credentials": {"access_token": TOKEN},
        "options": {"ig_user_id": IG_USER, "flavour": "facebook_login", "username": "cityparks", "page_id": PAGE_ID},
    }


def test_a_page_without_instagram_account_gives_none(fake):
    fake.get(f"{GRAPH}/{PAGE_ID}", json=ig("page_without_instagram"))

    assert instagram_account_for_page(page_id=PAGE_ID, page_token=TOKEN) is None


# --- End to end --------------------------------------------------------------------------------------------


def test_approved_media_reaches_the_adapter_through_channel_content(personas, instagram_channel):
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=instagram_channel, text=TEXT, media=MEDIA
    )

    content = channel_content(post.current_approval.content, instagram_channel)

    assert content.media == (PHOTO,)


def test_an_approved_due_photo_post_is_published_once_through_the_dispatcher(
    fake, no_sleep, personas, instagram_channel
):
    register_flow(fake, statuses=("container_in_progress", "container_finished"))
    post = approved_post_with_media(
        author=personas.alice, approver=personas.bob, channel=instagram_channel, text=TEXT, media=MEDIA
    )
    make_due(post)

    tick(times=2)

    assert len(calls_to(fake, "POST", f"/v27.0/{IG_USER}/media_publish")) == 1
    assert form(calls_to(fake, "POST", f"/v27.0/{IG_USER}/media")[0])["alt_text"] == PHOTO.alt_text
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id, delivery.permalink) == (DeliveryStatus.PUBLISHED, MEDIA_ID, PERMALINK)
