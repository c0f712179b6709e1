"""Celery entry points: one service call each."""

from celery import shared_task
from django.conf import settings

from analytics import services


@shared_task(name="analytics.tasks.collect_metrics", ignore_result=True)
def collect_metrics() -> None:
    # Half the soft time limit for platform requests: the rest of the pass waits for the next run.
    services.metrics_collect_pass(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
