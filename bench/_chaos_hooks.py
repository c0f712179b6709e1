"""Test-only crash points for the chaos run: never imported by production code.

Loaded as a Django app by bench/_chaos_settings.py. When the environment says
CIVICPOST_CHAOS_CRASH_AT="after_claim:0.02,after_sending:0.02,after_accept:0.02,after_db_write:0.02,
dispatcher_after_claim:0.02", it wraps functions of scheduler.publishing so that the process SIGKILLs
itself at that point with that probability (and always at the first chance of each point), writing one
line to $CIVICPOST_CHAOS_DIR/kills.log first. The crash points are those of shared/reliability.md:

  after_claim             a worker got a claimed delivery and dies before claimed -> sending
  after_sending           sending is committed, no HTTP request sent yet
  after_accept            the platform accepted the post, the answer never reaches the database
  after_db_write          the outcome is committed, the task is not yet acknowledged
  dispatcher_after_claim  the dispatcher committed its claims and dies before enqueueing them

Because Celery prefork forks its children after Django is set up, the wrapped functions are inherited
by every child.
"""

from __future__ import annotations

import os
import random
import signal
import time
from typing import Any

from django.apps import AppConfig

CRASH_POINTS = ("after_claim", "after_sending", "after_accept", "after_db_write", "dispatcher_after_claim")


def crash_plan() -> dict[str, float]:
    plan: dict[str, float] = {}
    for item in filter(None, os.environ.get("CIVICPOST_CHAOS_CRASH_AT", "").split(",")):
        point, _, probability = item.partition(":")
        if point.strip() not in CRASH_POINTS:
            raise ValueError(f"unknown crash point {point!r}; use one of {CRASH_POINTS}")
        plan[point.strip()] = float(probability or 1.0)
    return plan


def maybe_crash(point: str, plan: dict[str, float], detail: str = "") -> None:
    probability = plan.get(point)
    if probability is None:
        return
    folder = os.environ.get("CIVICPOST_CHAOS_DIR", "/tmp")
    first = False
    try:
        # The first process to reach a point always crashes there, so every point is exercised.
        os.close(os.open(os.path.join(folder, f"crashed-{point}"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        first = True
    except FileExistsError:
        pass
    if not first and random.random() >= probability:  # noqa: S311 - fault injection
        return
    with open(os.path.join(folder, "kills.log"), "a", encoding="utf-8") as log:
        log.write(f"{time.time():.3f} {os.getpid()} {point} {detail}\n")
    os.kill(os.getpid(), signal.SIGKILL)


def install(plan: dict[str, float]) -> None:
    """Wraps scheduler.publishing's steps with the crash points in `plan`."""
    from scheduler import publishing

    real_start, real_finish = publishing._start_sending, publishing._finish
    real_adapter_for_channel, real_claim = publishing.adapter_for_channel, publishing.deliveries_claim_due

    def start_sending(delivery_id: int) -> Any:
        maybe_crash("after_claim", plan, str(delivery_id))
        started = real_start(delivery_id)
        if started is not None:
            maybe_crash("after_sending", plan, str(delivery_id))
        return started

    def finish(delivery: Any, attempt: Any, **kwargs: Any) -> bool:
        result = real_finish(delivery, attempt, **kwargs)
        maybe_crash("after_db_write", plan, f"{delivery.pk} {kwargs.get('status')}")
        return result

    class CrashingAdapter:
        def __init__(self, adapter: Any) -> None:
            self._adapter = adapter

        def __getattr__(self, name: str) -> Any:
            return getattr(self._adapter, name)

        def publish(self, content: Any, *, idempotency_key: str) -> Any:
            result = self._adapter.publish(content, idempotency_key=idempotency_key)
            maybe_crash("after_accept", plan, idempotency_key)
            return result

    def adapter_for_channel(channel: Any) -> Any:
        return CrashingAdapter(real_adapter_for_channel(channel))

    def claim_due(**kwargs: Any) -> list[int]:
        claimed = real_claim(**kwargs)
        if claimed:
            maybe_crash("dispatcher_after_claim", plan, str(len(claimed)))
        return claimed

    publishing._start_sending = start_sending
    publishing._finish = finish
    publishing.adapter_for_channel = adapter_for_channel
    publishing.deliveries_claim_due = claim_due


def _register_missing_adapters() -> None:
    """Until the lead registers it, make the Mastodon adapter known to the registry (harness only)."""
    from scheduler.adapters import registry

    if "mastodon" not in registry.BUILT_IN_PLATFORMS:
        try:
            import scheduler.adapters.mastodon.adapter  # noqa: F401
        except ImportError:
            return
        registry.BUILT_IN_PLATFORMS["mastodon"] = "scheduler.adapters.mastodon"
        registry.adapter_classes.cache_clear()


def _announce_ready(sender: Any = None, **_kwargs: Any) -> None:
    """Tells the harness this worker consumes (a file per worker, named after its node name)."""
    folder = os.environ.get("CIVICPOST_CHAOS_DIR")
    if folder:
        name = getattr(sender, "hostname", "worker").split("@")[0]
        with open(os.path.join(folder, f"ready-{name}"), "a", encoding="utf-8") as handle:
            handle.write(f"{time.time():.3f} {os.getpid()}\n")


class ChaosHooksConfig(AppConfig):
    name = "bench"
    label = "civicpost_chaos_hooks"
    verbose_name = "Chaos hooks (test only)"

    def ready(self) -> None:
        from celery.signals import worker_ready

        worker_ready.connect(_announce_ready, weak=False)
        _register_missing_adapters()
        plan = crash_plan()
        if plan:
            install(plan)
