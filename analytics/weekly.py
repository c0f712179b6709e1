"""The weekly e-mail report: per department (to its admins) and city-wide (to the communications managers):
what went out, what worked, what failed, channels that need attention. Sent once per week (WeeklyReport is
the claim), as text and HTML, by the periodic job `analytics.tasks.send_weekly_reports`."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics.figures import Report, report_build
from analytics.health import ERROR, WARNING, Finding, channel_health, channels_for_health
from analytics.models import WeeklyReport
from civicpost.zones import default_zone
from departments.models import Department
from departments.selectors import communications_manager_ids, department_admin_emails
from scheduler.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

# A week's report goes out from this local hour on the Monday after it.
SEND_HOUR = 7
FAILED_LISTED = 20


def report_week(now: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.date:
    """The Monday of the latest full week whose report is due at `now` in `zone`."""
    local = now.astimezone(zone)
    this_monday = local.date() - dt.timedelta(days=local.weekday())
    if local < dt.datetime.combine(this_monday, dt.time(SEND_HOUR), tzinfo=zone):
        this_monday -= dt.timedelta(days=7)
    return this_monday - dt.timedelta(days=7)


@dataclass
class WeeklyContent:
    title: str
    week_start: dt.date
    week_end: dt.date
    zone: zoneinfo.ZoneInfo
    report: Report
    failed: list[Delivery]
    failed_total: int
    attention: list[Finding]
    figures_url: str
    site_url: str


def weekly_content(*, department: Department | None, week_start: dt.date) -> WeeklyContent:
    """What one report says (department None: the city)."""
    zone = department.zone if department else default_zone()
    start = dt.datetime.combine(week_start, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time(), tzinfo=zone).astimezone(dt.UTC)
    ids = [department.pk] if department else None
    report = report_build(department_ids=ids, start=start, end=end, zone=zone, by_department=department is None, top=5)
    failed = Delivery.objects.filter(
        status__in=(DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION), due_at__gte=start, due_at__lt=end
    ).select_related("post", "channel")
    if department:
        failed = failed.filter(post__department=department)
    failed_total = failed.count()
    attention = [
        f
        for f in channel_health(channels=channels_for_health(department_ids={department.pk} if department else None))
        if f.severity in (ERROR, WARNING)
    ]
    query = f"?start={week_start:%Y-%m-%d}&end={week_start + dt.timedelta(days=6):%Y-%m-%d}"
    figures_url = (
        settings.SITE_URL
        + (
            reverse("analytics:department_figures", args=[department.pk])
            if department
            else reverse("analytics:city_figures")
        )
        + query
    )
    return WeeklyContent(
        title=(
            _("Week of %(day)s in %(department)s") % {"day": f"{week_start:%Y-%m-%d}", "department": department.name}
            if department
            else _("Week of %(day)s in the city") % {"day": f"{week_start:%Y-%m-%d}"}
        ),
        week_start=week_start,
        week_end=week_start + dt.timedelta(days=6),
        zone=zone,
        report=report,
        failed=list(failed.order_by("due_at", "pk")[:FAILED_LISTED]),
        failed_total=failed_total,
        attention=attention,
        figures_url=figures_url,
        site_url=settings.SITE_URL,
    )


def _city_recipients() -> list[str]:
    users = get_user_model().objects.filter(pk__in=communications_manager_ids(), is_active=True)
    return sorted({u.email for u in users if u.email})


def _send_one(*, department: Department | None, week_start: dt.date, recipients: list[str], now: dt.datetime) -> bool:
    """Claims the week's report and sends it. Returns False when it was already sent (or claimed)."""
    try:
        with transaction.atomic():
            claim = WeeklyReport.objects.create(
                department=department, week_start=week_start, sent_at=now, recipients=len(recipients)
            )
    except IntegrityError:
        return False
    content = weekly_content(department=department, week_start=week_start)
    context = {"content": content}
    message = EmailMultiAlternatives(
        subject=content.title,
        body=render_to_string("analytics/email/weekly_report.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("analytics/email/weekly_report.html", context), "text/html")
    try:
        message.send()
    except OSError as error:
        claim.delete()  # not sent: the next run tries again
        logger.warning("weekly report of %s not sent: %s", department or "the city", error)
        return False
    return True


def weekly_reports_send(*, now: dt.datetime | None = None) -> int:
    """Sends every weekly report that is due and not yet sent: each department's to its admins, the city's to
    the communications managers. Never twice for the same week. Returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for department in Department.objects.order_by("name"):
        recipients = department_admin_emails(department_id=department.pk)
        if recipients and _send_one(
            department=department, week_start=report_week(now, department.zone), recipients=recipients, now=now
        ):
            sent += 1
    recipients = _city_recipients()
    if recipients and _send_one(
        department=None, week_start=report_week(now, default_zone()), recipients=recipients, now=now
    ):
        sent += 1
    return sent
