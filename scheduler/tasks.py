"""Celery entry points: ids in, one service call, nothing else."""

from celery import shared_task

from scheduler import publishing


@shared_task(name="scheduler.tasks.publish_delivery", acks_late=True, reject_on_worker_lost=True)
def publish_delivery(delivery_id: int) -> None:
    publishing.delivery_publish(delivery_id=delivery_id)


def enqueue_publish(delivery_id: int) -> None:
    publish_delivery.delay(delivery_id)


@shared_task(name="scheduler.tasks.dispatch_due_deliveries", ignore_result=True)
def dispatch_due_deliveries() -> None:
    publishing.dispatch_tick(enqueue=enqueue_publish, loop_name="celery-beat")
