import json
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest

from civicpost.celery import app
from civicpost.periodic import PERIODIC_JOBS, EmbeddedPeriodicRunner, PeriodicJob
from tests.scheduler.celery_worker import (
    PROJECT_ROOT,
    WAIT_SECONDS,
    new_queue_name,
    queue_delete,
    running_worker,
    worker_database_url,
)


def test_every_periodic_job_names_a_registered_celery_task() -> None:
    app.loader.import_default_modules()
    for job in PERIODIC_JOBS:
        assert job.task in app.tasks, job.task


def test_beat_schedule_has_the_dispatcher_and_every_periodic_job() -> None:
    app.finalize()
    names = set(app.conf.beat_schedule)
    assert "dispatch due deliveries" in names
    assert {job.name for job in PERIODIC_JOBS} <= names


def test_embedded_runner_runs_each_job_once_per_interval_and_survives_a_failing_job() -> None:
    calls: list[str] = []
    jobs = (PeriodicJob("a", "task.a", 60), PeriodicJob("b", "task.b", 10))
    tasks = {
        "task.a": mock.Mock(apply=lambda: calls.append("a") or mock.Mock(failed=lambda: False)),
        "task.b": mock.Mock(apply=mock.Mock(side_effect=RuntimeError("boom"))),
    }
    runner = EmbeddedPeriodicRunner(jobs=jobs)
    with mock.patch("civicpost.periodic.current_app") as current:
        current.tasks = tasks
        assert runner.run_due(now=0) == []
        assert runner.run_due(now=10) == ["b"]
        assert runner.run_due(now=60) == ["a", "b"]
        assert runner.run_due(now=61) == []
    assert calls == ["a"]


# --- Every periodic job, in a process of its own: the embedded publisher and a real Celery worker --------

EMBEDDED_SCRIPT = """
import json
import logging
import django

django.setup()
from civicpost.periodic import EmbeddedPeriodicRunner

failures = []


class Collect(logging.Handler):
    def emit(self, record):
        failures.append(record.getMessage() + " " + repr(record.exc_info and record.exc_info[1]))


logging.getLogger("civicpost.periodic").addHandler(Collect())
runner = EmbeddedPeriodicRunner()
runner.run_due(now=0)  # as publish_due --loop does: each job's first run comes one interval later
print(json.dumps({"ran": runner.run_due(now=10**9), "failures": failures}))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_every_periodic_job_runs_in_the_embedded_publisher_of_make_run() -> None:
    """A fresh process, as `publish_due --loop` of `make run` is: no test module has imported the apps'
    tasks modules for it (a job whose task was never imported failed with NotRegistered every time)."""
    env = {key: value for key, value in os.environ.items() if key != "REDIS_URL"}
    env.update(DJANGO_SETTINGS_MODULE="tests.settings", DATABASE_URL=worker_database_url())
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", EMBEDDED_SCRIPT],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome == {"ran": [job.name for job in PERIODIC_JOBS], "failures": []}, done.stderr


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_every_periodic_job_runs_on_a_real_celery_worker(tmp_path: Path) -> None:
    """Beat sends each job by task name (civicpost/celery.py): a worker must know every one of them."""
    queue_name = new_queue_name()
    log_path = tmp_path / "worker.log"
    try:
        with running_worker(queue_name, log_path) as worker:
            sent = {job.name: app.send_task(job.task, queue=queue_name).id for job in PERIODIC_JOBS}
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                log = log_path.read_text()
                if all(f"[{task_id}] succeeded" in log for task_id in sent.values()):
                    break
                assert worker.poll() is None, f"the worker exited:\n{log}"
                time.sleep(0.25)
    finally:
        queue_delete(queue_name)
    log = log_path.read_text()
    for job in PERIODIC_JOBS:
        assert f"Task {job.task}[{sent[job.name]}] succeeded" in log, f"{job.name}:\n{log}"
    assert "NotRegistered" not in log
