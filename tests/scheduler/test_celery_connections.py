"""Between Celery tasks, Django's rule for database connections (civicpost/celery.py): kept while younger than
CONN_MAX_AGE and usable, not closed after every task as Celery's Django fixup would; never for eager tasks."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings

from civicpost import celery as civicpost_celery


def test_celery_closes_connections_only_every_so_many_tasks():
    assert civicpost_celery.app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX >= 100


def test_between_tasks_the_old_connections_rule_applies(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("closed old"))
    worker_task = SimpleNamespace(request=SimpleNamespace(is_eager=False))
    civicpost_celery.close_old_database_connections(sender=worker_task)
    assert calls == ["closed old"]


def test_an_eager_task_leaves_the_callers_connection_alone(monkeypatch: pytest.MonkeyPatch):
    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("closed old"))
    eager_task = SimpleNamespace(request=SimpleNamespace(is_eager=True))
    civicpost_celery.close_old_database_connections(sender=eager_task)
    assert calls == []


def test_both_signals_are_connected(monkeypatch: pytest.MonkeyPatch):
    from celery.signals import task_postrun, task_prerun

    calls = []
    monkeypatch.setattr("django.db.close_old_connections", lambda: calls.append("closed old"))

    class WorkerTask:  # a signal's sender must be hashable
        request = SimpleNamespace(is_eager=False)

    worker_task = WorkerTask
    task_prerun.send(sender=worker_task, task_id="1", task=worker_task, args=(), kwargs={})
    task_postrun.send(
        sender=worker_task, task_id="1", task=worker_task, args=(), kwargs={}, retval=None, state="SUCCESS"
    )
    assert calls == ["closed old", "closed old"]
