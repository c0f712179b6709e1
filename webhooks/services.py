"""Writes of the webhooks app: subscriptions (create, change, rotate the secret, delete), the outbox (one
pending WebhookDelivery per event and subscription, in the caller's transaction) and sending (claim, sign,
POST, record, retry with backoff).

Sending is at-least-once, as Standard Webhooks expects: the webhook-id stays the same on every retry, so a
receiver drops a repeat. A row is claimed with a conditional update (pending and due → sending, with a
lease), so two workers never send the same attempt; a worker that dies leaves a lease that the dispatcher
puts back after it runs out."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.compiled_queries import CompiledQuery
from civicpost.crypto import decrypt_text, encrypt_text
from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from departments.models import Department
from scheduler.adapters.ssrf import ResponseTooLarge, UnsafeURL, check_public_url, guarded_session
from webhooks.models import (
    TEST_EVENT,
    EventType,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)
from webhooks.rules import can_manage_webhooks
from webhooks.signing import generate_secret, sign

logger = logging.getLogger(__name__)

# Standard Webhooks' suggested schedule: after the first try, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
RETRY_DELAYS_SECONDS = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS_SECONDS) + 1
MAX_LOGGED_BODY = 1000
MAX_RESPONSE_BYTES = 64 * 1024
LEASE_SECONDS = 120
TIMEOUT_SECONDS = (5.0, 15.0)


# --- Subscriptions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once, never stored in clear


def _clean(*, name: str, url: str, event_types: Iterable[str]) -> tuple[str, str, list[str]]:
    name = normalize_text(name).strip()
    if not name:
        raise ApplicationError(_("Give the subscription a name, such as “Website CMS”."))
    try:
        check_public_url(url.strip())
    except UnsafeURL as error:
        raise ApplicationError(
            _("CivicPost will not send to this address: %(why)s") % {"why": error.message}
        ) from error
    chosen = [value for value in EventType.values if value in set(event_types)]
    if not chosen or len(chosen) != len(set(event_types)):
        raise ApplicationError(_("Choose at least one event, from the list."))
    return name, url.strip(), chosen


def _require_admin(user: User, department_id: int) -> None:
    if not can_manage_webhooks(user, department_id):
        raise ApplicationError(_("Only the department's admins manage its webhooks."))


@transaction.atomic
def webhook_subscription_create(
    *, user: User, department: Department, name: str, url: str, event_types: Iterable[str]
) -> CreatedSubscription:
    """Creates a subscription with a new signing secret and returns both (the secret is shown once).
    Raises ApplicationError when `user` is not an admin of `department`, the URL fails the SSRF guard or
    no known event is chosen."""
    _require_admin(user, department.pk)
    name, url, chosen = _clean(name=name, url=url, event_types=event_types)
    secret = generate_secret()
    subscription = WebhookSubscription.objects.create(
        department=department,
        name=name,
        url=url,
        event_types=chosen,
        secret_encrypted=encrypt_text(secret),
        created_by=user,
    )
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=department.pk,
        target=subscription,
        changes={"webhook": subscription.pk, "url": url, "events": chosen},
        message=_("Webhook “%(name)s” created.") % {"name": name},
    )
    return CreatedSubscription(subscription=subscription, secret=secret)


@transaction.atomic
def webhook_subscription_update(
    *, user: User, subscription: WebhookSubscription, name: str, url: str, event_types: Iterable[str], is_active: bool
) -> WebhookSubscription:
    """Changes a subscription. Switching it on again clears why CivicPost switched it off. Raises
    ApplicationError as webhook_subscription_create does."""
    _require_admin(user, subscription.department_id)
    name, url, chosen = _clean(name=name, url=url, event_types=event_types)
    before = {"url": subscription.url, "events": subscription.event_types, "active": subscription.is_active}
    subscription.name, subscription.url, subscription.event_types = name, url, chosen
    if is_active and not subscription.is_active:
        subscription.disabled_reason = ""
    subscription.is_active = is_active
    subscription.save()
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=subscription.department_id,
        target=subscription,
        changes={"webhook": subscription.pk, "before": before, "url": url, "events": chosen, "active": is_active},
        message=_("Webhook “%(name)s” changed.") % {"name": name},
    )
    return subscription


@transaction.atomic
def webhook_subscription_rotate_secret(*, user: User, subscription: WebhookSubscription) -> str:
    """Replaces the signing secret and returns the new one (shown once). Messages already waiting are
    signed with the new secret when they are sent."""
    _require_admin(user, subscription.department_id)
    secret = generate_secret()
    subscription.secret_encrypted = encrypt_text(secret)
    subscription.save(update_fields=["secret_encrypted"])
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=subscription.department_id,
        target=subscription,
        changes={"webhook": subscription.pk, "secret": "rotated"},
        message=_("Webhook “%(name)s”: new signing secret.") % {"name": subscription.name},
    )
    return secret


@transaction.atomic
def webhook_subscription_delete(*, user: User, subscription: WebhookSubscription) -> None:
    """Deletes a subscription and its delivery log (nothing more is sent to it)."""
    _require_admin(user, subscription.department_id)
    audit_record(
        action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
        actor=user,
        department_id=subscription.department_id,
        changes={"webhook": subscription.pk, "url": subscription.url, "deleted": True},
        message=_("Webhook “%(name)s” deleted.") % {"name": subscription.name},
    )
    subscription.delete()


# --- The outbox -------------------------------------------------------------------------------------


def _new_message(subscription: WebhookSubscription, event_type: str, data: dict[str, Any], now: dt.datetime) -> Any:
    payload = {
        "type": event_type,
        "timestamp": now.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }
    return WebhookDelivery(
        subscription=subscription,
        event_type=event_type,
        message_id=f"msg_{uuid.uuid4().hex}",
        payload=payload,
        next_attempt_at=now,
    )


def subscriptions_wanting(*, event_type: str, department_ids: Iterable[int] | None) -> list[WebhookSubscription]:
    """The active subscriptions of these departments (None: every department) that want `event_type`. One
    query; the event types are matched here (SQLite has no JSON containment)."""
    return [row for row in subscriptions_active(department_ids=department_ids) if event_type in row.event_types]


def subscriptions_active(*, department_ids: Iterable[int] | None) -> list[WebhookSubscription]:
    """The active subscriptions of these departments (None: every department), whatever they want. One query."""
    if department_ids is not None:
        department_ids = list(department_ids)
        if len(department_ids) == 1:
            return department_subscriptions_active(department_id=department_ids[0])
    rows = WebhookSubscription.objects.filter(is_active=True)
    if department_ids is not None:
        rows = rows.filter(department_id__in=department_ids)
    return list(rows)


def department_subscriptions_active(*, department_id: int) -> list[WebhookSubscription]:
    """`WebhookSubscription.objects.filter(is_active=True, department_id=department_id)` without compiling the
    query every time: a worker asks it for every delivery it finishes (issue 18: the ORM's compile was a sixth
    of a worker's CPU per delivery). Read in the caller's transaction like the ORM's query, so a subscription
    committed before it is always seen; nothing is cached but the statement's text."""
    return _department_subscriptions_query.objects(department_id)


_department_subscriptions_query = CompiledQuery(
    lambda department_id: WebhookSubscription.objects.filter(is_active=True, department_id=department_id)
)


def webhook_event_record(
    *, event_type: str, data: dict[str, Any], subscriptions: Iterable[WebhookSubscription]
) -> list[WebhookDelivery]:
    """Writes one pending delivery per subscription, in the caller's transaction (the outbox), and sends
    them once it commits. Returns them. A rolled-back change leaves no row and sends nothing."""
    now = timezone.now()
    rows = WebhookDelivery.objects.bulk_create(_new_message(s, event_type, data, now) for s in subscriptions)
    if rows:
        _send_after_commit([row.pk for row in rows])
    return rows


@transaction.atomic
def webhook_test_event_record(*, user: User, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queues a `webhook.test` event for one subscription (even a switched-off one: it is how an admin
    checks the receiver before switching it on). Returns the delivery."""
    _require_admin(user, subscription.department_id)
    department = subscription.department
    data = {
        "message": _("A test event from CivicPost. Nothing happened to any post."),
        "subscription": {"id": subscription.pk, "name": subscription.name},
        "department": {"id": department.pk, "slug": department.slug, "name": department.name},
    }
    delivery = _new_message(subscription, TEST_EVENT, data, timezone.now())
    delivery.save()
    return delivery


def _send_after_commit(delivery_ids: list[int]) -> None:
    """Queues one Celery task per delivery after commit. Without a broker (`make run`: tasks run eagerly,
    inside the request) nothing is queued: the periodic dispatcher sends them a few seconds later, so a
    slow receiver never holds up the page that approved the post."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    # The tasks module sits above this one (tasks call services): imported when the first event is recorded.
    from webhooks.tasks import send_webhook_delivery

    def enqueue() -> None:
        for delivery_id in delivery_ids:
            send_webhook_delivery.delay(delivery_id)

    transaction.on_commit(enqueue)


# --- Sending ----------------------------------------------------------------------------------------


def webhook_deliveries_dispatch(*, enqueue: Callable[[int], object], limit: int = 200) -> int:
    """Puts back the deliveries whose sender died (lease ran out) and hands every due delivery to
    `enqueue`. Returns how many it handed on. Run by the periodic job (Celery beat and `make run`)."""
    now = timezone.now()
    WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.SENDING, lease_expires_at__lt=now).update(
        status=WebhookDeliveryStatus.PENDING, lease_expires_at=None, next_attempt_at=now
    )
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        enqueue(delivery_id)
    return len(due)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
        pk=delivery_id,
        status=WebhookDeliveryStatus.PENDING,
    ).update(
        status=WebhookDeliveryStatus.SENDING,
        lease_expires_at=now + dt.timedelta(seconds=LEASE_SECONDS),
        last_attempt_at=now,
    )
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("subscription").get(pk=delivery_id)


@dataclass(frozen=True)
class _Outcome:
    delivered: bool
    retry: bool
    status_code: int | None = None
    body: str = ""
    error: str = ""
    gone: bool = False


def _post(delivery: WebhookDelivery) -> _Outcome:
    subscription = delivery.subscription
    try:
        check_public_url(subscription.url)
    except UnsafeURL as error:
        # A name that does not resolve now may resolve later; an address that is private stays private.
        return _Outcome(delivered=False, retry=isinstance(error.__cause__, socket.gaierror), error=error.message)
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":"))
    timestamp = int(time.time())
    secret = decrypt_text(subscription.secret_encrypted)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, message_id=delivery.message_id, timestamp=timestamp, body=body),
    }
    session = guarded_session(TIMEOUT_SECONDS, max_bytes=MAX_RESPONSE_BYTES)
    try:
        response = session.post(subscription.url, data=body.encode(), headers=headers, allow_redirects=False)
        text = response.text
    except UnsafeURL as error:
        return _Outcome(delivered=False, retry=False, error=error.message)
    except ResponseTooLarge:
        return _Outcome(delivered=False, retry=True, error=_("The receiver's answer was too long."))
    except requests.RequestException as error:
        return _Outcome(delivered=False, retry=True, error=_("No answer: %(error)s") % {"error": type(error).__name__})
    finally:
        session.close()
    code = response.status_code
    if 200 <= code < 300:
        return _Outcome(delivered=True, retry=False, status_code=code, body=text)
    if code == 410:
        # Standard Webhooks: 410 Gone means the receiver wants no more messages at this address.
        return _Outcome(delivered=False, retry=False, status_code=code, body=text, gone=True)
    if 300 <= code < 400:
        why = _("The receiver answered with a redirect; CivicPost does not follow redirects. Use the final address.")
    else:
        why = _("The receiver answered HTTP %(code)s.") % {"code": code}
    return _Outcome(delivered=False, retry=True, status_code=code, body=text, error=why)


def webhook_delivery_send(*, delivery_id: int) -> str | None:
    """Sends one delivery if it is due and not being sent by someone else; records the answer, and on
    failure schedules the next attempt (RETRY_DELAYS_SECONDS) or gives up after MAX_ATTEMPTS. Returns the
    delivery's status afterwards, None when there was nothing to send."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    outcome = _post(delivery)
    now = timezone.now()
    attempts = delivery.attempts + 1
    changes: dict[str, Any] = {
        "attempts": attempts,
        "lease_expires_at": None,
        "response_status": outcome.status_code,
        "response_body": outcome.body[:MAX_LOGGED_BODY],
        "error_message": outcome.error,
    }
    if outcome.delivered:
        changes.update(status=WebhookDeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif outcome.retry and attempts < MAX_ATTEMPTS:
        delay = RETRY_DELAYS_SECONDS[attempts - 1]
        changes.update(status=WebhookDeliveryStatus.PENDING, next_attempt_at=now + dt.timedelta(seconds=delay))
    else:
        changes.update(status=WebhookDeliveryStatus.FAILED, next_attempt_at=None)
        if outcome.retry:
            changes["error_message"] = " ".join(
                part for part in (outcome.error, _("Gave up after %(n)d attempts.") % {"n": attempts}) if part
            )
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.SENDING).update(**changes)
        if outcome.gone:
            WebhookSubscription.objects.filter(pk=delivery.subscription_id).update(
                is_active=False,
                disabled_reason=_("The receiver answered 410 Gone: it wants no more messages. Switched off."),
            )
    return str(changes["status"])
