"""The outbound webhook against a real local HTTP server (pytest-httpserver): the signed request,
verified with the Standard Webhooks reference code, the payload, the retry policy of platforms.md §9,
the SSRF guard, and one run through the dispatcher."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from werkzeug import Request, Response

from scheduler import publishing
from scheduler.adapters.base import (
    AuthExpired,
    ChannelAccount,
    MediaItem,
    OutcomeUnknown,
    PostContent,
    PublishError,
    RateLimited,
)
from scheduler.adapters.registry import adapter_for_channel
from scheduler.adapters.webhook.adapter import WebhookAdapter, generate_secret
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from tests.factories import ChannelFactory
from tests.scheduler import DEFAULT_TEXT, approved_post, make_due, make_retry_due, tick

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent.parent / "fixtures" / "webhook"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def hook_account(url: str, *, secret: str = SECRET, channel_id: int = 1, **options) -> ChannelAccount:
    return ChannelAccount(
        channel_id=channel_id,
        display_name="City CMS",
        credentials={"secret": secret},
        options={"url": url, **options},
    )


def received(httpserver, index: int = 0) -> tuple[Request, dict]:
    request, _response = httpserver.log[index]
    return request, json.loads(request.get_data(as_text=True))


def verify(request: Request) -> dict:
    """The Standard Webhooks reference verification, as a receiver would run it."""
    return Webhook(SECRET).verify(request.get_data(as_text=True), dict(request.headers))


@pytest.fixture
def hook_channel(personas, httpserver):
    return ChannelFactory(
        department=personas.parks,
        platform="webhook",
        display_name="Parks CMS",
        credentials={"secret": SECRET},
        options={"url": httpserver.url_for("/hooks/civicpost")},
    )


def due_hook_delivery(personas, channel, text: str = DEFAULT_TEXT, link: str = "") -> Delivery:
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel], text=text, link=link)
    make_due(post)
    return post.deliveries.get()


def publish_through_pipeline(delivery: Delivery) -> Delivery:
    assert publishing.deliveries_claim_due() == [delivery.pk]
    publishing.delivery_publish(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


class Stall:
    """A handler that answers only when released, so the client's read timeout fires first. The test
    releases it before ending, so a late answer never lands in the next test's request log."""

    def __init__(self, httpserver) -> None:
        self.httpserver = httpserver
        self.released = threading.Event()

    def __call__(self, request: Request) -> Response:
        self.released.wait(5)
        return Response("ok")

    def release(self, *, expected_log: int) -> None:
        self.released.set()
        deadline = time.monotonic() + 5
        while len(self.httpserver.log) < expected_log and time.monotonic() < deadline:
            time.sleep(0.01)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/hook"


# --- Secret ---------------------------------------------------------------------------------------


def test_generated_secrets_are_24_random_bytes_in_standard_webhooks_form():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert secret != generate_secret()
    Webhook(secret)  # the reference library accepts it


# --- The signed request ---------------------------------------------------------------------------


def test_publish_posts_a_signed_post_published_event(httpserver):
    httpserver.expect_oneshot_request("/hooks/civicpost", method="POST").respond_with_data("ok")
    key = str(uuid.uuid4())
    image = MediaItem(
        url="https://www.cityofexample.gov/media/splash.jpg",
        mime_type="image/jpeg",
        alt_text="Children at the splash pad",
        width=1200,
        height=800,
    )
    content = PostContent(text=DEFAULT_TEXT, link="https://www.cityofexample.gov/splash", media=(image,), language="es")

    result = WebhookAdapter(hook_account(httpserver.url_for("/hooks/civicpost"))).publish(content, idempotency_key=key)

    request, payload = received(httpserver)
    assert verify(request) == payload
    assert request.headers["webhook-id"] == key
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 5
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("CivicPost/1.0")
    assert ISO_UTC.match(payload.pop("occurred_at"))
    assert ISO_UTC.match(payload["post"].pop("published_at"))
    assert payload == {
        "type": "post.published",
        "id": key,
        "post": {
            "id": None,  # no delivery row behind this key
            "title": DEFAULT_TEXT,
            "text": DEFAULT_TEXT,
            "link": "https://www.cityofexample.gov/splash",
            "language": "es",
            "department": None,
            "tags": [],
            "media": [
                {
                    "url": "https://www.cityofexample.gov/media/splash.jpg",
                    "alt": "Children at the splash pad",
                    "mime": "image/jpeg",
                    "width": 1200,
                    "height": 800,
                }
            ],
            "channels": [],
        },
    }
    assert (result.remote_id, result.permalink) == (key, "")


def test_a_tampered_body_fails_the_reference_verification(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    WebhookAdapter(hook_account(httpserver.url_for("/hook"))).publish(PostContent(text="Hi"), idempotency_key="k1")
    request, _ = received(httpserver)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.get_data(as_text=True).replace("Hi", "Hey"), dict(request.headers))
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.get_data(as_text=True), dict(request.headers))


def test_the_receivers_id_and_url_become_remote_id_and_permalink(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_json(
        fixture("cms_created_201.json"), status=201
    )
    result = WebhookAdapter(hook_account(httpserver.url_for("/hook"))).publish(
        PostContent(text="Hi"), idempotency_key="k"
    )
    assert result.remote_id == "news-4711"
    assert result.permalink == "https://www.cityofexample.gov/news/4711-splash-pads-open-saturday"
    assert result.raw["status"] == 201


def test_extra_static_headers_are_sent_but_cannot_replace_the_signature(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    account = ChannelAccount(
        channel_id=1,
        display_name="CMS",
        credentials={"secret": SECRET, "headers": {"X-Api-Key": "cms-key", "webhook-signature": "v1,forged"}},
        options={"url": httpserver.url_for("/hook")},
    )
    WebhookAdapter(account).publish(PostContent(text="Hi"), idempotency_key="k")
    request, payload = received(httpserver)
    assert request.headers["X-Api-Key"] == "cms-key"
    assert verify(request) == payload


def test_the_timeouts_come_from_the_settings_5s_connect_and_10s_read_by_default(httpserver, settings, monkeypatch):
    """platforms.md §9's 5 s / 10 s are the settings' defaults; an operator's values apply (issue 11 item 16)."""
    import requests.adapters

    seen: list = []
    original = requests.adapters.HTTPAdapter.send

    def recording(self, request, **kwargs):  # noqa: ANN001, ANN202
        seen.append(kwargs.get("timeout"))
        return original(self, request, **kwargs)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", recording)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    adapter = WebhookAdapter(hook_account(httpserver.url_for("/hook")))

    adapter.publish(PostContent(text="Hi"), idempotency_key="k1")
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 2.5
    settings.CIVICPOST_HTTP_CONNECT_TIMEOUT_SECONDS = 0.5
    adapter.publish(PostContent(text="Hi"), idempotency_key="k2")

    assert seen == [(5.0, 10.0), (0.5, 2.5)]


# --- Through the publisher: payload from the delivery, webhook-id stable across retries -----------


def test_a_due_post_goes_through_the_dispatcher_to_the_receiver_exactly_once(personas, hook_channel, httpserver):
    httpserver.expect_oneshot_request("/hooks/civicpost", method="POST").respond_with_json(
        fixture("cms_created_201.json"), status=201
    )
    delivery = due_hook_delivery(personas, hook_channel, link="https://www.cityofexample.gov/splash")

    tick()
    tick()  # a second tick sends nothing

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    assert delivery.remote_id == "news-4711"
    assert delivery.permalink == "https://www.cityofexample.gov/news/4711-splash-pads-open-saturday"
    assert len(httpserver.log) == 1
    request, payload = received(httpserver)
    assert verify(request) == payload
    assert request.headers["webhook-id"] == str(delivery.idempotency_key) == payload["id"]
    post = payload["post"]
    assert post["id"] == delivery.post_id
    assert post["department"] == {"slug": "parks", "name": "Parks and Recreation"}
    assert post["channels"] == [{"platform": "webhook", "name": "Parks CMS"}]
    assert (post["text"], post["link"]) == (DEFAULT_TEXT, "https://www.cityofexample.gov/splash")


def test_a_server_error_is_resent_later_with_the_same_webhook_id(personas, hook_channel, httpserver):
    httpserver.expect_ordered_request("/hooks/civicpost", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hooks/civicpost", method="POST").respond_with_data("ok")
    delivery = due_hook_delivery(personas, hook_channel)

    tick()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.RETRY_WAIT
    make_retry_due(delivery)
    tick()

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    first, second = (request for request, _ in httpserver.log)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.idempotency_key)
    assert json.loads(first.get_data())["id"] == json.loads(second.get_data())["id"]
    assert delivery.remote_id == str(delivery.idempotency_key)


def test_an_unknown_outcome_is_settled_by_resending_with_the_same_id(personas, hook_channel, httpserver, settings):
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 0.3
    stall = Stall(httpserver)
    httpserver.expect_ordered_request("/hooks/civicpost", method="POST").respond_with_handler(stall)
    httpserver.expect_ordered_request("/hooks/civicpost", method="POST").respond_with_data("ok")
    delivery = publish_through_pipeline(due_hook_delivery(personas, hook_channel))
    assert delivery.status == DeliveryStatus.UNKNOWN
    stall.release(expected_log=1)  # the receiver got it after all; it will drop the repeat

    # Receivers dedupe on webhook-id, so "unknown" goes straight back to the queue.
    assert publishing.delivery_reconcile(delivery_id=delivery.pk) == DeliveryStatus.SCHEDULED
    tick()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PUBLISHED
    ids = {request.headers["webhook-id"] for request, _ in httpserver.log}
    assert ids == {str(delivery.idempotency_key)}


@pytest.mark.parametrize(
    ("status", "headers", "expected_status"),
    [
        (429, {"Retry-After": "120"}, DeliveryStatus.RETRY_WAIT),
        (500, {}, DeliveryStatus.RETRY_WAIT),
        (422, {}, DeliveryStatus.FAILED),
        (410, {}, DeliveryStatus.SCHEDULED),  # held: the channel needs a new address
    ],
)
def test_each_answer_leads_to_its_delivery_state(personas, hook_channel, httpserver, status, headers, expected_status):
    httpserver.expect_oneshot_request("/hooks/civicpost", method="POST").respond_with_data(
        json.dumps(fixture("cms_validation_error_422.json")) if status == 422 else "", status=status, headers=headers
    )
    delivery = publish_through_pipeline(due_hook_delivery(personas, hook_channel))
    assert delivery.status == expected_status
    hook_channel.refresh_from_db()
    if status == 410:
        assert hook_channel.status == ChannelStatus.NEEDS_RECONNECT
        assert "gone" in hook_channel.status_message
    if status == 422:
        assert "post.department" in delivery.failure_message
    if status == 429:
        wait = (delivery.next_attempt_at - delivery.updated_at).total_seconds()
        assert 115 <= wait <= 125


# --- Retry policy, unit level (platforms.md §9) ---------------------------------------------------


@pytest.mark.parametrize(
    ("status", "headers", "expected", "check"),
    [
        (408, {}, RateLimited, lambda e: e.retry_after == 30),
        (425, {"Retry-After": "7"}, RateLimited, lambda e: e.retry_after == 7),
        (429, {"Retry-After": "Wed, 21 Oct 2065 07:28:00 GMT"}, RateLimited, lambda e: e.retry_after > 10**8),
        (500, {}, PublishError, lambda e: e.permanent is False),
        (502, {}, PublishError, lambda e: e.permanent is False),
        (503, {}, PublishError, lambda e: e.permanent is False),
        (400, {}, PublishError, lambda e: e.permanent),
        (401, {}, PublishError, lambda e: e.permanent),
        (404, {}, PublishError, lambda e: e.permanent),
        (410, {}, AuthExpired, lambda e: e.code == "webhook_gone"),
    ],
)
def test_each_status_maps_onto_the_retry_policy(httpserver, status, headers, expected, check):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("", status=status, headers=headers)
    with pytest.raises(expected) as caught:
        WebhookAdapter(hook_account(httpserver.url_for("/hook"))).publish(PostContent(text="Hi"), idempotency_key="k")
    assert check(caught.value)


def test_redirects_are_not_followed(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data(
        "", status=307, headers={"Location": httpserver.url_for("/elsewhere")}
    )
    httpserver.expect_request("/elsewhere").respond_with_data("ok")
    with pytest.raises(PublishError) as caught:
        WebhookAdapter(hook_account(httpserver.url_for("/hook"))).publish(PostContent(text="Hi"), idempotency_key="k")
    assert caught.value.permanent
    assert "redirect" in caught.value.message
    assert [request.path for request, _ in httpserver.log] == ["/hook"]


def test_a_refused_connection_is_safe_to_retry():
    with pytest.raises(PublishError) as caught:
        WebhookAdapter(hook_account(closed_port_url())).publish(PostContent(text="Hi"), idempotency_key="k")
    assert caught.value.permanent is False
    assert "nothing was sent" in caught.value.message


def test_a_read_timeout_is_an_unknown_outcome(httpserver, settings):
    settings.CIVICPOST_HTTP_TIMEOUT_SECONDS = 0.3
    stall = Stall(httpserver)
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_handler(stall)
    with pytest.raises(OutcomeUnknown):
        WebhookAdapter(hook_account(httpserver.url_for("/hook"))).publish(PostContent(text="Hi"), idempotency_key="k")
    stall.release(expected_log=1)


def test_reconcile_asks_for_a_resend_because_receivers_dedupe():
    adapter = WebhookAdapter(hook_account("https://cms.cityofexample.gov/hook"))
    assert adapter.reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=dt.datetime.now(tz=dt.UTC)) is None


def test_a_missing_secret_or_url_holds_the_delivery():
    with pytest.raises(AuthExpired, match="signing secret"):
        WebhookAdapter(hook_account("https://cms.cityofexample.gov/hook", secret="")).publish(
            PostContent(text="Hi"), idempotency_key="k"
        )
    with pytest.raises(AuthExpired, match="no address"):
        WebhookAdapter(hook_account("")).publish(PostContent(text="Hi"), idempotency_key="k")
    problems = WebhookAdapter(hook_account("")).validate(PostContent(text="Hi"))
    assert [p.field for p in problems] == ["channel"]


# --- SSRF guard -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.20.30.40/hook",
        "https://192.168.1.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9/hook",
    ],
)
def test_private_and_loopback_addresses_are_refused_in_production(settings, url):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    with pytest.raises(AuthExpired) as caught:
        WebhookAdapter(hook_account(url)).publish(PostContent(text="Hi"), idempotency_key="k")
    assert caught.value.code == "webhook_unsafe_url"


def test_a_private_address_holds_the_delivery_and_asks_an_admin_to_fix_the_webhook(personas, settings):
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = False
    channel = ChannelFactory(
        department=personas.parks,
        platform="webhook",
        display_name="Intranet",
        credentials={"secret": SECRET},
        options={"url": "https://10.0.0.5/hook"},
    )
    delivery = publish_through_pipeline(due_hook_delivery(personas, channel))
    channel.refresh_from_db()
    assert delivery.status == DeliveryStatus.SCHEDULED
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert "private or reserved network address" in channel.status_message


def test_a_private_address_is_refused_even_when_loopback_is_allowed():
    with pytest.raises(AuthExpired):
        WebhookAdapter(hook_account("https://10.20.30.40/hook")).publish(PostContent(text="Hi"), idempotency_key="k")


@pytest.mark.parametrize("host", ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[2002:7f00:1::1]"])
def test_loopback_wrapped_in_ipv6_is_refused_on_send_even_when_loopback_is_allowed(httpserver, host):
    with pytest.raises(AuthExpired) as caught:
        WebhookAdapter(hook_account(f"https://{host}:{httpserver.port}/hook")).publish(
            PostContent(text="Hi"), idempotency_key="k"
        )
    assert caught.value.code == "webhook_unsafe_url"
    assert not httpserver.log


# --- Delete, connection test, chat formats --------------------------------------------------------


def test_delete_sends_a_signed_post_deleted_event_with_a_stable_id(httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    adapter = WebhookAdapter(hook_account(httpserver.url_for("/hook"), channel_id=7))
    adapter.delete("news-4711")
    adapter.delete("news-4711")
    (first, p1), (second, p2) = received(httpserver, 0), received(httpserver, 1)
    assert verify(first) == p1
    assert p1["type"] == "post.deleted"
    assert p1["post"] == {"id": None, "remote_id": "news-4711"}
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == p1["id"] == p2["id"]


def test_check_connection_sends_a_signed_ping(httpserver):
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("", status=204)
    check = WebhookAdapter(hook_account(httpserver.url_for("/hook"))).check_connection()
    assert check.ok
    request, payload = received(httpserver)
    assert verify(request) == payload
    assert payload["type"] == "ping"


def test_check_connection_reports_a_refused_connection():
    check = WebhookAdapter(hook_account(closed_port_url())).check_connection()
    assert check.ok is False


@pytest.mark.parametrize(
    ("fmt", "body"),
    [
        ("slack", {"text": "Pools open.\n\nhttps://www.cityofexample.gov/pools"}),
        (
            "discord",
            {"content": "Pools open.\n\nhttps://www.cityofexample.gov/pools", "allowed_mentions": {"parse": []}},
        ),
    ],
)
def test_chat_formats_send_the_message_shape_the_chat_service_expects(httpserver, fmt, body):
    httpserver.expect_oneshot_request("/chat", method="POST", json=body).respond_with_data("ok")
    adapter = WebhookAdapter(hook_account(httpserver.url_for("/chat"), format=fmt))
    adapter.publish(PostContent(text="Pools open.", link="https://www.cityofexample.gov/pools"), idempotency_key="k")
    httpserver.check_assertions()


def test_teams_gets_an_adaptive_card(httpserver):
    httpserver.expect_oneshot_request("/teams", method="POST").respond_with_data("", status=202)
    WebhookAdapter(hook_account(httpserver.url_for("/teams"), format="teams")).publish(
        PostContent(text="Pools open."), idempotency_key="k"
    )
    _request, body = received(httpserver)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["body"] == [{"type": "TextBlock", "text": "Pools open.", "wrap": True}]


def test_chat_services_do_not_dedupe_so_unknown_outcomes_go_to_a_person(httpserver):
    httpserver.expect_oneshot_request("/chat", method="POST").respond_with_data("", status=502)
    adapter = WebhookAdapter(hook_account(httpserver.url_for("/chat"), format="slack"))
    with pytest.raises(OutcomeUnknown):
        adapter.publish(PostContent(text="Hi"), idempotency_key="k")
    with pytest.raises(OutcomeUnknown):
        adapter.reconcile(PostContent(text="Hi"), idempotency_key="k", sent_at=dt.datetime.now(tz=dt.UTC))


def test_text_limits_follow_the_format():
    content = PostContent(text="a" * 2001)
    assert WebhookAdapter(hook_account("https://x.test/h", format="discord")).text_length(content).over_by == 1
    assert WebhookAdapter(hook_account("https://x.test/h")).text_length(content).over_by == 0


def test_the_registry_builds_a_webhook_adapter(hook_channel):
    adapter = adapter_for_channel(hook_channel)
    assert isinstance(adapter, WebhookAdapter)
    assert adapter.label == "Webhook"
