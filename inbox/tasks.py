"""Celery entry points: one service call each."""

from celery import shared_task
from django.conf import settings

from inbox import services
from inbox.mentions import mention_notice_read


@shared_task(name="inbox.tasks.poll_inbox", ignore_result=True)
def poll_inbox() -> None:
    # Half the soft time limit for platform requests: the rest of the pass waits for the next run.
    services.inbox_poll_pass(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT / 2)


@shared_task(name="inbox.tasks.read_mention", bind=True, ignore_result=True, max_retries=5)
def read_mention(self, notice_id: int) -> None:  # noqa: ANN001
    wait = mention_notice_read(notice_id=notice_id)
    if wait is not None:
        raise self.retry(countdown=wait)
