"""Test settings: the real settings, plus fixed secret and encryption keys and fast password hashing."""

import os

os.environ.setdefault("CIVICPOST_ENCRYPTION_KEYS", "x6Qd1a8S9WZ1m6lq6w0jv3mD5ZV4mQv2bqGkHc1y2aE=")
# The real settings refuse to start without a key unless DJANGO_DEBUG is true; tests run with it off.
os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-Wq3vN8zL1xR6tY0uJ4kP7mB2cD9fG5hS1aE8iO3rT6yU0")

from civicpost.settings import *  # noqa: E402,F403
from civicpost.settings import CIVICPOST_ENCRYPTION_KEYS  # noqa: E402

assert CIVICPOST_ENCRYPTION_KEYS

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Each test process its own cache, emptied before every test (tests/conftest.py): with REDIS_URL the real
# settings put the cache in Redis, shared by the xdist workers and by one test with the next (a Mastodon
# instance's limits cached by one test answered another's), and `cache.clear()` there is FLUSHDB of the
# database Celery uses. Rate limits in Redis are tested on their own (tests/accounts/test_admin_and_rate_limits.py).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "civicpost-tests"}}
CIVICPOST_SANDBOX_MODE = "ok"
# Tests of video processing decide when the platform is done; a worker never waits in them.
CIVICPOST_VIDEO_INLINE_WAIT_SECONDS = 0.0
SITE_URL = "http://testserver"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests decide for themselves whether tasks run eagerly (most do) or go through a real worker.
CELERY_TASK_ALWAYS_EAGER = True
# Adapter tests point Mastodon / Bluesky channels at fakes on http://127.0.0.1 (scheduler/adapters/ssrf.py).
CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True
# Sign-in policy that would redirect most view tests: tests/accounts switches each on where it is tested.
CIVICPOST_REQUIRE_MFA = False
CIVICPOST_REQUIRE_REAUTH = False
# The archive's file store (media copies, export bundles) in a folder of its own, never in the project.
import tempfile  # noqa: E402

CIVICPOST_ARCHIVE_ROOT = tempfile.mkdtemp(prefix="civicpost-archive-tests-")
