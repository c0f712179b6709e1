"""Celery wiring. The schedule lives in the database; beat only rings the dispatcher's doorbell."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicpost.settings")

app = Celery("civicpost")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
