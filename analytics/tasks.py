"""Celery entry points: one service call each."""

from celery import shared_task
from django.conf import settings

from analytics import services, weekly


@shared_task(name="analytics.tasks.collect_metrics", ignore_result=True)
def collect_metrics() -> None:
    # Half the soft time limit for platform requests: the rest of the pass waits for the next run.
    services.metrics_collect_pass(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)


@shared_task(name="analytics.tasks.send_weekly_reports", ignore_result=True)
def send_weekly_reports() -> None:
    weekly.weekly_reports_send()
