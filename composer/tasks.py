"""Celery entry points of the composer: ids in, one service call, nothing else."""

from celery import shared_task

from composer.csv_import import csv_import_run


# A 2,000-row import takes tens of seconds: more than a web request, well under these limits.
@shared_task(name="composer.tasks.import_csv", acks_late=True, time_limit=900, soft_time_limit=840)
def import_csv(import_id: int) -> None:
    csv_import_run(upload_id=import_id)
