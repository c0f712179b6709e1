"""`make run` keeps its publisher running: a worker that exits on its own is started again, as systemd's
Restart=always does in production; the web server stopping still stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.management.commands import run_embedded
from scheduler.management.commands.run_embedded import Supervisor
from tests.scheduler.celery_worker import PROJECT_ROOT, worker_database_url

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _wait_for(condition, *, timeout: float, step: float = 0.05) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def supervisor(monkeypatch):
    monkeypatch.setattr(run_embedded, "RESTART_DELAYS_SECONDS", (0.2, 0.4))
    messages: list[str] = []
    supervised = Supervisor({"web": SLEEPER, "publisher": SLEEPER}, restartable={"publisher"}, write=messages.append)
    supervised.start()
    yield supervised, messages
    for process in supervised.processes.values():
        process.kill()
        process.wait()


def test_a_publisher_that_is_killed_is_started_again_and_the_web_server_keeps_running(supervisor):
    supervised, messages = supervisor
    web, publisher = supervised.processes["web"], supervised.processes["publisher"]

    publisher.send_signal(signal.SIGKILL)
    publisher.wait()
    assert supervised.check() is None  # noticed: a restart is scheduled, make run goes on
    assert messages == ["The publisher process stopped (exit code -9); starting it again in 0.2 s."]

    assert _wait_for(
        lambda: supervised.check() is None and supervised.processes["publisher"] is not publisher, timeout=5
    )
    restarted = supervised.processes["publisher"]
    assert restarted.poll() is None
    assert restarted.pid != publisher.pid
    assert messages[-1] == f"The publisher process was started again (pid {restarted.pid})."
    assert supervised.processes["web"] is web
    assert web.poll() is None

    # Exiting again right away: the next restart waits longer.
    restarted.send_signal(signal.SIGKILL)
    restarted.wait()
    supervised.check()
    assert messages[-1] == "The publisher process stopped (exit code -9); starting it again in 0.4 s."


def test_the_web_server_stopping_stops_make_run(supervisor):
    supervised, messages = supervisor
    supervised.processes["web"].send_signal(signal.SIGTERM)
    supervised.processes["web"].wait()
    assert supervised.check() == -signal.SIGTERM
    assert messages == ["The web process stopped (exit code -15); stopping."]


# --- The real thing: `manage.py run_embedded` with REDIS_URL, its Celery worker killed ----------------


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _celery_child(pid: int) -> int | None:
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"celery" in cmdline and b"worker" in cmdline:
            return child
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads the process tree from /proc (Linux)")
@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_make_run_with_redis_starts_its_celery_worker_again_when_it_is_killed(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": worker_database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "make-run.log"
    addrport = f"127.0.0.1:{_free_port()}"
    with log_path.open("wb") as log:
        make_run = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", "run_embedded", addrport, "--noreload"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        assert _wait_for(lambda: _celery_child(make_run.pid) is not None, timeout=30, step=0.2), log_path.read_text()
        worker = _celery_child(make_run.pid)
        os.kill(worker, signal.SIGKILL)  # as if it had died of kombu's AttributeError while Redis restarts

        def restarted() -> bool:
            child = _celery_child(make_run.pid)
            return child is not None and child != worker

        assert _wait_for(restarted, timeout=30, step=0.2), log_path.read_text()
        assert make_run.poll() is None, log_path.read_text()
        assert _wait_for(lambda: "was started again" in log_path.read_text(), timeout=5), log_path.read_text()
        assert "The publisher process stopped (exit code -9); starting it again in 1 s." in log_path.read_text()
    finally:
        make_run.send_signal(signal.SIGTERM)
        try:
            make_run.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make_run.pid, signal.SIGKILL)
            make_run.wait()
    assert "CivicPost stopped." in log_path.read_text()
