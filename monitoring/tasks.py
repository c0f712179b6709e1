"""Celery entry points for monitoring: thin, one service call."""

from celery import shared_task

from monitoring import services


@shared_task(name="monitoring.tasks.alert_overdue_deliveries", ignore_result=True)
def alert_overdue_deliveries() -> int:
    return services.alert_overdue_deliveries()
