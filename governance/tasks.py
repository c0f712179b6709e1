"""Celery entry points of governance: nothing in, one service call."""

from celery import shared_task

from governance import digest


@shared_task(name="governance.tasks.send_approval_digest", ignore_result=True)
def send_approval_digest() -> None:
    """Runs every hour; sends the day's digests once the digest hour has come (once per person per day)."""
    if digest.digest_due():
        digest.approval_digest_send(day=digest.digest_day())
