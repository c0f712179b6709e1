"""Every long-running process of a deployment is started again when it exits (issue 11, item 22): a Celery
worker can exit on its own under faults, and nothing else would bring it back."""

import configparser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
UNITS = {
    "civicpost-web.service": "gunicorn civicpost.wsgi",
    "civicpost-worker.service": "celery -A civicpost worker",
    "civicpost-beat.service": "celery -A civicpost beat",
}


def test_compose_restarts_web_worker_and_beat_but_not_the_one_off_migration() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("web", "worker", "beat", "postgres", "redis"):
        assert services[name]["restart"] == "unless-stopped", name
    assert services["migrate"]["restart"] == "no"


@pytest.mark.parametrize(("unit", "program"), UNITS.items())
def test_each_systemd_unit_restarts_its_process_whenever_it_exits(unit: str, program: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((ROOT / "docs" / "deploy" / unit).read_text())
    assert parser["Service"]["Restart"] == "always"
    assert parser["Unit"]["StartLimitIntervalSec"] == "0"
    assert program in parser["Service"]["ExecStart"]
    assert unit in (ROOT / "docs" / "deploy" / "README.md").read_text()


@pytest.mark.parametrize("runner_args", [["-p", "no:xdist"], []])
def test_the_suite_starts_without_xdist_workers(runner_args: list[str]) -> None:
    """`make test` runs pytest without arguments (CI adds `-n 3 --dist loadgroup`): a plain run must get past
    the collection hooks of tests/conftest.py (an option only xdist's workers have once stopped every one)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(  # noqa: S603 - our own interpreter on our own test file
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            *runner_args,
            "tests/test_text.py",
        ],  # fmt: skip
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "INTERNALERROR" not in result.stdout + result.stderr
