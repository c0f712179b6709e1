"""Where a request came from, made available to services without passing the request around."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from allauth.account.adapter import get_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class RequestOrigin:
    ip_address: str | None
    user_agent: str


current_origin: ContextVar[RequestOrigin | None] = ContextVar("civicpost_request_origin", default=None)


def client_ip(request: HttpRequest) -> str | None:
    """Returns the client's address as allauth's sign-in limits count it: behind a proxy of our own the
    address it forwarded (ALLAUTH_TRUSTED_PROXY_COUNT / ALLAUTH_TRUSTED_CLIENT_IP_HEADER), else the
    connection's. None when there is none, or the forwarded header does not match the settings."""
    try:
        return get_adapter(request).get_client_ip(request)
    except (PermissionDenied, ImproperlyConfigured):
        # No address at all, or fewer X-Forwarded-For entries than trusted proxies (not through them).
        return None


def origin_from_request(request: HttpRequest) -> RequestOrigin:
    return RequestOrigin(ip_address=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300])


class AuditOriginMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_origin.set(origin_from_request(request))
        try:
            return self.get_response(request)
        finally:
            current_origin.reset(token)
