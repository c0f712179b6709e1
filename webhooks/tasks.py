"""Celery entry points: ids in, one service call."""

from __future__ import annotations

from celery import shared_task

from webhooks.services import webhook_deliveries_dispatch, webhook_delivery_send


@shared_task(name="webhooks.tasks.send_webhook_delivery", ignore_result=True)
def send_webhook_delivery(delivery_id: int) -> None:
    webhook_delivery_send(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.dispatch_webhook_deliveries", ignore_result=True)
def dispatch_webhook_deliveries() -> None:
    """Periodic: puts back stalled sends and queues every due delivery (retries, and everything when
    `make run` has no broker: the eager task then sends it right here)."""
    webhook_deliveries_dispatch(enqueue=send_webhook_delivery.delay)
