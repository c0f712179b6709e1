"""Channel health: what needs attention on a channel, each finding with the action to take.

A finding is a plain record (severity, message, action); the checks here cover tokens, reconnects, failure
rates, quiet channels, paid-read budgets and metric collection. Other apps add their own checks without
touching this module: CIVICPOST_HEALTH_CHECKS lists dotted paths of functions
`f(channels: list[Channel], now: datetime) -> list[Finding]` (the channels come with their department), run
after these. Three queries for any number of channels, plus what the added checks run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from analytics.models import PaidReadUsage
from analytics.services import month_start
from departments.selectors import memberships_for_user, user_sees_every_department
from scheduler.adapters.registry import get_adapter_class
from scheduler.models import FINISHED_DELIVERY_STATUSES, Channel, ChannelStatus, Delivery, DeliveryStatus

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
FAILURE_WINDOW = dt.timedelta(days=30)
# A failure rate is named only once this many deliveries finished in the window.
FAILURE_MIN_FINISHED = 3


@dataclass(frozen=True)
class Finding:
    """One thing to do about one channel. `action_url` is relative to the site (e-mails prefix SITE_URL)."""

    severity: str
    channel_id: int
    channel_name: str
    department_id: int
    department_name: str
    message: str
    action_label: str
    action_url: str
    # A short machine name (token_expiring, needs_reconnect, ...) for tests, the API and de-duplication.
    code: str = ""


HealthCheck = Callable[[list[Channel], dt.datetime], list[Finding]]


def _finding(channel: Channel, severity: str, code: str, message: str, action_label: str, action_url: str) -> Finding:
    return Finding(
        severity=severity,
        channel_id=channel.pk,
        channel_name=channel.display_name,
        department_id=channel.department_id,
        department_name=channel.department.name,
        message=message,
        action_label=action_label,
        action_url=action_url,
        code=code,
    )


def _paid(platform: str) -> bool:
    try:
        return bool(get_adapter_class(platform).metrics_reads_are_paid)
    except Exception:  # noqa: BLE001 - a platform no longer installed has no budget
        return False


def channel_delivery_figures(*, channel_ids: Iterable[int], since: dt.datetime) -> dict[int, Mapping[str, Any]]:
    """Per channel: `finished`, its deliveries that finished (published, failed, needing attention) and were
    last changed since `since`; `failed`, how many of those failed or need attention; `last_published`, its
    latest publication ever (None if none). One query; each figure is an index range per channel
    (delivery_finished_channel_idx, delivery_published_channel_idx), so its cost follows the window and the
    number of channels, not the length of their history."""
    finished = Delivery.objects.filter(
        channel=OuterRef("pk"), status__in=FINISHED_DELIVERY_STATUSES, updated_at__gte=since
    )
    return {
        row["pk"]: row
        for row in Channel.objects.filter(pk__in=list(channel_ids))
        .order_by()
        .annotate(
            failed=_count(finished.filter(status__in=(DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION))),
            finished=_count(finished),
            last_published=Subquery(
                Delivery.objects.filter(channel=OuterRef("pk"), published_at__isnull=False)
                .order_by("-published_at")
                .values("published_at")[:1]
            ),
        )
        .values("pk", "failed", "finished", "last_published")
    }


def _count(deliveries: QuerySet[Delivery]) -> Coalesce:
    return Coalesce(Subquery(deliveries.order_by().values("channel").annotate(n=Count("*")).values("n")), 0)


def builtin_checks(channels: list[Channel], now: dt.datetime) -> list[Finding]:
    """Token expiring or expired, needs reconnect, failure rate, quiet for N days, paid-read budget, metric
    collection paused or failing."""
    if not channels:
        return []
    stats = channel_delivery_figures(channel_ids=[c.pk for c in channels], since=now - FAILURE_WINDOW)
    usage = {
        (row.department_id, row.platform): row.requests
        for row in PaidReadUsage.objects.filter(
            department_id__in={c.department_id for c in channels}, month=month_start(now)
        )
    }
    token_days = settings.CIVICPOST_HEALTH_TOKEN_DAYS
    quiet_days = settings.CIVICPOST_HEALTH_QUIET_DAYS
    budget = settings.CIVICPOST_X_MONTHLY_READ_BUDGET
    findings: list[Finding] = []
    for channel in channels:
        page = reverse("connections:channel", args=[channel.pk])
        if channel.status == ChannelStatus.NEEDS_RECONNECT:
            findings.append(
                _finding(
                    channel,
                    ERROR,
                    "needs_reconnect",
                    _(
                        "The platform no longer accepts CivicPost's sign-in: nothing is published here until an "
                        "admin reconnects it."
                    )
                    + (f" {channel.status_message}" if channel.status_message else ""),
                    _("Reconnect"),
                    page,
                )
            )
        elif channel.status == ChannelStatus.CONNECTED and channel.token_expires_at is not None:
            left = channel.token_expires_at - now
            if left <= dt.timedelta(0):
                findings.append(
                    _finding(channel, ERROR, "token_expired", _("Its sign-in has expired."), _("Reconnect"), page)
                )
            elif left <= dt.timedelta(days=token_days):
                days = max(1, left.days)
                findings.append(
                    _finding(
                        channel,
                        WARNING,
                        "token_expiring",
                        _("Its sign-in expires in %(days)s days (%(when)s UTC).")
                        % {"days": days, "when": f"{channel.token_expires_at:%Y-%m-%d}"},
                        _("Reconnect"),
                        page,
                    )
                )
        if channel.status != ChannelStatus.CONNECTED:
            continue
        row: Mapping[str, Any] = stats.get(channel.pk, {})
        finished, failed = row.get("finished", 0), row.get("failed", 0)
        if finished >= FAILURE_MIN_FINISHED and failed / finished >= settings.CIVICPOST_HEALTH_FAILURE_RATE:
            findings.append(
                _finding(
                    channel,
                    ERROR if failed / finished >= 0.5 else WARNING,
                    "failure_rate",
                    _("%(failed)s of its last %(finished)s deliveries in 30 days failed (%(percent)s%%).")
                    % {"failed": failed, "finished": finished, "percent": round(failed * 100 / finished)},
                    _("Test the connection"),
                    page,
                )
            )
        last = row.get("last_published")
        quiet_since = now - dt.timedelta(days=quiet_days)
        if (last is None and channel.created_at < quiet_since) or (last is not None and last < quiet_since):
            message = (
                _("Nothing published here yet.")
                if last is None
                else _("Nothing published here for %(days)s days.") % {"days": (now - last).days}
            )
            findings.append(
                _finding(channel, INFO, "quiet", message, _("Write a post"), reverse("scheduler:post_create"))
            )
        if _paid(channel.platform):
            used = usage.get((channel.department_id, channel.platform), 0)
            if used >= budget * 0.8:
                findings.append(
                    _finding(
                        channel,
                        ERROR if used >= budget else WARNING,
                        "budget",
                        _(
                            "%(used)s of this month's %(budget)s paid metric reads are used; figures stop when none "
                            "are left."
                        )
                        % {"used": used, "budget": budget},
                        _("See the figures"),
                        reverse("analytics:department_figures", args=[channel.department_id]),
                    )
                )
        state = getattr(channel, "collection_state", None)
        if state is not None and state.paused_until is not None and state.paused_until > now:
            findings.append(
                _finding(
                    channel,
                    INFO,
                    "collection_paused",
                    _("The platform asked CivicPost to wait before reading figures until %(when)s UTC.")
                    % {"when": f"{state.paused_until:%Y-%m-%d %H:%M}"},
                    _("Nothing to do: it resumes by itself"),
                    page,
                )
            )
    return findings


def health_checks() -> list[HealthCheck]:
    """This module's checks and those CIVICPOST_HEALTH_CHECKS adds."""
    return [builtin_checks, *(import_string(path) for path in settings.CIVICPOST_HEALTH_CHECKS)]


def channel_health(*, channels: Iterable[Channel], now: dt.datetime | None = None) -> list[Finding]:
    """Every finding about these channels, the most severe first."""
    now = now or timezone.now()
    channel_list = list(channels)
    findings: list[Finding] = []
    for check in health_checks():
        findings.extend(check(channel_list, now))
    return sorted(
        findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.department_name, f.channel_name, f.code)
    )


def channels_for_health(*, department_ids: set[int] | None) -> list[Channel]:
    """The channels whose health is shown (None: every department's), not disabled ones."""
    channels = Channel.objects.exclude(status=ChannelStatus.DISABLED).select_related("department", "collection_state")
    if department_ids is not None:
        channels = channels.filter(department_id__in=department_ids)
    return list(channels.order_by("department__name", "display_name"))


def channel_health_for_user(*, user: User | AnonymousUser, now: dt.datetime | None = None) -> list[Finding]:
    """Findings about the channels of the user's departments (every department for communications managers
    and viewers). Every member sees them; the page each action links to checks who may act."""
    department_ids = (
        None if user_sees_every_department(user=user) else {m.department_id for m in memberships_for_user(user=user)}
    )
    return channel_health(channels=channels_for_health(department_ids=department_ids), now=now)
