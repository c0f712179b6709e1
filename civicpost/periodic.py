"""The housekeeping jobs that run besides the dispatcher, in one list for both ways of running
CivicPost: Celery beat sends them to the workers; the embedded publisher of `make run` (no Redis)
runs them itself between dispatcher rounds."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from celery import current_app
from django.conf import settings

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
    # The API keeps each create's response for retries with its Idempotency-Key for a day.
    PeriodicJob("forget old API idempotency keys", "api.tasks.prune_idempotency_records", 3600),
    # Metric snapshots at their ages, follower counts once a day, removal notices (analytics).
    # Outbound webhooks: retries when due, and every event when `make run` has no broker (webhooks.services).
    PeriodicJob("send due webhook deliveries", "webhooks.tasks.dispatch_webhook_deliveries", 10),
    # The city's own feeds (iCal, RSS/Atom) to drafts; each feed is read every 15 minutes (intake.services).
    PeriodicJob("read the city's feeds into drafts", "intake.tasks.fetch_due_feeds", 300),
    PeriodicJob("collect post metrics", "analytics.tasks.collect_metrics", settings.CIVICPOST_METRICS_INTERVAL_SECONDS),
    # Hourly; each department's and the city's weekly report goes out once, on the Monday after the week.
    PeriodicJob("send the weekly analytics reports", "analytics.tasks.send_weekly_reports", 3600),
    # The public-records archive: capture what the sources recorded since their cursors; hourly, e-mail the
    # chain head to the records officers once per UTC day; daily, list what has passed retention.
    PeriodicJob("capture into the archive", "archive.tasks.capture", settings.CIVICPOST_ARCHIVE_CAPTURE_SECONDS),
    PeriodicJob("e-mail the archive chain head", "archive.tasks.send_chain_head", 3600),
    PeriodicJob("propose archive disposition", "archive.tasks.propose_disposition", 86400),
    # Residents' replies, comments and mentions, from each channel's stored cursor (inbox).
    PeriodicJob("read the inbox", "inbox.tasks.poll_inbox", settings.CIVICPOST_INBOX_INTERVAL_SECONDS),
    # Evergreen posts into free posting slots, each repetition submitted for approval (postqueue.services).
    PeriodicJob("fill free slots with evergreen posts", "postqueue.tasks.fill_evergreen_slots", 3600),
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
            self.run(job)
            ran.append(job.name)
        return ran

    def run(self, job: PeriodicJob) -> bool:
        """Runs one job now, in this process. Returns whether it succeeded (a failure is logged)."""
        try:
            result = task_for(job).apply()
            if result.failed():
                # apply() keeps a task's exception in its result instead of raising it.
                raise result.result
        except Exception:  # noqa: BLE001 - one failing job must not stop publishing
            logger.exception("periodic job %r failed", job.name)
            return False
        return True


def task_for(job: PeriodicJob):  # noqa: ANN201 - a celery Task
    """Returns the registered task a job names.

    The tasks modules of the apps (autodiscover_tasks) are imported when a Celery worker or beat starts,
    not when a management command does: without importing them here, the embedded publisher of
    `make run` would find only the tasks its own imports happened to load (NotRegistered)."""
    global _task_modules_imported  # noqa: PLW0603 - once per process
    if not _task_modules_imported:
        current_app.loader.import_default_modules()
        _task_modules_imported = True
    return current_app.tasks[job.task]


_task_modules_imported = False
