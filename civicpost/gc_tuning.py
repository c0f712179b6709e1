"""Garbage-collector settings for the long-running web process (applied by civicpost/wsgi.py).

A page such as the calendar month allocates tens of thousands of objects (model instances, template
nodes); with CPython's default threshold (700 allocations) the collector ran ~40 young passes and a full
pass now and then inside one such request, each full pass walking every object the process loaded at
start-up (Django, the URL conf, every adapter). Freezing what start-up loaded moves it out of the
collector's sight for good, and a higher young-generation threshold lets a request finish with a few
passes. bench/calendar_month.py prints the passes and their time per request with and without this."""

from __future__ import annotations

import gc

# Young-generation threshold: 50,000 allocations (a few MB of short-lived objects) between passes.
GEN0_THRESHOLD = 50_000


def tune_gc_for_web() -> tuple[int, int, int]:
    """Freezes every object alive now (call it once start-up has imported everything) and raises the
    young-generation threshold. Returns the thresholds now in force."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
    return gc.get_threshold()
