from unittest import mock

from civicpost.celery import app
from civicpost.periodic import PERIODIC_JOBS, EmbeddedPeriodicRunner, PeriodicJob


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
        "task.a": mock.Mock(apply=lambda: calls.append("a")),
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
