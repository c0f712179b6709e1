"""Outbound webhooks: the outbox (one row per event and subscription, in the transaction that changed the
post; nothing for a rolled-back change), signatures checked with the Standard Webhooks reference verifier,
retries with backoff, 410 Gone, the SSRF guard at save and at send time, and the admin's pages."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from werkzeug import Response

from civicpost.crypto import decrypt_text
from governance.emergency import LanguageVersion, emergency_publish
from scheduler import services
from scheduler.models import DeliveryStatus
from tests.governance.city import City
from tests.scheduler import approved_post, draft_post, make_due, submitted_post, tick
from webhooks import services as hooks
from webhooks.models import EventType, WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription
from webhooks.services import MAX_ATTEMPTS, RETRY_DELAYS_SECONDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def city(db: None) -> City:
    return City()


def subscribe(city: City, url: str, events: list[str], department=None) -> tuple[WebhookSubscription, str]:  # noqa: ANN001
    created = hooks.webhook_subscription_create(
        user=city.pat, department=department or city.parks, name="City CMS", url=url, event_types=events
    )
    return created.subscription, created.secret


def send_due() -> list[str]:
    sent: list[int] = []
    hooks.webhook_deliveries_dispatch(enqueue=sent.append)
    return [hooks.webhook_delivery_send(delivery_id=delivery_id) for delivery_id in sent]


def test_submitting_writes_one_pending_delivery_per_wanting_subscription(city, httpserver):
    url = httpserver.url_for("/hook")
    wants, _secret = subscribe(city, url, [EventType.POST_SUBMITTED])
    subscribe(city, url, [EventType.POST_PUBLISHED])  # another event
    library = WebhookSubscription.objects.create(
        department=city.library, name="L", url=url, event_types=[EventType.POST_SUBMITTED], secret_encrypted="x"
    )
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    rows = list(WebhookDelivery.objects.all())
    assert [(row.subscription, row.event_type, row.status) for row in rows] == [
        (wants, "post.submitted", WebhookDeliveryStatus.PENDING)
    ]
    assert rows[0].payload["data"]["id"] == post.pk
    assert rows[0].payload["data"]["department"]["slug"] == city.parks.slug
    assert not library.deliveries.exists()


def test_a_rolled_back_submit_emits_nothing(city, httpserver):
    subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    post = draft_post(author=city.alice, channels=[city.parks_channel])
    with pytest.raises(RuntimeError), transaction.atomic():
        services.post_submit(post=post, user=city.alice)
        raise RuntimeError("the request failed after the submit")
    assert not WebhookDelivery.objects.exists()


def test_the_signature_passes_the_standard_webhooks_reference_verifier(city, httpserver):
    subscription, secret = subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    httpserver.expect_request("/hook", method="POST").respond_with_data("thanks", status=200)
    post = submitted_post(author=city.alice, channels=[city.parks_channel])
    assert send_due() == ["delivered"]
    request, _response = httpserver.log[0]
    body = request.get_data(as_text=True)
    verified = Webhook(secret).verify(body, dict(request.headers))
    assert verified["type"] == "post.submitted" and verified["data"]["id"] == post.pk
    row = subscription.deliveries.get()
    assert request.headers["webhook-id"] == row.message_id
    assert (row.status, row.attempts, row.response_status, row.response_body) == ("delivered", 1, 200, "thanks")
    # A tampered body or another secret fails the same verifier.
    with pytest.raises(Exception):  # noqa: B017 - standardwebhooks raises its own WebhookVerificationError
        Webhook(secret).verify(body.replace(str(post.pk), "999999"), dict(request.headers))
    # The secret is stored encrypted, never in clear.
    assert secret not in subscription.secret_encrypted and decrypt_text(subscription.secret_encrypted) == secret


def test_a_failing_receiver_is_retried_with_backoff_and_given_up_on(city, httpserver):
    subscription, _secret = subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    httpserver.expect_request("/hook").respond_with_data("x" * 5000, status=503)
    submitted_post(author=city.alice, channels=[city.parks_channel])
    before = timezone.now()
    assert send_due() == ["pending"]
    row = subscription.deliveries.get()
    assert row.attempts == 1 and row.response_status == 503 and len(row.response_body) == hooks.MAX_LOGGED_BODY
    assert row.next_attempt_at >= before + dt.timedelta(seconds=RETRY_DELAYS_SECONDS[0])
    assert send_due() == []  # not due yet
    for attempt in range(2, MAX_ATTEMPTS + 1):
        WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
        assert send_due() == ["pending" if attempt < MAX_ATTEMPTS else "failed"]
    row.refresh_from_db()
    assert row.attempts == MAX_ATTEMPTS and row.status == "failed" and "Gave up" in row.error_message
    assert len(httpserver.log) == MAX_ATTEMPTS
    assert len({r.headers["webhook-id"] for r, _ in httpserver.log}) == 1  # the same message every time


def test_410_gone_switches_the_subscription_off(city, httpserver):
    subscription, _secret = subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    httpserver.expect_request("/hook").respond_with_data("", status=410)
    submitted_post(author=city.alice, channels=[city.parks_channel])
    assert send_due() == ["failed"]
    subscription.refresh_from_db()
    assert not subscription.is_active and "410" in subscription.disabled_reason


def test_a_stalled_send_is_put_back_when_its_lease_runs_out(city, httpserver):
    subscription, _secret = subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    submitted_post(author=city.alice, channels=[city.parks_channel])
    row = subscription.deliveries.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(
        status="sending", lease_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    assert send_due() == ["delivered"]


def test_urls_pass_the_ssrf_guard_when_saved_and_when_sent(city, httpserver):
    for url in ("http://10.0.0.5/hook", "https://169.254.169.254/latest", "http://192.168.1.1/", "ftp://example.org/"):
        with pytest.raises(hooks.ApplicationError):
            subscribe(city, url, [EventType.POST_SUBMITTED])
    subscription, _secret = subscribe(city, httpserver.url_for("/hook"), [EventType.POST_SUBMITTED])
    # Changed behind the form's back (or its name now resolves inside the city network).
    WebhookSubscription.objects.filter(pk=subscription.pk).update(url="http://10.0.0.5/hook")
    submitted_post(author=city.alice, channels=[city.parks_channel])
    assert send_due() == ["failed"]
    row = subscription.deliveries.get()
    assert row.response_status is None and row.error_message
    assert len(httpserver.log) == 0


def test_approval_publishing_and_failures_are_events(city, httpserver):
    subscription, secret = subscribe(
        city,
        httpserver.url_for("/hook"),
        [EventType.POST_APPROVED, EventType.POST_PUBLISHED, EventType.POST_FAILED, EventType.EMERGENCY_PUBLISHED],
    )
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    make_due(post)
    tick()
    types = list(subscription.deliveries.order_by("id").values_list("event_type", flat=True))
    assert types == ["post.approved", "post.published"]  # not an emergency: no emergency.published
    published = subscription.deliveries.get(event_type="post.published")
    delivery = post.deliveries.get()
    assert published.payload["data"]["delivery"]["id"] == delivery.pk
    assert published.payload["data"]["delivery"]["status"] == DeliveryStatus.PUBLISHED
    assert published.payload["data"]["delivery"]["permalink"] == delivery.permalink


def test_an_emergency_post_going_out_is_an_emergency_published_event(city, httpserver):
    subscription, _secret = subscribe(city, httpserver.url_for("/hook"), [EventType.EMERGENCY_PUBLISHED])
    emergency_publish(user=city.olga, channels=[city.parks_channel], versions=[LanguageVersion("en", "Boil water")])
    tick()
    row = subscription.deliveries.get()
    assert row.event_type == "emergency.published"
    assert row.payload["data"]["post"]["text"].startswith("Boil water")


def test_crisis_holds_reach_the_departments_in_scope(city, httpserver):
    url = httpserver.url_for("/hook")
    parks, _s = subscribe(city, url, [EventType.CRISIS_HOLD_STARTED, EventType.CRISIS_HOLD_ENDED])
    library = WebhookSubscription.objects.create(
        department=city.library, name="L", url=url, event_types=[EventType.CRISIS_HOLD_STARTED], secret_encrypted="x"
    )
    hold = services.crisis_hold_start(user=city.dana, reason="Storm", departments=[city.parks])
    assert [r.event_type for r in parks.deliveries.all()] == ["crisis_hold.started"]
    assert not library.deliveries.exists()
    services.crisis_hold_end(hold=hold, user=city.dana, choice="release")
    assert sorted(parks.deliveries.values_list("event_type", flat=True)) == ["crisis_hold.ended", "crisis_hold.started"]
    services.crisis_hold_start(user=city.dana, reason="City-wide")
    assert library.deliveries.count() == 1


def test_the_admin_creates_a_subscription_sees_the_secret_once_and_sends_a_test_event(city, client, httpserver):
    httpserver.expect_request("/hook").respond_with_response(Response("ok", status=202))
    client.force_login(city.pat)
    page = client.post(
        f"/webhooks/departments/{city.parks.pk}/",
        {"name": "Alerting", "url": httpserver.url_for("/hook"), "event_types": ["emergency.published"]},
    )
    assert page.status_code == 200
    subscription = WebhookSubscription.objects.get()
    secret = decrypt_text(subscription.secret_encrypted)
    assert secret.startswith("whsec_") and secret in page.content.decode()
    detail = client.get(f"/webhooks/{subscription.pk}/")
    assert secret not in detail.content.decode()
    client.post(f"/webhooks/{subscription.pk}/test/")
    request, _response = httpserver.log[0]
    assert json.loads(request.get_data())["type"] == "webhook.test"
    Webhook(secret).verify(request.get_data(as_text=True), dict(request.headers))
    log = client.get(f"/webhooks/{subscription.pk}/").content.decode()
    assert "webhook.test" in log and "HTTP 202" in log


def test_only_the_departments_admins_manage_its_webhooks(city, client):
    subscription, _secret = subscribe(city, "https://93.184.215.14/hook", [EventType.POST_SUBMITTED])
    for user, expected in ((city.alice, 403), (city.bob, 403), (city.carol, 404), (city.max, 403), (city.pat, 200)):
        client.force_login(user)
        assert client.get(f"/webhooks/{subscription.pk}/").status_code == expected, user
    with pytest.raises(hooks.ApplicationError):
        hooks.webhook_subscription_create(
            user=city.alice, department=city.parks, name="x", url="https://93.184.215.14/", event_types=["post.failed"]
        )
