"""Celery entry points: one service call each."""

from celery import shared_task

from analytics import services


@shared_task(name="analytics.tasks.collect_metrics", ignore_result=True)
def collect_metrics() -> None:
    services.metrics_collect_pass()
