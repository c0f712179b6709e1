"""Celery entry points of governance: nothing in, one service call."""

from celery import shared_task

from governance import notifications


@shared_task(name="governance.tasks.send_approval_digest", ignore_result=True)
def send_approval_digest() -> None:
    """Runs every hour; sends the day's digests once the digest hour has come (once per person per day)."""
    if notifications.digest_due():
        notifications.approval_digest_send(day=notifications.digest_day())
