"""The Google Business Profile adapter against `responses` with documented bodies: the exact localPosts
request (STANDARD with a LEARN MORE button, a photo by sourceUrl; EVENT and OFFER shapes), Google's errors
classified, token renewal, reconcile from the location's posts, delete, the connection check, special
hours written in the documented shape, and one approved post through the dispatcher exactly once with a
dropped answer reconciled."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.utils import timezone

from scheduler import publishing
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.google_business.adapter import (
    SUMMARY_LIMIT,
    GoogleBusinessAdapter,
    LocalPostEvent,
    SpecialHourPeriod,
    list_locations,
    local_post_body,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "google_business"
V4 = "https://mybusiness.googleapis.com/v4"
INFO = "https://mybusinessbusinessinformation.googleapis.com/v1"
ACCOUNTS = "https://mybusinessaccountmanagement.googleapis.com/v1"
LOCATION = "accounts/1157283927382/locations/9281089117903930794"
POSTS = f"{V4}/{LOCATION}/localPosts"
POST_NAME = f"{LOCATION}/localPosts/3416985281925843243"
TOKEN = "ya29.google-access-SECRET"
FAR = "2030-01-01T00:00:00+00:00"
CREDENTIALS = {"access_token": TOKEN, "access_expires_at": FAR, "refresh_token": "1//refresh"}
OPTIONS = {"account_id": "1157283927382", "location_id": "9281089117903930794", "location_title": "Central Library"}


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def adapter(credentials: dict | None = None) -> GoogleBusinessAdapter:
    return GoogleBusinessAdapter(
        ChannelAccount(
            channel_id=1, display_name="Central Library", credentials=dict(credentials or CREDENTIALS), options=OPTIONS
        )
    )


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def gbp_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="google_business",
        display_name="Central Library",
        credentials=dict(CREDENTIALS),
        options=OPTIONS,
    )


def test_a_standard_update_with_a_link_gets_a_learn_more_button(fake):
    fake.post(POSTS, json=fixture("local_post_created"))
    result = adapter().publish(
        PostContent(text=DEFAULT_TEXT, link="https://city.example/pools", language="en"), idempotency_key="k"
    )
    [call] = fake.calls
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(call.request.body) == {
        "languageCode": "en",
        "summary": DEFAULT_TEXT,
        "topicType": "STANDARD",
        "callToAction": {"actionType": "LEARN_MORE", "url": "https://city.example/pools"},
    }
    assert result.remote_id == POST_NAME
    assert result.permalink.startswith("https://local.google.com/place?id=9281089117903930794")


def test_a_photo_is_sent_by_its_public_address(fake):
    fake.post(POSTS, json=fixture("local_post_created"))
    photo = MediaItem(url="https://city.example/media/library.jpg", mime_type="image/jpeg", alt_text="The library")
    adapter().publish(PostContent(text="Open late", media=(photo,)), idempotency_key="k")
    assert json.loads(fake.calls[0].request.body)["media"] == [
        {"mediaFormat": "PHOTO", "sourceUrl": "https://city.example/media/library.jpg"}
    ]


def test_event_and_offer_posts_have_the_documented_shape():
    event = LocalPostEvent(
        title="Story time", start=dt.datetime(2026, 12, 12, 10, 0), end=dt.datetime(2026, 12, 12, 11, 30)
    )
    body = local_post_body(
        PostContent(text="Bring the kids", link="https://city.example/story"), topic_type="EVENT", event=event
    )
    assert body["topicType"] == "EVENT"
    assert body["event"] == {
        "title": "Story time",
        "schedule": {
            "startDate": {"year": 2026, "month": 12, "day": 12},
            "startTime": {"hours": 10, "minutes": 0, "seconds": 0, "nanos": 0},
            "endDate": {"year": 2026, "month": 12, "day": 12},
            "endTime": {"hours": 11, "minutes": 30, "seconds": 0, "nanos": 0},
        },
    }
    assert body["callToAction"] == {"actionType": "LEARN_MORE", "url": "https://city.example/story"}
    offer = local_post_body(
        PostContent(text="Free pool day", link="https://city.example/free"),
        topic_type="OFFER",
        event=event,
        terms="Residents",
    )
    assert offer["offer"] == {"redeemOnlineUrl": "https://city.example/free", "termsConditions": "Residents"}
    assert "callToAction" not in offer
    with pytest.raises(ValueError, match="needs a title and dates"):
        local_post_body(PostContent(text="x"), topic_type="EVENT")


def test_validate_limits():
    gbp = adapter()
    assert gbp.validate(PostContent(text="x" * SUMMARY_LIMIT)) == []
    assert "1500 characters" in gbp.validate(PostContent(text="x" * (SUMMARY_LIMIT + 1)))[0].message
    two = tuple(MediaItem(url=f"https://c.example/{n}.jpg", mime_type="image/jpeg", alt_text="a") for n in range(2))
    assert any("at most 1" in p.message for p in gbp.validate(PostContent(text="Hi", media=two)))
    video = MediaItem(url="https://c.example/v.mp4", mime_type="video/mp4", alt_text="a")
    assert any("not video" in p.message for p in gbp.validate(PostContent(text="Hi", media=(video,))))


@pytest.mark.parametrize(
    ("status", "name", "error", "code"),
    [
        (403, "permission_denied", AuthExpired, "google_forbidden"),
        (403, "service_disabled", PublishError, "google_api_not_enabled"),
        (400, "invalid_argument", PublishError, "google_http_400"),
        (429, "resource_exhausted", RateLimited, "google_rate_limited"),
        (503, None, OutcomeUnknown, ""),
    ],
)
def test_each_documented_error_is_classified(fake, status, name, error, code):
    fake.post(POSTS, status=status, **({"json": fixture(name)} if name else {"body": "unavailable"}))
    with pytest.raises(error) as raised:
        adapter().publish(PostContent(text="Hi"), idempotency_key="k")
    assert raised.value.code == code
    if isinstance(raised.value, PublishError):
        assert raised.value.permanent is True


def test_a_rejected_post_fails_for_good(fake):
    fake.post(POSTS, json=fixture("local_post_rejected"))
    with pytest.raises(PublishError) as raised:
        adapter().publish(PostContent(text="Call 555-0100"), idempotency_key="k")
    assert raised.value.code == "google_business_rejected"


def test_an_expired_access_token_is_renewed_before_the_call_and_handed_back(fake, settings):
    settings.CIVICPOST_GOOGLE_CLIENT_ID = "g-client"
    settings.CIVICPOST_GOOGLE_CLIENT_SECRET = "g-secret"
    fake.post("https://oauth2.googleapis.com/token", json={"access_token": "ya29.new", "expires_in": 3599})
    fake.post(POSTS, json=fixture("local_post_created"))
    gbp = adapter({**CREDENTIALS, "access_expires_at": "2020-01-01T00:00:00+00:00"})
    gbp.publish(PostContent(text="Hi"), idempotency_key="k")
    assert parse_qs(fake.calls[0].request.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": ["1//refresh"],
        "client_id": ["g-client"],
        "client_secret": ["g-secret"],
    }
    assert fake.calls[1].request.headers["Authorization"] == "Bearer ya29.new"
    assert gbp.updated_credentials["access_token"] == "ya29.new"
    assert gbp.updated_credentials["refresh_token"] == "1//refresh"
    assert "expires_at" not in gbp.updated_credentials  # the channel shows no expiry for Google


def test_a_401_after_renewal_or_a_refused_renewal_needs_reconnecting(fake):
    fake.post(POSTS, status=401, json=fixture("unauthenticated"))
    fake.post("https://oauth2.googleapis.com/token", status=400, json={"error": "invalid_grant"})
    with pytest.raises(AuthExpired) as raised:
        adapter().publish(PostContent(text="Hi"), idempotency_key="k")
    assert raised.value.code == "google_refresh_refused"


def local_post(name: str, summary: str, at: dt.datetime) -> dict:
    return {"name": name, "summary": summary, "createTime": at.isoformat().replace("+00:00", "Z"), "state": "LIVE"}


def test_reconcile_reads_every_page_and_finds_the_post(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=20)
    fake.get(
        POSTS, json={"localPosts": [local_post(f"{LOCATION}/localPosts/1", "Other", sent_at)], "nextPageToken": "p2"}
    )
    found = local_post(POST_NAME, "Hi  there", sent_at + dt.timedelta(seconds=1))
    fake.get(
        POSTS,
        json={"localPosts": [found]},
        match=[responses.matchers.query_param_matcher({"pageSize": "100", "pageToken": "p2"})],
    )
    result = adapter().reconcile(PostContent(text="Hi there"), idempotency_key="k", sent_at=sent_at)
    assert result.remote_id == POST_NAME


def test_reconcile_proves_absence_only_after_the_settle_time(fake):
    fake.get(POSTS, json={})
    with pytest.raises(CheckAgainLater):
        adapter().reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=timezone.now())
    assert (
        adapter().reconcile(
            PostContent(text="Hi"), idempotency_key="k", sent_at=timezone.now() - dt.timedelta(minutes=5)
        )
        is None
    )


def test_delete_and_connection_check(fake):
    fake.delete(f"{V4}/{POST_NAME}", json={})
    fake.get(f"{INFO}/locations/9281089117903930794", json=fixture("location"))
    gbp = adapter()
    gbp.delete(POST_NAME)
    assert gbp.check_connection().message == "Connected to Springfield Central Library."
    assert parse_qs(urlsplit(fake.calls[1].request.url).query) == {"readMask": ["name,title"]}


def test_special_hours_are_written_in_the_documented_shape(fake):
    fake.patch(f"{INFO}/locations/9281089117903930794", json={"name": "locations/9281089117903930794"})
    adapter().set_special_hours(
        [
            SpecialHourPeriod(start_date=dt.date(2026, 12, 25)),
            SpecialHourPeriod(
                start_date=dt.date(2026, 12, 24), closed=False, opens=dt.time(9, 0), closes=dt.time(13, 30)
            ),
        ]
    )
    [call] = fake.calls
    assert call.request.method == "PATCH"
    assert parse_qs(urlsplit(call.request.url).query) == {"updateMask": ["specialHours"]}
    assert json.loads(call.request.body) == {
        "specialHours": {
            "specialHourPeriods": [
                {"startDate": {"year": 2026, "month": 12, "day": 25}, "closed": True},
                {
                    "startDate": {"year": 2026, "month": 12, "day": 24},
                    "openTime": {"hours": 9, "minutes": 0},
                    "closeTime": {"hours": 13, "minutes": 30},
                },
            ]
        }
    }


def test_locations_of_every_account_are_listed_page_by_page(fake):
    fake.get(f"{ACCOUNTS}/accounts", json=fixture("accounts"))
    fake.get(
        f"{INFO}/accounts/1157283927382/locations",
        json=fixture("locations_page1"),
        match=[responses.matchers.query_param_matcher({"readMask": "name,title,storefrontAddress", "pageSize": "100"})],
    )
    fake.get(
        f"{INFO}/accounts/1157283927382/locations",
        json=fixture("locations_page2"),
        match=[
            responses.matchers.query_param_matcher(
                {"readMask": "name,title,storefrontAddress", "pageSize": "100", "pageToken": "page2"}
            )
        ],
    )
    locations = list_locations(credentials=dict(CREDENTIALS))
    assert [(loc.choice_id, loc.title, loc.address) for loc in locations] == [
        (LOCATION, "Springfield Central Library", "100 Main St"),
        ("accounts/1157283927382/locations/7000000000000000001", "Riverside Pool", "5 River Rd"),
    ]


def test_an_approved_post_is_published_once_through_the_dispatcher(fake, personas, gbp_channel):
    assert isinstance(adapter_for_channel(gbp_channel), GoogleBusinessAdapter)
    fake.post(POSTS, json=fixture("local_post_created"))
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[gbp_channel])
    make_due(post)

    tick(times=2)

    assert len([c for c in fake.calls if c.request.method == "POST"]) == 1
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, POST_NAME)


def test_a_dropped_answer_is_reconciled_without_a_second_post(fake, personas, gbp_channel):
    fake.post(POSTS, body=requests.ReadTimeout("read timed out"))
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[gbp_channel])
    make_due(post)
    tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN

    fake.get(POSTS, json={"localPosts": [local_post(POST_NAME, DEFAULT_TEXT, timezone.now())]})
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    delivery.refresh_from_db()
    assert delivery.remote_id == POST_NAME
    assert len([c for c in fake.calls if c.request.method == "POST"]) == 1
