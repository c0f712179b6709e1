"""The housekeeping jobs that run besides the dispatcher, in one list for both ways of running
CivicPost: Celery beat sends them to the workers; the embedded publisher of `make run` (no Redis)
runs them itself between dispatcher rounds."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from celery import current_app

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    every_seconds: float


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("alert on overdue deliveries", "monitoring.tasks.alert_overdue_deliveries", 60),
    PeriodicJob("refresh expiring channel tokens", "connections.refresh_expiring_tokens", 3600),
    # Hourly; sends each approver's daily digest once the digest hour has come (once per person per day).
    PeriodicJob("send the daily approval digest", "governance.tasks.send_approval_digest", 3600),
)


@dataclass
class EmbeddedPeriodicRunner:
    """Runs each job when its interval has passed (first run one interval after start)."""

    jobs: tuple[PeriodicJob, ...] = PERIODIC_JOBS
    next_run: dict[str, float] = field(default_factory=dict)

    def run_due(self, *, now: float | None = None) -> list[str]:
        now = time.monotonic() if now is None else now
        ran = []
        for job in self.jobs:
            due_at = self.next_run.setdefault(job.name, now + job.every_seconds)
            if now < due_at:
                continue
            self.next_run[job.name] = now + job.every_seconds
            try:
                current_app.tasks[job.task].apply()
            except Exception:  # noqa: BLE001 - one failing job must not stop publishing
                logger.exception("periodic job %r failed", job.name)
            ran.append(job.name)
        return ran
