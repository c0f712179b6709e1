"""The short chaos run (bench/chaos.py with ~200 deliveries): crashed workers at every crash point,
restarted Redis and PostgreSQL, two dispatchers, a platform that drops 10% of its answers.

It starts its own PostgreSQL, Redis and fake platform on loopback, so it only needs the binaries; it is
marked postgres + redis so that it runs wherever those run (always in CI)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CRASH_POINTS = {"after_claim", "after_sending", "after_accept", "after_db_write", "dispatcher_after_claim"}

# Its tests share one chaos run (one xdist group, so one worker runs it once); the two chaos runs are separate
# groups, scheduled first (xdist orders groups by size) on different workers: they mostly wait on leases and
# retries, so they overlap with each other and with the rest of the suite (.ci/run uses three workers).
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("chaos-short")]


@pytest.fixture(scope="session")
def chaos_figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("chaos") / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "chaos.py"),
            "--deliveries",
            "200",
            "--duration",
            "60",
            "--workers",
            "2",
            "--kills",
            "3",
            "--crash-probability",
            "0.02",
            "--drain-timeout",
            "480",
            "--seed",
            "20261129",
            "--json",
            str(out),
        ],  # fmt: skip
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, f"chaos run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    print(done.stdout)
    return json.loads(out.read_text())


def test_nothing_is_published_twice(chaos_figures: dict) -> None:
    assert chaos_figures["duplicates"] == 0


def test_nothing_is_lost(chaos_figures: dict) -> None:
    assert chaos_figures["still_pending"] == 0, chaos_figures["still_pending_examples"]
    assert chaos_figures["published_not_on_platform"] == 0
    assert chaos_figures["lost"] == 0


def test_nothing_unapproved_or_edited_is_published(chaos_figures: dict) -> None:
    assert chaos_figures["unapproved_published"] == 0
    assert chaos_figures["never_approved_posts"] > 0
    assert chaos_figures["edits"].get("edited", 0) > 0


def test_every_needs_attention_is_a_send_the_platform_could_not_confirm(chaos_figures: dict) -> None:
    assert chaos_figures["needs_attention_unexplained"] == 0


def test_nothing_marked_failed_is_on_the_platform(chaos_figures: dict) -> None:
    # A "failed" post that is in fact live invites a person to post it again: a duplicate in waiting.
    assert chaos_figures["failed_but_on_platform"] == 0, chaos_figures["failed_but_on_platform_examples"]


def test_the_run_really_was_chaotic(chaos_figures: dict) -> None:
    assert set(chaos_figures["crash_point_kills"]) == CRASH_POINTS
    assert chaos_figures["random_kills"] >= 1
    assert chaos_figures["service_restarts"] == ["redis", "postgres"]
    stats = chaos_figures["fake_stats"]
    assert sum(v for k, v in stats.items() if k.endswith(":drop")) > 0
    assert chaos_figures["published"] + chaos_figures["needs_attention"] + chaos_figures["failed_with_reason"] > 0
