"""The X adapter with the real tweepy client against `responses` (tweepy's hard-coded
https://api.twitter.com, and https://api.x.com for our own media and token calls), and one run
through the dispatcher against a local fake X server (pytest-httpserver)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from responses import matchers

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
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.x.adapter import XAdapter, weighted_length
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, tick

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "x"
TWEETS_URL = "https://api.twitter.com/2/tweets"
MEDIA_URL = "https://api.x.com/2/media/upload"
METADATA_URL = "https://api.x.com/2/media/metadata"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
TWEET_ID = "1850000000000000001"

OAUTH2 = {
    "access_token": "b2F1dGgyLXVzZXItdG9rZW4",
    "refresh_token": "b2xkLXJlZnJlc2gtdG9rZW4",
    "expires_at": "2099-01-01T00:00:00+00:00",
    "x_user_id": "2244994945",
    "username": "CityParks",
}
USER_TWEETS_URL = f"https://api.twitter.com/2/users/{OAUTH2['x_user_id']}/tweets"
OAUTH1 = {
    "access_token": "2244994945-aBcDeFgHiJkLmNoPqRsTuVwXyZ",
    "access_token_secret": "oauth1-access-token-secret",
    "x_user_id": "2244994945",
    "username": "CityParks",
}
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def x_account(credentials: dict | None = None, **options) -> ChannelAccount:
    return ChannelAccount(
        channel_id=1, display_name="Parks on X", credentials=dict(credentials or OAUTH2), options=options
    )


@pytest.fixture(autouse=True)
def x_app_keys(settings):
    settings.CIVICPOST_X_CONSUMER_KEY = "consumer-key"
    settings.CIVICPOST_X_CONSUMER_SECRET = "consumer-secret"
    settings.CIVICPOST_X_CLIENT_ID = "client-id"
    settings.CIVICPOST_X_CLIENT_SECRET = ""
    settings.CIVICPOST_PLATFORM_URLS = {}


@pytest.fixture
def x_channel(personas):
    return ChannelFactory(
        department=personas.parks,
        platform="x",
        display_name="Parks on X",
        account_handle="@CityParks",
        credentials=dict(OAUTH2),
    )


def due_x_delivery(personas, channel, text: str = DEFAULT_TEXT) -> Delivery:
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel], text=text)
    make_due(post)
    return post.deliveries.get()


def publish_through_pipeline(delivery: Delivery) -> Delivery:
    """Claims the due delivery and sends it with delivery_publish, as a worker would."""
    assert publishing.deliveries_claim_due() == [delivery.pk]
    publishing.delivery_publish(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


# --- Length: platforms.md §2.5 ------------------------------------------------------------------


def test_a_url_counts_23_however_long_it_is():
    long_url = "https://www.cityofexample.gov/parks-and-recreation/aquatics/splash-pads?season=summer-2027"
    assert weighted_length(long_url) == 23
    assert weighted_length(f"Pools: {long_url}") == 7 + 23


def test_an_emoji_and_a_cjk_character_each_count_2():
    assert weighted_length("🌊") == 2
    assert weighted_length("日") == 2
    assert weighted_length("Open 🌊 日本") == 5 + 2 + 1 + 4


def test_280_weighted_characters_is_the_limit():
    adapter = XAdapter(x_account())
    at_limit = adapter.text_length(PostContent(text="a" * 280))
    assert (at_limit.used, at_limit.limit, at_limit.over_by) == (280, 280, 0)
    assert adapter.validate(PostContent(text="a" * 280)) == []

    assert adapter.text_length(PostContent(text="😀" * 140)).over_by == 0
    assert adapter.text_length(PostContent(text="😀" * 141)).over_by == 2
    assert adapter.text_length(PostContent(text="日本語" * 47)).used == 282

    over = adapter.validate(PostContent(text="a" * 281))
    assert [p.message for p in over] == ["X allows 280 characters; this post has 281 (1 too many)."]


def test_the_link_is_counted_as_23_after_a_blank_line():
    adapter = XAdapter(x_account())
    content = PostContent(text="a" * 255, link="https://www.cityofexample.gov/parks/aquatics/pool-schedule-2027")
    assert adapter.text_length(content).used == 255 + 2 + 23 == 280


def test_images_need_alt_text_and_x_takes_four_images_but_no_video():
    adapter = XAdapter(x_account())
    ok = MediaItem(url="https://city.example/m/a.png", mime_type="image/png", alt_text="A splash pad", path="a.png")
    assert adapter.validate(PostContent(text="Hi", media=(ok,) * 4)) == []
    problems = [
        p.message
        for p in adapter.validate(
            PostContent(
                text="Hi",
                media=(
                    ok,
                    ok,
                    ok,
                    MediaItem(url="u", mime_type="image/png", alt_text=""),
                    MediaItem(url="u", mime_type="video/mp4", alt_text="Video"),
                    MediaItem(url="u", mime_type="image/jpeg", alt_text="Big", size_bytes=6 * 1024 * 1024),
                ),
            )
        )
    ]
    assert "X takes at most 4 images per post." in problems
    assert any("alt text" in p for p in problems)
    assert "An X post takes one video on its own, without images or a second video." in problems
    assert not any("MB" in p for p in problems)  # a large image is made to fit at publish time


def test_tweepy_logger_never_logs_at_debug():
    """tweepy logs `Authorization: Bearer ...` at DEBUG (platforms.md §1.5)."""
    XAdapter(x_account()).client()
    assert logging.getLogger("tweepy").getEffectiveLevel() >= logging.INFO
    assert logging.getLogger("tweepy.client").getEffectiveLevel() >= logging.INFO
    assert XAdapter(x_account()).client().wait_on_rate_limit is False


# --- Publishing: exact requests -----------------------------------------------------------------


@responses.activate
def test_oauth2_publish_sends_the_text_with_the_users_bearer_token():
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)
    result = XAdapter(x_account()).publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k")

    (call,) = responses.calls
    assert json.loads(call.request.body) == {"text": DEFAULT_TEXT}
    assert call.request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"
    assert call.request.headers["User-Agent"].startswith("CivicPost/1.0")
    assert result.remote_id == TWEET_ID
    assert result.permalink == f"https://x.com/CityParks/status/{TWEET_ID}"
    assert result.raw["data"]["id"] == TWEET_ID


@responses.activate
def test_oauth1_publish_is_signed_with_the_app_and_account_keys():
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)
    content = PostContent(text="Pools open at noon.", link="https://city.example/pools")
    XAdapter(x_account(OAUTH1)).publish(content, idempotency_key="k")

    (call,) = responses.calls
    assert json.loads(call.request.body) == {"text": "Pools open at noon.\n\nhttps://city.example/pools"}
    authorization = call.request.headers["Authorization"]
    authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
    assert authorization.startswith("OAuth ")
    assert 'oauth_consumer_key="consumer-key"' in authorization
    assert f'oauth_token="{OAUTH1["access_token"]}"' in authorization
    assert 'oauth_signature_method="HMAC-SHA1"' in authorization
    assert "oauth_signature=" in authorization
    assert "Bearer" not in authorization


def test_oauth1_without_app_keys_asks_for_setup_instead_of_calling_x(settings):
    settings.CIVICPOST_X_CONSUMER_KEY = ""
    with pytest.raises(AuthExpired, match="CIVICPOST_X_CONSUMER_KEY"):
        XAdapter(x_account(OAUTH1)).publish(PostContent(text="Hi"), idempotency_key="k")


@pytest.fixture
def stored_image(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    name = default_storage.save("posts/splash.png", ContentFile(PNG_1X1))
    return MediaItem(
        url="https://city.example/media/posts/splash.png",
        mime_type="image/png",
        alt_text="Children running through the splash pad at Lincoln Park.",
        path=name,
        size_bytes=len(PNG_1X1),
    )


@responses.activate
def test_images_are_uploaded_to_the_v2_media_endpoint_with_alt_text_then_attached(stored_image):
    responses.post(MEDIA_URL, json=fixture("media_upload_200.json"))
    responses.post(
        METADATA_URL,
        json=fixture("media_metadata_200.json"),
        match=[
            matchers.json_params_matcher(
                {"id": "1880000000000000001", "metadata": {"alt_text": {"text": stored_image.alt_text}}}
            )
        ],
    )
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)

    result = XAdapter(x_account()).publish(PostContent(text=DEFAULT_TEXT, media=(stored_image,)), idempotency_key="k")

    upload, metadata, create = responses.calls
    assert upload.request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert upload.request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"
    assert b'name="media_category"\r\n\r\ntweet_image' in upload.request.body
    assert b'name="media"; filename="splash.png"\r\nContent-Type: image/png\r\n\r\n' + PNG_1X1 in upload.request.body
    assert metadata.request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"
    assert json.loads(create.request.body) == {"text": DEFAULT_TEXT, "media": {"media_ids": ["1880000000000000001"]}}
    assert result.raw["media_ids"] == ["1880000000000000001"]


@responses.activate
def test_oauth1_media_upload_is_signed_too(stored_image):
    responses.post(MEDIA_URL, json=fixture("media_upload_200.json"))
    responses.post(METADATA_URL, json=fixture("media_metadata_200.json"))
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)
    XAdapter(x_account(OAUTH1)).publish(PostContent(text="Hi", media=(stored_image,)), idempotency_key="k")
    for call in responses.calls:
        authorization = call.request.headers["Authorization"]
        authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
        assert authorization.startswith("OAuth ") and 'oauth_consumer_key="consumer-key"' in authorization


@responses.activate
def test_a_stored_file_that_is_not_an_image_is_refused_before_anything_is_sent(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    name = default_storage.save("posts/huge.png", ContentFile(b"\0" * (5 * 1024 * 1024 + 1)))
    big = MediaItem(url="u", mime_type="image/png", alt_text="Big", path=name)
    with pytest.raises(PublishError) as caught:
        XAdapter(x_account()).publish(PostContent(text="Hi", media=(big,)), idempotency_key="k")
    assert caught.value.permanent
    assert caught.value.message == "The stored image could not be read; upload it to the media library again."
    assert not responses.calls


@responses.activate
def test_a_failed_media_upload_is_safe_to_retry_because_nothing_was_posted(stored_image):
    responses.post(MEDIA_URL, json=fixture("service_unavailable_503.json"), status=503)
    with pytest.raises(PublishError) as caught:
        XAdapter(x_account()).publish(PostContent(text="Hi", media=(stored_image,)), idempotency_key="k")
    assert caught.value.permanent is False
    assert [c.request.url for c in responses.calls] == [MEDIA_URL]


# --- Error classification, unit level (platforms.md §2.8) ---------------------------------------


@responses.activate
@pytest.mark.parametrize(
    ("status", "body", "expected", "check"),
    [
        (403, "duplicate_content_403.json", Duplicate, lambda e: e.existing is None),
        (
            403,
            "client_not_enrolled_403.json",
            PublishError,
            lambda e: e.permanent and "Twitter developer App" in e.message,
        ),
        (403, "oauth1_permissions_403.json", AuthExpired, lambda e: e.code == "x_permission_missing"),
        (403, "suspended_403.json", AuthExpired, lambda e: e.code == "x_suspended"),
        (400, "invalid_request_400.json", PublishError, lambda e: e.permanent and "media IDs are invalid" in e.message),
        (503, "service_unavailable_503.json", OutcomeUnknown, lambda e: e.raw["status"] == 503),
    ],
)
def test_each_documented_error_maps_onto_the_shared_vocabulary(status, body, expected, check):
    responses.post(TWEETS_URL, json=fixture(body), status=status)
    with pytest.raises(expected) as caught:
        XAdapter(x_account()).publish(PostContent(text=DEFAULT_TEXT), idempotency_key="k")
    assert check(caught.value)


@responses.activate
def test_429_waits_until_the_reset_time_x_gives():
    reset = int(time.time()) + 600
    responses.post(
        TWEETS_URL,
        json=fixture("too_many_requests_429.json"),
        status=429,
        headers={"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as caught:
        XAdapter(x_account()).publish(PostContent(text="Hi"), idempotency_key="k")
    assert 590 <= caught.value.retry_after <= 600
    assert caught.value.raw["headers"]["x-rate-limit-reset"] == str(reset)


@responses.activate
def test_401_with_oauth1_means_reconnect():
    responses.post(TWEETS_URL, json=fixture("unauthorized_401.json"), status=401)
    with pytest.raises(AuthExpired):
        XAdapter(x_account(OAUTH1)).publish(PostContent(text="Hi"), idempotency_key="k")
    assert len(responses.calls) == 1


@responses.activate
def test_401_with_oauth2_renews_the_token_once_and_hands_back_the_new_credentials():
    responses.post(TWEETS_URL, json=fixture("unauthorized_401.json"), status=401)
    responses.post(TOKEN_URL, json=fixture("oauth2_token_200.json"))
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)

    adapter = XAdapter(x_account())
    result = adapter.publish(PostContent(text="Hi"), idempotency_key="k")

    first, refresh, second = responses.calls
    assert first.request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"
    assert parse_qs(refresh.request.body) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [OAUTH2["refresh_token"]],
        "client_id": ["client-id"],
    }
    assert "Authorization" not in refresh.request.headers  # a public PKCE client: no client secret
    assert second.request.headers["Authorization"] == "Bearer bmV3LWFjY2Vzcy10b2tlbg"
    assert result.remote_id == TWEET_ID
    new = adapter.updated_credentials
    assert new["access_token"] == "bmV3LWFjY2Vzcy10b2tlbg"
    assert new["refresh_token"] == "bmV3LXJlZnJlc2gtdG9rZW4"  # X rotates it: the old one is dead now
    assert dt.datetime.fromisoformat(new["expires_at"]) > timezone.now() + dt.timedelta(minutes=119)
    assert (new["x_user_id"], new["username"]) == (OAUTH2["x_user_id"], OAUTH2["username"])


@responses.activate
def test_a_confidential_client_renews_with_http_basic_auth(settings):
    settings.CIVICPOST_X_CLIENT_SECRET = "client-secret"
    responses.post(TOKEN_URL, json=fixture("oauth2_token_200.json"))
    XAdapter(x_account()).refresh_credentials()
    assert responses.calls[0].request.headers["Authorization"].startswith("Basic ")


@responses.activate
def test_an_expired_oauth2_token_is_renewed_before_posting():
    responses.post(TOKEN_URL, json=fixture("oauth2_token_200.json"))
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)
    expired = {**OAUTH2, "expires_at": (timezone.now() - dt.timedelta(minutes=5)).isoformat()}
    adapter = XAdapter(x_account(expired))
    adapter.publish(PostContent(text="Hi"), idempotency_key="k")
    assert [c.request.url for c in responses.calls] == [TOKEN_URL, TWEETS_URL]
    assert responses.calls[1].request.headers["Authorization"] == "Bearer bmV3LWFjY2Vzcy10b2tlbg"
    assert adapter.updated_credentials is not None


@responses.activate
def test_a_refused_refresh_means_reconnect():
    responses.post(TWEETS_URL, json=fixture("unauthorized_401.json"), status=401)
    responses.post(TOKEN_URL, json=fixture("oauth2_invalid_grant_400.json"), status=400)
    adapter = XAdapter(x_account())
    with pytest.raises(AuthExpired, match="reconnect"):
        adapter.publish(PostContent(text="Hi"), idempotency_key="k")
    assert adapter.updated_credentials is None
    assert len(responses.calls) == 2


@responses.activate
def test_a_read_timeout_while_posting_is_an_unknown_outcome():
    responses.post(TWEETS_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(OutcomeUnknown):
        XAdapter(x_account()).publish(PostContent(text="Hi"), idempotency_key="k")


def test_a_refused_connection_is_safe_to_retry(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CIVICPOST_PLATFORM_URLS = {"x": f"http://127.0.0.1:{port}"}
    with pytest.raises(PublishError) as caught:
        XAdapter(x_account()).publish(PostContent(text="Hi"), idempotency_key="k")
    assert caught.value.permanent is False
    assert "nothing was sent" in caught.value.message


# --- Each error through delivery_publish: the delivery's state ----------------------------------


@responses.activate
def test_published_delivery_gets_the_tweet_id_and_permalink(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("create_tweet_201.json"), status=201)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert (delivery.remote_id, delivery.permalink) == (TWEET_ID, f"https://x.com/CityParks/status/{TWEET_ID}")


@responses.activate
def test_duplicate_content_needs_a_person_and_is_never_resent(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("duplicate_content_403.json"), status=403)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.NEEDS_ATTENTION
    assert "already there" in delivery.failure_message
    assert len(responses.calls) == 1


@responses.activate
def test_forbidden_for_the_app_fails_with_xs_message(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("client_not_enrolled_403.json"), status=403)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.FAILED
    assert "developer App that is attached to a Project" in delivery.failure_message


@responses.activate
def test_bad_request_fails_without_retrying(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("invalid_request_400.json"), status=400)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.FAILED
    assert "media IDs are invalid" in delivery.failure_message


@responses.activate
def test_missing_write_permission_holds_the_delivery_and_asks_for_reconnect(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("oauth1_permissions_403.json"), status=403)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    x_channel.refresh_from_db()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert x_channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "permission" in x_channel.status_message


@responses.activate
def test_revoked_oauth1_access_holds_the_delivery_and_asks_for_reconnect(personas, x_channel):
    x_channel.credentials = dict(OAUTH1)
    x_channel.save()
    responses.post(TWEETS_URL, json=fixture("unauthorized_401.json"), status=401)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    x_channel.refresh_from_db()
    assert (delivery.status, x_channel.status) == (DeliveryStatus.SCHEDULED, ChannelStatus.NEEDS_RECONNECT)


@responses.activate
def test_rate_limit_waits_for_xs_reset_time(personas, x_channel):
    reset = int(time.time()) + 900
    responses.post(
        TWEETS_URL, json=fixture("too_many_requests_429.json"), status=429, headers={"x-rate-limit-reset": str(reset)}
    )
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.RETRY_WAIT
    expected = dt.datetime.fromtimestamp(reset, tz=dt.UTC)
    assert abs((delivery.next_attempt_at - expected).total_seconds()) < 10


@responses.activate
def test_server_error_while_posting_leaves_the_outcome_unknown(personas, x_channel):
    responses.post(TWEETS_URL, json=fixture("service_unavailable_503.json"), status=503)
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.UNKNOWN


@responses.activate
def test_timeout_while_posting_leaves_the_outcome_unknown(personas, x_channel):
    responses.post(TWEETS_URL, body=requests.ReadTimeout("read timed out"))
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.UNKNOWN


def test_refused_connection_waits_and_retries(personas, x_channel, settings):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CIVICPOST_PLATFORM_URLS = {"x": f"http://127.0.0.1:{port}"}
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.RETRY_WAIT


# --- Reconcile: recent posts matched on text ----------------------------------------------------


@responses.activate
def test_reconcile_finds_the_post_even_though_x_rewrote_the_link():
    sent_at = timezone.now() - dt.timedelta(seconds=30)
    responses.get(USER_TWEETS_URL, json=fixture("users_tweets_200.json"))
    content = PostContent(text=DEFAULT_TEXT, link="https://city.example/splash-pads")

    found = XAdapter(x_account()).reconcile(content, idempotency_key="k", sent_at=sent_at)

    assert found.remote_id == TWEET_ID
    assert found.permalink == f"https://x.com/CityParks/status/{TWEET_ID}"
    params = parse_qs(urlsplit(responses.calls[0].request.url).query)
    start = (sent_at - dt.timedelta(minutes=2)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Sent 30 seconds ago: the window ends now, so no end_time (X takes none in the future).
    assert params == {
        "start_time": [start],
        "max_results": ["100"],
        "exclude": ["retweets,replies"],
        "tweet.fields": ["created_at"],
    }
    assert responses.calls[0].request.headers["Authorization"] == f"Bearer {OAUTH2['access_token']}"


@responses.activate
def test_reconcile_says_absent_once_x_has_had_time_to_show_the_post():
    responses.get(USER_TWEETS_URL, json=fixture("users_tweets_empty_200.json"))
    sent_at = timezone.now() - dt.timedelta(minutes=5)
    assert XAdapter(x_account()).reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=sent_at) is None


@responses.activate
def test_reconcile_cannot_tell_right_after_sending():
    responses.get(USER_TWEETS_URL, json=fixture("users_tweets_200.json"))
    sent_at = timezone.now() - dt.timedelta(seconds=20)
    with pytest.raises(OutcomeUnknown):
        XAdapter(x_account()).reconcile(PostContent(text="Something else"), idempotency_key="k", sent_at=sent_at)


def tweets_page(tweets: list[tuple[str, str]], *, next_token: str | None = None) -> dict:
    meta: dict = {"result_count": len(tweets)}
    if tweets:
        meta.update(newest_id=tweets[0][0], oldest_id=tweets[-1][0])
    if next_token:
        meta["next_token"] = next_token
    body: dict = {"meta": meta}
    if tweets:
        body["data"] = [{"id": i, "text": t, "edit_history_tweet_ids": [i]} for i, t in tweets]
    return body


def newer_tweets(count: int, first: int = 1850000000000000500) -> list[tuple[str, str]]:
    return [(str(first + count - n), f"Pool update {n}") for n in range(count)]


def token_matcher(token: str):
    return matchers.query_param_matcher({"pagination_token": token}, strict_match=False)


@responses.activate
def test_reconcile_sends_a_window_around_the_send_and_follows_next_token():
    sent_at = timezone.now() - dt.timedelta(minutes=30)
    responses.get(
        USER_TWEETS_URL,
        match=[token_matcher("7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i")],
        json=tweets_page([(TWEET_ID, DEFAULT_TEXT)]),
    )
    responses.get(
        USER_TWEETS_URL, json=tweets_page(newer_tweets(30), next_token="7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i")
    )

    found = XAdapter(x_account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    assert found.remote_id == TWEET_ID
    first, second = (parse_qs(urlsplit(call.request.url).query) for call in responses.calls)
    utc = sent_at.astimezone(dt.UTC)
    window = {
        "start_time": [(utc - dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")],
        "end_time": [(utc + dt.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")],
        "max_results": ["100"],
        "exclude": ["retweets,replies"],
        "tweet.fields": ["created_at"],
    }
    assert first == window
    assert second == {**window, "pagination_token": ["7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"]}


@responses.activate
def test_thirty_newer_posts_do_not_make_a_sent_post_look_absent():
    """The chaos run's duplicate: the old single page of 20 held only newer posts, so reconcile said absent."""
    sent_at = timezone.now() - dt.timedelta(minutes=5)
    newer = newer_tweets(30)
    responses.get(
        USER_TWEETS_URL, match=[token_matcher("p2")], json=tweets_page(newer[20:] + [(TWEET_ID, DEFAULT_TEXT)])
    )
    responses.get(USER_TWEETS_URL, json=tweets_page(newer[:20], next_token="p2"))

    found = XAdapter(x_account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    assert found is not None
    assert found.remote_id == TWEET_ID
    assert len(responses.calls) == 2


@responses.activate
def test_absence_is_proved_only_after_every_page_of_the_window_was_read():
    sent_at = timezone.now() - dt.timedelta(minutes=5)
    newer = newer_tweets(30)
    responses.get(USER_TWEETS_URL, match=[token_matcher("p2")], json=tweets_page(newer[20:]))
    responses.get(USER_TWEETS_URL, json=tweets_page(newer[:20], next_token="p2"))

    assert XAdapter(x_account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at) is None
    assert len(responses.calls) == 2


@responses.activate
def test_a_window_with_more_pages_than_the_cap_needs_a_person_not_a_resend(monkeypatch):
    from scheduler.adapters.x import adapter as x

    monkeypatch.setattr(x, "RECONCILE_MAX_PAGES", 3)
    sent_at = timezone.now() - dt.timedelta(minutes=30)
    for page in (2, 3):
        responses.get(
            USER_TWEETS_URL,
            match=[token_matcher(f"p{page}")],
            json=tweets_page(newer_tweets(5, first=1850000000000000500 + 10 * page), next_token=f"p{page + 1}"),
        )
    responses.get(USER_TWEETS_URL, json=tweets_page(newer_tweets(5), next_token="p2"))

    with pytest.raises(OutcomeUnknown, match="check the account before posting again") as raised:
        XAdapter(x_account()).reconcile(PostContent(text=DEFAULT_TEXT), idempotency_key="k", sent_at=sent_at)

    assert not isinstance(raised.value, CheckAgainLater)
    assert len(responses.calls) == 3


@responses.activate
def test_unknown_delivery_with_a_busy_window_goes_to_a_person(personas, x_channel, monkeypatch):
    from scheduler.adapters.x import adapter as x

    monkeypatch.setattr(x, "RECONCILE_MAX_PAGES", 1)
    responses.post(TWEETS_URL, body=requests.ReadTimeout("read timed out"))
    responses.get(USER_TWEETS_URL, json=tweets_page(newer_tweets(5), next_token="p2"))
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    delivery.attempt_log.update(started_at=timezone.now() - dt.timedelta(minutes=5))

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.NEEDS_ATTENTION
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


@responses.activate
def test_unknown_delivery_is_reconciled_to_published(personas, x_channel):
    responses.post(TWEETS_URL, body=requests.ReadTimeout("read timed out"))
    responses.get(USER_TWEETS_URL, json=fixture("users_tweets_200.json"))
    delivery = publish_through_pipeline(due_x_delivery(personas, x_channel))
    assert delivery.status == DeliveryStatus.UNKNOWN

    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.PUBLISHED
    delivery.refresh_from_db()
    assert (delivery.remote_id, delivery.permalink) == (TWEET_ID, f"https://x.com/CityParks/status/{TWEET_ID}")
    assert len([c for c in responses.calls if c.request.method == "POST"]) == 1


# --- Delete, metrics, connection ----------------------------------------------------------------


@responses.activate
def test_delete_removes_the_tweet_and_a_missing_one_is_already_gone():
    responses.delete(f"{TWEETS_URL}/{TWEET_ID}", json=fixture("delete_tweet_200.json"))
    responses.delete(f"{TWEETS_URL}/404", json=fixture("tweet_not_found_404.json"), status=404)
    adapter = XAdapter(x_account(OAUTH1))
    adapter.delete(TWEET_ID)
    adapter.delete("404")
    assert [c.request.method for c in responses.calls] == ["DELETE", "DELETE"]


@responses.activate
def test_metrics_come_from_public_metrics():
    responses.get(f"{TWEETS_URL}/{TWEET_ID}", json=fixture("tweet_metrics_200.json"))
    metrics = XAdapter(x_account()).fetch_metrics(TWEET_ID)
    assert metrics == {"likes": 12, "shares": 3, "replies": 1, "quotes": 2, "bookmarks": 4, "impressions": 450}
    assert parse_qs(urlsplit(responses.calls[0].request.url).query) == {"tweet.fields": ["public_metrics"]}


@responses.activate
def test_check_connection_reports_the_account_or_the_need_to_reconnect():
    responses.get("https://api.twitter.com/2/users/me", json=fixture("users_me_200.json"))
    assert XAdapter(x_account()).check_connection().message == "Connected as @CityParks."
    responses.replace(
        responses.GET, "https://api.twitter.com/2/users/me", json=fixture("unauthorized_401.json"), status=401
    )
    check = XAdapter(x_account(OAUTH1)).check_connection()
    assert check.ok is False
    assert "reconnect" in check.message


def test_the_registry_builds_an_x_adapter_for_an_x_channel(x_channel):
    adapter = adapter_for_channel(x_channel)
    assert isinstance(adapter, XAdapter)
    assert adapter.label == "X"


# --- End to end: dispatcher -> Celery task (eager) -> local fake X -------------------------------


def test_a_due_post_goes_through_the_dispatcher_to_a_fake_x_exactly_once(personas, x_channel, settings, httpserver):
    settings.CIVICPOST_PLATFORM_URLS = {"x": httpserver.url_for("/").rstrip("/")}
    httpserver.expect_oneshot_request(
        "/2/tweets",
        method="POST",
        json={"text": DEFAULT_TEXT},
        headers={"Authorization": f"Bearer {OAUTH2['access_token']}"},
    ).respond_with_json(fixture("create_tweet_201.json"), status=201)
    delivery = due_x_delivery(personas, x_channel)

    tick()
    tick()  # a second tick must not send again

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.permalink == f"https://x.com/CityParks/status/{TWEET_ID}"
    assert [(request.method, request.path) for request, _ in httpserver.log] == [("POST", "/2/tweets")]
    httpserver.check_assertions()
