"""Is publishing making progress? (shared/reliability.md, "No silent drop").

Liveness of a process says little: a Celery worker can stay up and stop consuming after a Redis
reconnect (celery#8030). So health is measured by progress: when the dispatcher last ticked, how
late the oldest due delivery is, and how many deliveries wait for a person. The report holds counts
and times only, never post content, so the JSON endpoint can be public for a load balancer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max, Min
from django.utils import timezone

logger = logging.getLogger(__name__)

# The dispatcher is late when it has not ticked for this many intervals.
STALLED_TICK_INTERVALS = 3


@dataclass
class HealthReport:
    checked_at: dt.datetime
    database_ok: bool
    broker: str  # "ok", "unreachable" or "embedded" (no broker: tasks run in-process)
    tick_interval_seconds: float
    overdue_alert_minutes: int
    last_tick_at: dt.datetime | None = None
    due_count: int = 0
    overdue_count: int = 0
    oldest_overdue_due_at: dt.datetime | None = None
    oldest_overdue_delivery_id: int | None = None
    needs_attention_count: int = 0
    unknown_count: int = 0
    waiting_for_reconnect_count: int = 0
    loops: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def seconds_since_tick(self) -> float | None:
        if self.last_tick_at is None:
            return None
        return max(0.0, (self.checked_at - self.last_tick_at).total_seconds())

    @property
    def oldest_overdue_seconds(self) -> float | None:
        if self.oldest_overdue_due_at is None:
            return None
        return max(0.0, (self.checked_at - self.oldest_overdue_due_at).total_seconds())

    @property
    def stalled(self) -> bool:
        """True when publishing is not making progress (the endpoint then answers 503)."""
        return bool(self.problems)

    @property
    def status(self) -> str:
        if self.stalled:
            return "stalled"
        if self.broker == "unreachable" or self.needs_attention_count:
            return "degraded"
        return "ok"

    def as_dict(self) -> dict[str, Any]:
        """The public JSON body: times, counts and states; no post content and no delivery ids."""

        def iso(value: dt.datetime | None) -> str | None:
            return value.astimezone(dt.UTC).isoformat() if value else None

        def rounded(value: float | None) -> float | None:
            return round(value, 1) if value is not None else None

        return {
            "status": self.status,
            "checked_at": iso(self.checked_at),
            "database": "ok" if self.database_ok else "unreachable",
            "broker": self.broker,
            "last_tick_at": iso(self.last_tick_at),
            "seconds_since_last_tick": rounded(self.seconds_since_tick),
            "tick_interval_seconds": self.tick_interval_seconds,
            "due_count": self.due_count,
            "overdue_count": self.overdue_count,
            "oldest_overdue_due_at": iso(self.oldest_overdue_due_at),
            "oldest_overdue_seconds": rounded(self.oldest_overdue_seconds),
            "overdue_alert_minutes": self.overdue_alert_minutes,
            "needs_attention_count": self.needs_attention_count,
            "unknown_count": self.unknown_count,
            "waiting_for_reconnect_count": self.waiting_for_reconnect_count,
            "loops": [
                {
                    "name": loop["name"],
                    "last_tick_at": iso(loop["last_tick_at"]),
                    "seconds_since": loop["seconds_since"],
                }
                for loop in self.loops
            ],
            "problems": list(self.problems),
        }


def overdue_grace_seconds() -> float:
    """A due delivery still unclaimed after this long counts as overdue (a few dispatcher rounds)."""
    return max(60.0, STALLED_TICK_INTERVALS * float(settings.CIVICPOST_DISPATCH_INTERVAL_SECONDS))


def broker_state() -> str:
    """Returns "embedded" without a broker, else "ok" or "unreachable" after a one-second ping."""
    redis_url = getattr(settings, "REDIS_URL", "")
    if not redis_url or settings.CELERY_TASK_ALWAYS_EAGER:
        return "embedded"
    import redis  # only with a broker configured; the embedded mode has no Redis client to load

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as error:
        logger.warning("health: broker ping failed: %s", type(error).__name__)
        return "unreachable"
    return "ok"


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("health: database check failed: %s", type(error).__name__)
        return False
    return True


def health_report(*, now: dt.datetime | None = None) -> HealthReport:
    """Returns the publishing health: last tick, due and overdue deliveries, attention counts."""
    # The composition root's health view reads the publisher's rows; imported when asked, not at start-up.
    from scheduler.models import (
        CLAIMABLE_DELIVERY_STATUSES,
        ChannelStatus,
        Delivery,
        DeliveryStatus,
        PublisherHeartbeat,
    )

    now = now or timezone.now()
    interval = float(settings.CIVICPOST_DISPATCH_INTERVAL_SECONDS)
    alert_minutes = int(settings.CIVICPOST_OVERDUE_ALERT_MINUTES)
    report = HealthReport(
        checked_at=now,
        database_ok=database_ok(),
        broker=broker_state(),
        tick_interval_seconds=interval,
        overdue_alert_minutes=alert_minutes,
    )
    if not report.database_ok:
        report.problems.append("The database cannot be reached.")
        return report
    try:
        for beat in PublisherHeartbeat.objects.order_by("name"):
            report.loops.append(
                {
                    "name": beat.name,
                    "last_tick_at": beat.last_tick_at,
                    "seconds_since": round(max(0.0, (now - beat.last_tick_at).total_seconds()), 1),
                }
            )
        report.last_tick_at = PublisherHeartbeat.objects.aggregate(latest=Max("last_tick_at"))["latest"]
        claimable = Delivery.objects.filter(status__in=CLAIMABLE_DELIVERY_STATUSES)
        # A channel that must be reconnected holds its deliveries on purpose: a person is told on the
        # channel page; it is not a stalled publisher.
        waiting = claimable.filter(channel__status=ChannelStatus.CONNECTED)
        # A crisis hold (governance) keeps deliveries back on purpose too: not a stalled publisher.
        from scheduler.selectors import held_deliveries_filter

        held = held_deliveries_filter()
        if held is not None:
            waiting = waiting.exclude(held)
        report.waiting_for_reconnect_count = claimable.exclude(channel__status=ChannelStatus.CONNECTED).count()
        report.due_count = waiting.filter(next_attempt_at__lte=now).count()
        overdue = waiting.filter(next_attempt_at__lt=now - dt.timedelta(seconds=overdue_grace_seconds()))
        report.overdue_count = overdue.count()
        report.oldest_overdue_due_at = overdue.aggregate(oldest=Min("next_attempt_at"))["oldest"]
        if report.oldest_overdue_due_at is not None:
            report.oldest_overdue_delivery_id = (
                overdue.order_by("next_attempt_at", "id").values_list("id", flat=True).first()
            )
        report.needs_attention_count = Delivery.objects.filter(status=DeliveryStatus.NEEDS_ATTENTION).count()
        report.unknown_count = Delivery.objects.filter(status=DeliveryStatus.UNKNOWN).count()
    except DatabaseError as error:
        logger.warning("health: query failed: %s", type(error).__name__)
        report.database_ok = False
        report.problems.append("The database cannot be reached.")
        return report

    stalled_after = STALLED_TICK_INTERVALS * interval
    if report.due_count:
        if report.last_tick_at is None:
            report.problems.append(
                f"{report.due_count} deliveries are due and no publisher has ever run (start `publish_due --loop`)."
            )
        elif report.seconds_since_tick is not None and report.seconds_since_tick > stalled_after:
            report.problems.append(
                f"No publisher round for {int(report.seconds_since_tick)} s while {report.due_count} deliveries are "
                f"due (expected one every {interval:g} s)."
            )
    oldest = report.oldest_overdue_seconds
    if oldest is not None and oldest > alert_minutes * 60:
        report.problems.append(
            f"The oldest waiting delivery is {int(oldest // 60)} minutes late (alert after {alert_minutes})."
        )
    return report
