"""All adapter HTTP goes through here: a mandatory timeout and CivicPost's User-Agent."""

from __future__ import annotations

from typing import Any

import requests
from django.conf import settings

USER_AGENT = "CivicPost/1.0 (+https://github.com/civicpost; municipal social media publisher)"


class TimeoutSession(requests.Session):
    def __init__(self, timeout: float | tuple[float, float] | None = None) -> None:
        super().__init__()
        self.default_timeout = timeout or (5.0, settings.CIVICPOST_HTTP_TIMEOUT_SECONDS)
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def http_session(timeout: float | tuple[float, float] | None = None) -> TimeoutSession:
    return TimeoutSession(timeout)


def platform_base_url(platform: str, default: str) -> str:
    """Base URL of a platform's API; tests and demos point it at a local fake through settings."""
    return settings.CIVICPOST_PLATFORM_URLS.get(platform, default).rstrip("/")
