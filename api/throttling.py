"""Per-token rate limits, counted in CACHES["default"] (Redis whenever REDIS_URL is set, so every web
process shares the count). The rate is settings.CIVICPOST_API_RATE_LIMIT ("300/min")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken


class PerTokenRateThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str:
        # Read at each request (not once at import like DRF's THROTTLE_RATES), so tests and operators can change it.
        return settings.CIVICPOST_API_RATE_LIMIT

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if isinstance(token, ApiToken):
            ident = f"token:{token.prefix}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return f"civicpost-api-throttle:{ident}"
