"""Settings for the chaos run and the benchmarks' worker, dispatcher and web processes.

Everything still comes from the environment (DATABASE_URL, REDIS_URL, CIVICPOST_PLATFORM_URLS,
CIVICPOST_ENCRYPTION_KEYS, ...) through civicpost.settings; this module only adds the test-only crash
hooks (bench/_chaos_hooks.py, inactive unless CIVICPOST_CHAOS_CRASH_AT is set) and quieter logs.
"""

import os

from civicpost.settings import *  # noqa: F403
from civicpost.settings import INSTALLED_APPS, LOGGING

INSTALLED_APPS = [*INSTALLED_APPS, "bench._chaos_hooks.ChaosHooksConfig"]
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": os.environ.get("CIVICPOST_LOG_LEVEL", "WARNING")}}
# The harness runs loopback fakes over plain http.
CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
# The threads chaos case waits for each unclear part's reconcile before the next part may go; against the local
# fake (which lists a post as soon as it stores it) it may shorten the platforms' settle time. Unset: as in production.
if os.environ.get("CIVICPOST_FAKE_RECONCILE_SETTLE_SECONDS"):
    CIVICPOST_RECONCILE_SETTLE_SECONDS = float(os.environ["CIVICPOST_FAKE_RECONCILE_SETTLE_SECONDS"])
