"""Celery wiring. The schedule lives in the database; beat only rings the dispatcher's doorbell."""

import os

from celery import Celery, Task
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicpost.settings")

app = Celery("civicpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def close_old_database_connections(sender: Task | None = None, **_kwargs: object) -> None:
    """Between tasks, what Django does between requests: drop this thread's connection once it is older than
    CONN_MAX_AGE, broken, or left outside autocommit, and check the one kept before its next use
    (CONN_HEALTH_CHECKS). Celery's own closing of every connection runs only every CELERY_DB_REUSE_MAX tasks.
    Not for eager tasks: they run inside the caller's request or test transaction."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections  # this module loads before Django is set up

    close_old_connections()


@app.on_after_finalize.connect
def add_dispatcher_schedule(sender: Celery, **_kwargs: object) -> None:
    from django.conf import settings  # read once Celery has finalized: Django is configured by then

    from civicpost.periodic import PERIODIC_JOBS  # the job list imports the apps' tasks: after finalize

    sender.add_periodic_task(
        float(settings.CIVICPOST_DISPATCH_INTERVAL_SECONDS),
        sender.signature("scheduler.tasks.dispatch_due_deliveries"),
        name="dispatch due deliveries",
    )
    for job in PERIODIC_JOBS:
        sender.add_periodic_task(job.every_seconds, sender.signature(job.task), name=job.name)
