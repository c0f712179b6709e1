"""A real `celery -A civicpost worker` subprocess for the end-to-end tests, on pytest-django's test database
and the Redis in REDIS_URL, consuming one queue of its own (another run's worker cannot take our tasks)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.db import connection

from civicpost.celery import app as celery_app
from scheduler.models import Delivery, DeliveryStatus

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


def worker_database_url() -> str:
    """The URL of the database this test runs in (pytest-django's test_<name>), for the worker."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def new_queue_name() -> str:
    return f"civicpost-e2e-{uuid.uuid4().hex[:12]}"


def queue_delete(name: str) -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


def queue_purge(name: str) -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(name)


@contextlib.contextmanager
def running_worker(
    queue_name: str, log_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """Starts the worker on the test database (call with database access); stops it on leaving."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    command = [
        str(Path(sys.executable).with_name("celery")),
        "-A",
        "civicpost",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-Q",
        queue_name,
        "-n",
        f"{queue_name}@%h",
        "-l",
        "info",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)


@contextlib.contextmanager
def tasks_through_the_broker() -> Iterator[None]:
    """The test settings run tasks eagerly; inside this block they go through Redis to the worker."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


def wait_until_settled(
    delivery: Delivery, worker: subprocess.Popen, log_path: Path, *, timeout: float = WAIT_SECONDS
) -> float:
    """Waits until the worker has moved the delivery past claimed / sending; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        delivery.refresh_from_db()
        if delivery.status not in (DeliveryStatus.CLAIMED, DeliveryStatus.SENDING):
            break
        assert worker.poll() is None, f"the worker exited:\n{log_path.read_text()}"
        time.sleep(0.1)
    return time.monotonic() - started
