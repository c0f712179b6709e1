"""Overdue alerts: email the department's admins and the communications admins once per late delivery.

Call `alert_overdue_deliveries()` from the dispatcher tick (or the Celery task in monitoring/tasks.py
from beat). It is safe to call from several processes at once: the OverdueAlert row (one per
delivery) is written in the same transaction as the email is handed to the mail backend.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from departments.models import Membership, Role
from monitoring.models import OverdueAlert
from people.selectors import addresses_by_language
from scheduler.models import CLAIMABLE_DELIVERY_STATUSES, ChannelStatus, Delivery
from scheduler.selectors import held_deliveries_filter

logger = logging.getLogger(__name__)

ALERT_BATCH = 100


def overdue_alert_recipients(*, department_id: int) -> list[str]:
    """Returns the email addresses of the department's admins and of every communications-team admin."""
    user_ids = Membership.objects.filter(role=Role.ADMIN).filter(
        department_id=department_id
    ) | Membership.objects.filter(role=Role.ADMIN, department__is_communications_team=True)
    emails = (
        get_user_model()
        .objects.filter(pk__in=user_ids.values("user_id"), is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return list(emails)


def _message(delivery: Delivery, *, now: dt.datetime) -> tuple[str, str]:
    department = delivery.post.department
    local_due = delivery.next_attempt_at.astimezone(department.zone)
    minutes = int((now - delivery.next_attempt_at).total_seconds() // 60)
    subject = _("CivicPost: a %(department)s post on %(channel)s is %(minutes)d minutes late") % {
        "department": department.name,
        "channel": delivery.channel.display_name,
        "minutes": minutes,
    }
    body = _(
        "A post of %(department)s was due on %(channel)s at %(due)s and has not gone out yet "
        "(%(minutes)d minutes late).\n\n"
        "Publishing may have stopped. Check the publishing status page:\n%(status_url)s\n\n"
        "The post:\n%(post_url)s\n\n"
        "You get this email once per late post, because you are an admin of %(department)s or of the "
        "communications team."
    ) % {
        "department": department.name,
        "channel": delivery.channel.display_name,
        "due": local_due.strftime("%Y-%m-%d %H:%M %Z (UTC%z)"),
        "minutes": minutes,
        "status_url": f"{settings.SITE_URL}{reverse('monitoring:status')}",
        "post_url": f"{settings.SITE_URL}{reverse('scheduler:post_detail', args=[delivery.post_id])}",
    }
    return subject, body


def overdue_deliveries_without_alert(*, now: dt.datetime, limit: int = ALERT_BATCH):  # noqa: ANN201
    """Returns deliveries overdue by more than CIVICPOST_OVERDUE_ALERT_MINUTES that nobody was told about."""
    cutoff = now - dt.timedelta(minutes=settings.CIVICPOST_OVERDUE_ALERT_MINUTES)
    # Held by a crisis hold (governance): late on purpose, and the admins know; alerted if still late after.
    held = held_deliveries_filter()
    return (
        Delivery.objects.filter(
            status__in=CLAIMABLE_DELIVERY_STATUSES,
            next_attempt_at__lt=cutoff,
            channel__status=ChannelStatus.CONNECTED,
            overdue_alert__isnull=True,
        )
        .exclude(held if held is not None else Q(pk__in=[]))
        .select_related("post__department", "channel")
        .order_by("next_attempt_at", "id")[:limit]
    )


def alert_overdue_deliveries(*, now: dt.datetime | None = None) -> int:
    """Emails the admins about each delivery that became overdue, once per delivery.

    Returns how many deliveries were alerted. A failed email rolls its alert back, so the next call
    tries again."""
    now = now or timezone.now()
    alerted = 0
    for delivery in overdue_deliveries_without_alert(now=now):
        recipients = overdue_alert_recipients(department_id=delivery.post.department_id)
        try:
            with transaction.atomic():
                OverdueAlert.objects.create(delivery=delivery, sent_at=now, recipient_count=len(recipients))
                # One message per language, each recipient's own.
                for language, addresses in addresses_by_language(emails=recipients).items():
                    with translation.override(language):
                        subject, body = _message(delivery, now=now)
                    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, addresses)
        except IntegrityError:
            continue  # another process alerted this delivery first
        except OSError as error:  # SMTP down: nothing recorded, try again on the next call
            logger.warning("overdue alert for delivery %s not sent: %s", delivery.pk, error)
            continue
        logger.warning(
            "delivery %s is overdue since %s; %d admins emailed", delivery.pk, delivery.next_attempt_at, len(recipients)
        )
        alerted += 1
    return alerted
