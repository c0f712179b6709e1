"""The periodic job that fills free slots with evergreen posts (civicpost/periodic.py runs it from Celery beat
and from the embedded publisher of `make run`)."""

from __future__ import annotations

from celery import shared_task

from postqueue.services import evergreen_fill


@shared_task(name="postqueue.tasks.fill_evergreen_slots")
def fill_evergreen_slots() -> int:
    """Returns how many repetitions were made (each submitted for approval)."""
    return len(evergreen_fill())
