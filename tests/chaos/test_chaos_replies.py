"""The chaos run for inbox replies (issue 15): every post is a reply to a resident on Mastodon, written through the
inbox's path (scheduler.services.reply_create, approved automatically) and published by the same exactly-once
machinery, under the same conditions as the short chaos run (bench/chaos.py): crashed workers at every crash
point, restarted Redis and PostgreSQL, two dispatchers, a platform that drops 10% of its answers.

Marked postgres + redis like the short run; it starts its own services on loopback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# One at a time under xdist (--dist loadgroup): each chaos run starts its own servers and loads both cores.
pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("chaos")]


@pytest.fixture(scope="module")
def chaos_figures(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("chaos-replies") / "figures.json"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "chaos.py"),
            "--deliveries",
            "80",
            "--replies",
            "1.0",
            "--duration",
            "40",
            "--workers",
            "2",
            "--kills",
            "2",
            "--crash-probability",
            "0.05",
            "--drain-timeout",
            "480",
            "--seed",
            "20261206",
            "--json",
            str(out),
        ],  # fmt: skip
        cwd=ROOT,
        # As in the threads case: the local fake lists a post the moment it stores it, so Mastodon's reconcile may
        # call an unclear reply absent after 20 s instead of 2 minutes (production keeps 2 minutes).
        env={**os.environ, "CIVICPOST_FAKE_RECONCILE_SETTLE_SECONDS": "20"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, f"chaos run failed:\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    print(done.stdout)
    return json.loads(out.read_text())


def test_every_delivery_was_a_reply(chaos_figures: dict) -> None:
    assert chaos_figures["replies"] == chaos_figures["deliveries"] == 80


def test_no_reply_is_published_twice_or_lost(chaos_figures: dict) -> None:
    assert chaos_figures["duplicates"] == 0
    assert chaos_figures["still_pending"] == 0, chaos_figures["still_pending_examples"]
    assert chaos_figures["lost"] == 0
    assert chaos_figures["published_not_on_platform"] == 0
    assert chaos_figures["failed_but_on_platform"] == 0


def test_each_reply_on_the_platform_answers_the_residents_status(chaos_figures: dict) -> None:
    assert chaos_figures["replies_published"] > 0
    assert chaos_figures["replies_not_sent_as_reply"] == 0


def test_the_run_really_was_chaotic(chaos_figures: dict) -> None:
    assert chaos_figures["crash_point_kills"]
    assert chaos_figures["service_restarts"] == ["redis", "postgres"]
    assert sum(v for k, v in chaos_figures["fake_stats"].items() if k.endswith(":drop")) > 0
