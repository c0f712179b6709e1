"""Celery entry points: one service call each."""

from __future__ import annotations

from celery import shared_task

from intake.services import feeds_fetch_due


@shared_task(name="intake.tasks.fetch_due_feeds", ignore_result=True)
def fetch_due_feeds() -> None:
    feeds_fetch_due()
