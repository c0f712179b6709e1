"""Celery entry points of the API: thin, one service call."""

from celery import shared_task

from api import services


@shared_task(name="api.tasks.prune_idempotency_records", ignore_result=True)
def prune_idempotency_records() -> int:
    return services.idempotency_records_prune()
