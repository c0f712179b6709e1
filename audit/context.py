"""Where a request came from, made available to services without passing the request around."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None
    user_agent: str


current_origin: ContextVar[RequestOrigin | None] = ContextVar("civicpost_request_origin", default=None)


def origin_from_request(request: HttpRequest) -> RequestOrigin:
    # REMOTE_ADDR is the proxy's address behind a load balancer; gunicorn/nginx should set it
    # from X-Forwarded-For (--forwarded-allow-ips) rather than trusting the header here.
    return RequestOrigin(
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )


class AuditOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_origin.set(origin_from_request(request))
        try:
            return self.get_response(request)
        finally:
            current_origin.reset(token)
