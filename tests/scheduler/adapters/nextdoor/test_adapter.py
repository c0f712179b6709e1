"""Nextdoor for public agencies against `responses` fakes of nextdoor.com and auth.nextdoor.com built from the
documented shapes (scheduler/adapters/nextdoor/adapter.py names the sources): the exact requests, each error's
class, reconciliation by the agency's recent posts, the connect flow, and the dispatcher publishing once."""

from __future__ import annotations

import base64
import datetime as dt
import json
from urllib.parse import parse_qs

import pytest
import requests
import responses
from django.urls import reverse
from django.utils import timezone
from responses import matchers

from scheduler import publishing
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    ConnectError,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.nextdoor.adapter import NextdoorAdapter
from scheduler.adapters.nextdoor.connect import FLOW
from scheduler.adapters.registry import adapter_for_channel, get_connect_flow
from scheduler.models import Channel, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick
from tests.scheduler.adapters import meta_helpers
from tests.scheduler.adapters.meta_helpers import calls_to, fixture, query, set_attempt_started

pytestmark = pytest.mark.django_db

fake = meta_helpers.fake

API = "https://nextdoor.com/external/api/partner/v1"
CREATE = f"{API}/post/create/"
POSTS = f"{API}/post/"
ME = f"{API}/me/"
BOUNDARY = f"{API}/agency/boundary/"
TOKEN_URL = "https://auth.nextdoor.com/v2/token"
TOKEN = "nd-access-token-SECRET"
SHARE_LINK = "https://nextdoor.com/p/Gk3xTqWbZ9pL"


def nd(name: str) -> dict:
    return fixture("nextdoor", name)


def account(**options) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1,
        display_name="City of Example Parks and Recreation",
        credentials={"access_token": TOKEN},
        options={"agency_id": "4102", "group_ids": [], **options},
    )


def image(url: str = "https://www.cityofexample.gov/media/splash.jpg", alt: str = "Splash pad") -> MediaItem:
    return MediaItem(url=url, mime_type="image/jpeg", alt_text=alt, width=1200, height=800, size_bytes=200_000)


@pytest.fixture
def nextdoor_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="nextdoor",
        display_name="City of Example Parks and Recreation",
        credentials={"access_token": TOKEN},
        options={"agency_id": "4102", "group_ids": [], "target": "all"},
    )


def recent_posts(*, text: str, created: dt.datetime, older: dt.datetime | None = None) -> dict:
    posts = [
        {
            "id": "551200901",
            "body": text,
            "creation_date": created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "share_link": SHARE_LINK,
            "author": {"name": "City of Example Parks and Recreation", "type": "agency"},
        }
    ]
    if older is not None:
        posts.append(
            {
                "id": "551200100",
                "body": "Leaf pickup starts Monday.",
                "creation_date": older.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
                "share_link": "https://nextdoor.com/p/OlderOne",
            }
        )
    return {"posts": posts}


# --- The request ---------------------------------------------------------------------------------------


def test_the_registry_builds_the_nextdoor_adapter_and_its_flow(nextdoor_channel):
    assert isinstance(adapter_for_channel(nextdoor_channel), NextdoorAdapter)
    assert get_connect_flow("nextdoor") is FLOW
    assert nextdoor_channel.platform_label == "Nextdoor"


def test_publish_sends_the_text_link_images_and_target_neighbourhoods(fake):
    route = fake.post(CREATE, json=nd("post_created"))
    content = PostContent(text=DEFAULT_TEXT, link="https://www.cityofexample.gov/splash", media=(image(),))

    result = NextdoorAdapter(account(group_ids=[51001])).publish(content, idempotency_key="k1")

    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["User-Agent"].startswith("CivicPost/")
    assert json.loads(request.body) == {
        "body_text": DEFAULT_TEXT,
        "media_attachments": ["https://www.cityofexample.gov/media/splash.jpg"],
        "smartlink_url": "https://www.cityofexample.gov/splash",
        "group_ids": [51001],
    }
    assert (result.remote_id, result.permalink) == ("Gk3xTqWbZ9pL", SHARE_LINK)


def test_the_whole_service_area_sends_no_group_ids(fake):
    route = fake.post(CREATE, json=nd("post_created"))
    NextdoorAdapter(account()).publish(PostContent(text="Pools open"), idempotency_key="k1")
    assert json.loads(route.calls[0].request.body) == {"body_text": "Pools open"}


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "permanent"),
    [
        (400, "error_400", {}, PublishError, True),
        (401, "error_401", {}, AuthExpired, None),
        (403, "error_403", {}, AuthExpired, None),
        (429, "error_500", {"Retry-After": "120"}, RateLimited, None),
        (500, "error_500", {}, OutcomeUnknown, None),
        (503, "error_500", {}, OutcomeUnknown, None),
    ],
)
def test_each_documented_answer_is_classified(fake, status, body, headers, expected, permanent):
    fake.post(CREATE, json=nd(body), status=status, headers=headers)
    with pytest.raises(expected) as raised:
        NextdoorAdapter(account()).publish(PostContent(text="Pools open"), idempotency_key="k1")
    if permanent is not None:
        assert raised.value.permanent is permanent
        assert "cannot be longer than 8192" in raised.value.message
    if expected is RateLimited:
        assert raised.value.retry_after == 120


def test_a_refused_connection_is_safe_to_retry_and_a_read_timeout_is_unknown(fake):
    fake.post(CREATE, body=requests.exceptions.ConnectTimeout())
    with pytest.raises(PublishError) as raised:
        NextdoorAdapter(account()).publish(PostContent(text="Pools open"), idempotency_key="k1")
    assert raised.value.permanent is False
    fake.replace(responses.POST, CREATE, body=requests.exceptions.ReadTimeout())
    with pytest.raises(OutcomeUnknown):
        NextdoorAdapter(account()).publish(PostContent(text="Pools open"), idempotency_key="k1")


def test_an_answer_without_a_share_link_is_unknown(fake):
    fake.post(CREATE, json={"result": "pending"})
    with pytest.raises(OutcomeUnknown):
        NextdoorAdapter(account()).publish(PostContent(text="Pools open"), idempotency_key="k1")


def test_an_expired_sign_in_needs_reconnecting_without_asking_nextdoor(fake):
    expired = ChannelAccount(
        channel_id=1,
        display_name="Parks",
        credentials={"access_token": TOKEN, "expires_at": (timezone.now() - dt.timedelta(days=1)).isoformat()},
    )
    with pytest.raises(AuthExpired):
        NextdoorAdapter(expired).publish(PostContent(text="Pools open"), idempotency_key="k1")
    assert len(fake.calls) == 0


# --- Validation ------------------------------------------------------------------------------------------


def test_the_limit_is_8192_bytes():
    adapter = NextdoorAdapter(account())
    assert adapter.validate(PostContent(text="a" * 8192)) == []
    length = adapter.text_length(PostContent(text="é" * 4097))
    assert (length.used, length.limit) == (8194, 8192)
    assert "8192 characters" in adapter.validate(PostContent(text="é" * 4097))[0].message


def test_images_need_alt_text_https_and_at_most_ten_and_video_is_refused():
    adapter = NextdoorAdapter(account())
    problems = adapter.validate(
        PostContent(
            text="Pools",
            media=(
                *(image() for _ in range(10)),
                image(alt=""),
                MediaItem(url="http://intranet/x.jpg", mime_type="image/jpeg", alt_text="x"),
                MediaItem(url="https://city.example/v.mp4", mime_type="video/mp4", alt_text="x"),
            ),
        )
    )
    messages = " ".join(problem.message for problem in problems)
    assert "at most 10 images" in messages
    assert "alt text" in messages
    assert "https://" in messages
    assert "not video" in messages


# --- Reconcile, delete, connection check -----------------------------------------------------------------


def test_reconcile_finds_our_text_among_the_recent_posts(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    fake.get(POSTS, json=recent_posts(text=DEFAULT_TEXT, created=sent_at, older=sent_at - dt.timedelta(days=2)))

    found = NextdoorAdapter(account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    assert found is not None
    assert (found.remote_id, found.permalink) == ("Gk3xTqWbZ9pL", SHARE_LINK)
    assert fake.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_reconcile_ignores_the_same_text_posted_before_the_window(fake):
    sent_at = timezone.now() - dt.timedelta(minutes=5)
    fake.get(POSTS, json=recent_posts(text="Other", created=sent_at, older=sent_at - dt.timedelta(days=2)))
    fake.replace(
        responses.GET,
        POSTS,
        json={
            "posts": [
                {"id": "1", "body": DEFAULT_TEXT, "creation_date": (sent_at - dt.timedelta(days=7)).isoformat()},
            ]
        },
    )
    assert (
        NextdoorAdapter(account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)
        is None
    )


def test_reconcile_waits_for_the_settle_time_before_proving_absence(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=20)
    fake.get(POSTS, json={"posts": [{"id": "1", "body": "Old", "creation_date": "2026-01-01T00:00:00Z"}]})
    with pytest.raises(CheckAgainLater):
        NextdoorAdapter(account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)


def test_a_page_of_only_newer_posts_needs_a_person_not_a_resend(fake):
    sent_at = timezone.now() - dt.timedelta(minutes=5)
    fake.get(POSTS, json=recent_posts(text="Someone else's news", created=timezone.now()))
    with pytest.raises(OutcomeUnknown) as raised:
        NextdoorAdapter(account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)
    assert not isinstance(raised.value, CheckAgainLater)


def test_delete_sends_the_post_id_listed_for_the_share_link(fake):
    fake.get(POSTS, json=recent_posts(text=DEFAULT_TEXT, created=timezone.now()))
    route = fake.delete(POSTS, json=nd("deleted"))
    NextdoorAdapter(account()).delete("Gk3xTqWbZ9pL")
    assert query(route.calls[0]) == {"id": "551200901"}
    assert route.calls[0].request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_delete_falls_back_to_the_share_id_and_a_gone_post_is_fine(fake):
    fake.get(POSTS, json={"posts": []})
    route = fake.delete(POSTS, json={"error": "not_found", "error_description": "Post not found."}, status=404)
    NextdoorAdapter(account()).delete("Gk3xTqWbZ9pL")
    assert query(route.calls[0]) == {"id": "Gk3xTqWbZ9pL"}


def test_check_connection_reads_the_agency(fake):
    fake.get(ME, json=nd("me_agency"))
    check = NextdoorAdapter(account()).check_connection()
    assert check.ok
    assert "City of Example Parks and Recreation" in check.message
    fake.replace(responses.GET, ME, json=nd("error_401"), status=401)
    assert not NextdoorAdapter(account()).check_connection().ok


# --- Connecting ------------------------------------------------------------------------------------------


@pytest.fixture
def nextdoor_keys(settings):
    settings.CIVICPOST_NEXTDOOR_CLIENT_ID = "nd-client-id"
    settings.CIVICPOST_NEXTDOOR_CLIENT_SECRET = "nd-client-secret"
    settings.CIVICPOST_PLATFORM_URLS = {}
    return settings


def test_the_sign_in_url_asks_for_the_agency_scopes(nextdoor_keys):
    start = FLOW.start({}, state="st4te", redirect_uri="https://civicpost.city.example/cb/", apps=None)
    assert start.authorize_url.startswith("https://www.nextdoor.com/v3/authorize/?")
    params = {key: values[0] for key, values in parse_qs(start.authorize_url.split("?", 1)[1]).items()}
    assert params == {
        "scope": "openid post:write post:read profile:read agency.boundary:read",
        "client_id": "nd-client-id",
        "redirect_uri": "https://civicpost.city.example/cb/",
        "response_type": "code",
        "state": "st4te",
    }


def test_without_app_keys_the_page_names_the_settings(settings, personas, client):
    from departments.models import Role
    from tests.factories import member

    settings.CIVICPOST_NEXTDOOR_CLIENT_ID = ""
    settings.CIVICPOST_NEXTDOOR_CLIENT_SECRET = ""
    client.force_login(member("ada", personas.parks, Role.ADMIN))
    url = reverse("connections:platform", kwargs={"department_id": personas.parks.pk, "platform": "nextdoor"})
    page = client.get(url)
    assert b"CIVICPOST_NEXTDOOR_CLIENT_ID" in page.content
    response = client.post(url, {})
    assert response.status_code == 200
    assert b"CIVICPOST_NEXTDOOR_CLIENT_SECRET" in response.content


def test_the_code_is_exchanged_with_basic_auth_and_an_agency_account_is_required(fake, nextdoor_keys):
    token_route = fake.post(TOKEN_URL, json=nd("token"))
    fake.get(ME, json=nd("me_agency"))

    account = FLOW.finish(
        code="nd-code", pending={"neighbourhood": ""}, redirect_uri="https://civicpost.city.example/cb/", apps=None
    )

    request = token_route.calls[0].request
    assert parse_qs(request.body) == {
        "grant_type": ["authorization_code"],
        "code": ["nd-code"],
        "redirect_uri": ["https://civicpost.city.example/cb/"],
    }
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"nd-client-id:nd-client-secret").decode()
    assert account.display_name == "City of Example Parks and Recreation"
    assert account.credentials["access_token"] == TOKEN
    assert account.options == {
        "agency_id": "4102",
        "agency_name": "City of Example Parks and Recreation",
        "group_ids": [],
        "neighbourhood": "",
        "target": "all",
    }
    assert account.token_expires_at > timezone.now() + dt.timedelta(days=364)
    assert calls_to(fake, "GET", "/external/api/partner/v1/agency/boundary/") == []

    fake.replace(responses.GET, ME, json=nd("me_neighbor"))
    with pytest.raises(ConnectError, match="not a public agency account"):
        FLOW.finish(code="nd-code", pending={}, redirect_uri="https://civicpost.city.example/cb/", apps=None)


def test_a_refused_code_is_explained(fake, nextdoor_keys):
    fake.post(TOKEN_URL, json={"error": "invalid_grant"}, status=400)
    with pytest.raises(ConnectError, match="did not accept the sign-in"):
        FLOW.finish(code="stale", pending={}, redirect_uri="https://civicpost.city.example/cb/", apps=None)


def boundaries(fake) -> None:
    first = matchers.query_param_matcher({"enable_pagination": "true"})
    second = matchers.query_param_matcher({"enable_pagination": "true", "after": "Y3Vyc29yMg"})
    fake.get(BOUNDARY, json=nd("boundary_page1"), match=[first])
    fake.get(BOUNDARY, json=nd("boundary_page2"), match=[second])


def test_a_neighbourhood_is_found_across_the_boundary_pages(fake, nextdoor_keys):
    fake.post(TOKEN_URL, json=nd("token"))
    fake.get(ME, json=nd("me_agency"))
    boundaries(fake)

    one = FLOW.finish(code="c", pending={"neighbourhood": "hillcrest"}, redirect_uri="https://x/cb/", apps=None)

    assert one.display_name == "City of Example Parks and Recreation — Hillcrest"
    assert (one.options["group_ids"], one.options["target"], one.options["neighbourhood"]) == (
        [51003],
        "51003",
        "Hillcrest",
    )
    assert FLOW.identity(one.options) == "4102|51003"
    with pytest.raises(ConnectError, match="Nextdoor lists: Hillcrest, Old Town, Riverside"):
        FLOW.finish(code="c", pending={"neighbourhood": "Nowhere"}, redirect_uri="https://x/cb/", apps=None)


def test_connecting_through_the_pages_keeps_the_token_encrypted(fake, nextdoor_keys, personas, client):
    from departments.models import Role
    from tests.connections import query_of, raw_column
    from tests.factories import member

    client.force_login(member("ada", personas.parks, Role.ADMIN))
    url = reverse("connections:platform", kwargs={"department_id": personas.parks.pk, "platform": "nextdoor"})
    response = client.post(url, {"neighbourhood": "Old Town"})
    assert response.status_code == 302
    state = query_of(response["Location"])["state"]
    fake.post(TOKEN_URL, json=nd("token"))
    fake.get(ME, json=nd("me_agency"))
    boundaries(fake)

    response = client.get(
        reverse("connections:callback", kwargs={"platform": "nextdoor"}), {"code": "c", "state": state}
    )

    channel = Channel.objects.get(platform="nextdoor")
    assert response["Location"] == reverse("connections:channel", kwargs={"channel_id": channel.pk})
    assert channel.options["group_ids"] == [51002]
    assert channel.credentials["access_token"] == TOKEN
    assert TOKEN not in raw_column("scheduler_channel", "credentials", channel.pk)
    assert TOKEN.encode() not in client.get(response["Location"]).content


# --- Through the dispatcher ------------------------------------------------------------------------------


def test_an_approved_post_is_published_once_through_the_dispatcher(fake, personas, nextdoor_channel):
    fake.post(CREATE, json=nd("post_created"))
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[nextdoor_channel])
    make_due(post)

    tick(times=2)

    assert len(calls_to(fake, "POST", "/external/api/partner/v1/post/create/")) == 1
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id, delivery.permalink) == (
        DeliveryStatus.PUBLISHED,
        "Gk3xTqWbZ9pL",
        SHARE_LINK,
    )


def test_a_dropped_answer_is_reconciled_without_a_second_post(fake, personas, nextdoor_channel):
    fake.post(CREATE, body=requests.exceptions.ReadTimeout())
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[nextdoor_channel])
    make_due(post)
    publishing.dispatch_tick(enqueue=lambda delivery_id: publishing.delivery_publish(delivery_id=delivery_id))
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN
    set_attempt_started(delivery, ago=dt.timedelta(seconds=40))
    fake.get(POSTS, json=recent_posts(text=DEFAULT_TEXT, created=timezone.now() - dt.timedelta(seconds=35)))

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED

    delivery.refresh_from_db()
    assert (delivery.remote_id, delivery.permalink) == ("Gk3xTqWbZ9pL", SHARE_LINK)
    assert len(calls_to(fake, "POST", "/external/api/partner/v1/post/create/")) == 1
