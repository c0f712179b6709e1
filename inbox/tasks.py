"""Celery entry points: one service call each."""

from celery import shared_task
from django.conf import settings

from inbox import services


@shared_task(name="inbox.tasks.poll_inbox", ignore_result=True)
def poll_inbox() -> None:
    # Half the soft time limit for platform requests: the rest of the pass waits for the next run.
    services.inbox_poll_pass(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)
