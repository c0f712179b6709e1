"""The LinkedIn Page adapter against `responses` on api.linkedin.com with documented bodies: the exact
POST /rest/posts (three headers, little-text commentary, article and image content), the image upload,
each documented error classified, reconciliation from the organisation's posts, token refresh, delete,
metrics, the connection check, and an approved post through the dispatcher exactly once, with a
dropped answer reconciled without a second post."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import requests
import responses
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from scheduler import publishing
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    CheckAgainLater,
    Duplicate,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.linkedin.adapter import (
    TEXT_LIMIT,
    LinkedInAdapter,
    escape_little_text,
    unescape_little_text,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.models import Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick
from tests.scheduler.adapters.media_helpers import plain_image

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "linkedin"
API = "https://api.linkedin.com"
ORG = "urn:li:organization:2414183"
ORG_ENCODED = "urn%3Ali%3Aorganization%3A2414183"
SHARE = "urn:li:share:7141234567890123456"
SHARE_ENCODED = "urn%3Ali%3Ashare%3A7141234567890123456"
TOKEN = "li-access-token-SECRET"
FAR = "2030-01-01T00:00:00+00:00"


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def account(credentials: dict | None = None) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1,
        display_name="City of Springfield",
        credentials=credentials or {"access_token": TOKEN, "expires_at": FAR},
        options={"organization_urn": ORG, "organization_name": "City of Springfield"},
    )


@pytest.fixture
def fake():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def li_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="linkedin",
        display_name="City of Springfield",
        credentials={"access_token": TOKEN, "expires_at": FAR},
        options={"organization_urn": ORG, "organization_name": "City of Springfield"},
    )


def created(fake, urn: str = SHARE) -> None:
    fake.post(f"{API}/rest/posts", status=201, body="", headers={"x-restli-id": urn})


def assert_rest_headers(call) -> None:  # noqa: ANN001
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["LinkedIn-Version"] == "202607"
    assert call.request.headers["X-Restli-Protocol-Version"] == "2.0.0"


# --- Text ------------------------------------------------------------------------------------------------


def test_reserved_characters_are_escaped_and_hashtags_written_as_little_text():
    text = "Pool (Lincoln Park) opens 10am_sharp! Ask @desk #SummerFun ~ *free*"
    escaped = escape_little_text(text)
    assert escaped == ("Pool \\(Lincoln Park\\) opens 10am\\_sharp! Ask \\@desk {hashtag|\\#|SummerFun} \\~ \\*free\\*")
    assert unescape_little_text(escaped) == text


def test_the_limit_is_3000_characters_and_a_video_goes_alone():
    adapter = LinkedInAdapter(account())
    assert adapter.validate(PostContent(text="x" * TEXT_LIMIT)) == []
    assert "3000 characters" in adapter.validate(PostContent(text="x" * (TEXT_LIMIT + 1)))[0].message
    video = MediaItem(url="https://city.example/v.mp4", mime_type="video/mp4", alt_text="Council meeting")
    assert adapter.validate(PostContent(text="Watch", media=(video,))) == []
    image = MediaItem(url="https://city.example/a.png", mime_type="image/png", alt_text="Agenda")
    [problem] = adapter.validate(PostContent(text="Watch", media=(video, image)))
    assert problem.message == "LinkedIn takes one video or one PDF document on its own, without images."
    no_alt = MediaItem(url="https://city.example/a.png", mime_type="image/png")
    assert "alt text" in adapter.validate(PostContent(text="Hi", media=(no_alt,)))[0].message


# --- Publishing ------------------------------------------------------------------------------------------


def test_a_text_post_is_sent_with_the_documented_body_and_the_urn_comes_from_x_restli_id(fake):
    created(fake)
    result = LinkedInAdapter(account()).publish(PostContent(text="Pools open #summer"), idempotency_key="k")

    [call] = fake.calls
    assert (call.request.method, call.request.url) == ("POST", f"{API}/rest/posts")
    assert_rest_headers(call)
    assert json.loads(call.request.body) == {
        "author": ORG,
        "commentary": "Pools open {hashtag|\\#|summer}",
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert result.remote_id == SHARE
    assert result.permalink == f"https://www.linkedin.com/feed/update/{SHARE}/"


def test_a_link_becomes_an_article(fake):
    created(fake)
    LinkedInAdapter(account()).publish(
        PostContent(text="Budget hearing tonight\nDetails inside", link="https://city.example/budget"),
        idempotency_key="k",
    )
    body = json.loads(fake.calls[0].request.body)
    assert body["commentary"] == "Budget hearing tonight\nDetails inside"
    assert body["content"] == {"article": {"source": "https://city.example/budget", "title": "Budget hearing tonight"}}


def test_an_image_is_initialised_uploaded_then_attached_with_its_alt_text(fake, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    png = plain_image("PNG", (40, 30))
    item = MediaItem(
        url="https://city.example/media/splash.png",
        mime_type="image/png",
        alt_text="Children at the splash pad",
        path=default_storage.save("posts/splash.png", ContentFile(png)),
        width=40,
        height=30,
        size_bytes=len(png),
    )
    init = fixture("image_initialized")
    fake.post(f"{API}/rest/images?action=initializeUpload", json=init)
    fake.put(init["value"]["uploadUrl"], status=201)
    created(fake)

    LinkedInAdapter(account()).publish(PostContent(text="Splash!", media=(item,)), idempotency_key="k")

    initialise, upload, post = fake.calls
    assert json.loads(initialise.request.body) == {"initializeUploadRequest": {"owner": ORG}}
    assert_rest_headers(initialise)
    assert upload.request.method == "PUT"
    assert upload.request.body == png
    assert json.loads(post.request.body)["content"] == {
        "media": {"id": "urn:li:image:D4E10AQH4GJAjaFCkHQ", "altText": "Children at the splash pad"}
    }


@pytest.mark.parametrize(
    ("status", "name", "error", "code"),
    [
        (401, "unauthorized", AuthExpired, "linkedin_unauthorized"),
        (403, "forbidden", AuthExpired, "linkedin_forbidden"),
        (422, "duplicate_post", Duplicate, "linkedin_duplicate"),
        (400, "bad_request", PublishError, "linkedin_http_400"),
        (426, "version_sunset", PublishError, "linkedin_version_sunset"),
        (429, "throttled", RateLimited, "linkedin_rate_limited"),
        (500, None, OutcomeUnknown, ""),
    ],
)
def test_each_documented_error_is_classified(fake, status, name, error, code):
    kwargs = {"json": fixture(name)} if name else {"body": "upstream"}
    fake.post(f"{API}/rest/posts", status=status, **kwargs)
    with pytest.raises(error) as raised:
        LinkedInAdapter(account()).publish(PostContent(text="Hi"), idempotency_key="k")
    assert raised.value.code == code
    if isinstance(raised.value, PublishError):
        assert raised.value.permanent is True
    if isinstance(raised.value, Duplicate):
        assert raised.value.existing.remote_id == SHARE


def test_a_read_timeout_while_posting_is_an_unknown_outcome_and_a_refused_connection_is_retried(fake):
    fake.post(f"{API}/rest/posts", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        LinkedInAdapter(account()).publish(PostContent(text="Hi"), idempotency_key="k")
    fake.replace(responses.POST, f"{API}/rest/posts", body=requests.ConnectTimeout("connect timed out"))
    with pytest.raises(PublishError) as raised:
        LinkedInAdapter(account()).publish(PostContent(text="Hi"), idempotency_key="k")
    assert raised.value.permanent is False


def test_a_401_is_renewed_once_with_the_refresh_token_then_repeated(fake, settings):
    settings.CIVICPOST_LINKEDIN_CLIENT_ID = "li-client"
    settings.CIVICPOST_LINKEDIN_CLIENT_SECRET = "li-secret"
    fake.post(f"{API}/rest/posts", status=401, json=fixture("unauthorized"))
    fake.post("https://www.linkedin.com/oauth/v2/accessToken", json={**fixture("token"), "access_token": "new-token"})
    fake.post(f"{API}/rest/posts", status=201, body="", headers={"x-restli-id": SHARE})
    adapter = LinkedInAdapter(account({"access_token": TOKEN, "expires_at": FAR, "refresh_token": "r1"}))

    assert adapter.publish(PostContent(text="Hi"), idempotency_key="k").remote_id == SHARE

    refresh = fake.calls[1].request
    assert dict(x.split("=") for x in refresh.body.split("&")) == {
        "grant_type": "refresh_token",
        "refresh_token": "r1",
        "client_id": "li-client",
        "client_secret": "li-secret",
    }
    assert fake.calls[2].request.headers["Authorization"] == "Bearer new-token"
    assert adapter.updated_credentials["access_token"] == "new-token"
    assert adapter.updated_credentials["refresh_token"] == "li-refresh-token-SECRET"


def test_an_expired_token_without_refresh_token_needs_reconnecting_without_calling_linkedin(fake):
    adapter = LinkedInAdapter(account({"access_token": TOKEN, "expires_at": "2020-01-01T00:00:00+00:00"}))
    with pytest.raises(AuthExpired):
        adapter.publish(PostContent(text="Hi"), idempotency_key="k")
    assert len(fake.calls) == 0


# --- Reconcile, delete, metrics, connection ---------------------------------------------------------------


def listing(*elements: dict) -> dict:
    return {"paging": {"start": 0, "count": 50}, "elements": list(elements)}


def element(urn: str, commentary: str, at: dt.datetime) -> dict:
    return {"id": urn, "author": ORG, "commentary": commentary, "createdAt": int(at.timestamp() * 1000)}


def test_reconcile_finds_the_post_by_its_text_among_the_organisations_posts(fake):
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    fake.get(
        f"{API}/rest/posts",
        json=listing(
            element("urn:li:share:1", "Another post", sent_at),
            element(SHARE, escape_little_text("Pool (Lincoln) #open"), sent_at + dt.timedelta(seconds=2)),
        ),
    )
    found = LinkedInAdapter(account()).reconcile(
        PostContent(text="Pool (Lincoln) #open"), idempotency_key="k", sent_at=sent_at
    )
    assert found.remote_id == SHARE
    assert fake.calls[0].request.url == (f"{API}/rest/posts?author={ORG_ENCODED}&q=author&count=50&sortBy=CREATED")


def test_reconcile_waits_before_calling_a_post_absent(fake):
    fake.get(f"{API}/rest/posts", json=listing())
    adapter = LinkedInAdapter(account())
    with pytest.raises(CheckAgainLater):
        adapter.reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=timezone.now())
    assert (
        adapter.reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=timezone.now() - dt.timedelta(minutes=5))
        is None
    )


def test_delete_removes_the_post_and_a_missing_one_is_already_gone(fake):
    fake.delete(f"{API}/rest/posts/{SHARE_ENCODED}", status=204)
    fake.delete(f"{API}/rest/posts/urn%3Ali%3Ashare%3A9", status=404, json={"status": 404, "message": "Not found"})
    adapter = LinkedInAdapter(account())
    adapter.delete(SHARE)
    adapter.delete("urn:li:share:9")
    assert_rest_headers(fake.calls[0])


def test_metrics_and_connection_check(fake):
    fake.get(f"{API}/rest/socialActions/{SHARE_ENCODED}", json=fixture("social_actions"))
    fake.get(f"{API}/rest/organizations/2414183", json=fixture("organization_2414183"))
    adapter = LinkedInAdapter(account())
    assert adapter.fetch_metrics(SHARE) == {"likes": 42, "replies": 7}
    check = adapter.check_connection()
    assert (check.ok, check.message) == (True, "Connected to the LinkedIn Page City of Springfield.")
    fake.replace(responses.GET, f"{API}/rest/organizations/2414183", status=403, json=fixture("forbidden"))
    assert LinkedInAdapter(account()).check_connection().ok is False


# --- Through the dispatcher ------------------------------------------------------------------------------


def test_an_approved_post_is_published_once_through_the_dispatcher(fake, personas, li_channel):
    assert isinstance(adapter_for_channel(li_channel), LinkedInAdapter)
    created(fake)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[li_channel])
    make_due(post)

    tick(times=2)

    assert len([c for c in fake.calls if c.request.method == "POST"]) == 1
    delivery = Delivery.objects.get(post=post)
    assert (delivery.status, delivery.remote_id) == (DeliveryStatus.PUBLISHED, SHARE)


def test_a_dropped_answer_is_reconciled_without_a_second_post(fake, personas, li_channel):
    fake.post(f"{API}/rest/posts", body=requests.ReadTimeout("read timed out"))
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[li_channel])
    make_due(post)
    tick()
    delivery = Delivery.objects.get(post=post)
    assert delivery.status == DeliveryStatus.UNKNOWN

    fake.get(f"{API}/rest/posts", json=listing(element(SHARE, escape_little_text(DEFAULT_TEXT), timezone.now())))
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    delivery.refresh_from_db()
    assert delivery.remote_id == SHARE
    assert len([c for c in fake.calls if c.request.method == "POST"]) == 1


def test_two_images_become_a_multi_image_post(fake, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    items = []
    for number in (1, 2):
        png = plain_image("PNG", (30 + number, 30))
        items.append(
            MediaItem(
                url=f"https://city.example/media/{number}.png",
                mime_type="image/png",
                alt_text=f"Photo {number}",
                path=default_storage.save(f"posts/{number}.png", ContentFile(png)),
                width=30 + number,
                height=30,
                size_bytes=len(png),
            )
        )
    first = fixture("image_initialized")
    second = {
        "value": {
            **first["value"],
            "uploadUrl": "https://www.linkedin.com/dms-uploads/two",
            "image": "urn:li:image:TWO",
        }
    }
    fake.post(f"{API}/rest/images?action=initializeUpload", json=first)
    fake.post(f"{API}/rest/images?action=initializeUpload", json=second)
    fake.put(first["value"]["uploadUrl"], status=201)
    fake.put(second["value"]["uploadUrl"], status=201)
    created(fake)

    LinkedInAdapter(account()).publish(
        PostContent(text="Two photos", link="https://city.example/a", media=tuple(items)), idempotency_key="k"
    )

    body = json.loads(fake.calls[-1].request.body)
    assert body["commentary"] == "Two photos\n\nhttps://city.example/a"
    assert body["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:D4E10AQH4GJAjaFCkHQ", "altText": "Photo 1"},
                {"id": "urn:li:image:TWO", "altText": "Photo 2"},
            ]
        }
    }


def test_without_a_refresh_token_the_periodic_refresher_is_told_to_wait_not_to_disconnect(fake):
    adapter = LinkedInAdapter(account())
    with pytest.raises(PublishError) as raised:
        adapter.refresh_credentials()
    assert (raised.value.permanent, raised.value.code) == (False, "linkedin_no_refresh")
    assert "reconnect the Page before 2030-01-01" in raised.value.message
    expired = LinkedInAdapter(account({"access_token": TOKEN, "expires_at": "2020-01-01T00:00:00+00:00"}))
    with pytest.raises(AuthExpired):
        expired.refresh_credentials()
    assert len(fake.calls) == 0
