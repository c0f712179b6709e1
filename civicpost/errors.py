"""CivicPost's own pages for "not allowed" (403) and "not found" (404), in the site's layout, and the
middleware that keeps them in a DEBUG demo (`make run`), where Django would otherwise answer an unknown
address with its technical page listing every URL pattern of the site."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve


def _admin_site(request: HttpRequest) -> bool:
    return request.path.startswith("/admin/")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler403: says in words that this person may not, and why when the refusal gave a reason (the
    reasons CivicPost gives are sentences written for its users: "Only a department admin can ...")."""
    reason = exception.args[0] if exception is not None and exception.args else ""
    return render(
        request,
        "403.html",
        {"reason": reason if isinstance(reason, str) else "", "admin_site": _admin_site(request)},
        status=403,
    )


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: the same answer for a page that does not exist and one this person may not know of.
    Never the exception's text, which is written for developers."""
    return render(request, "404.html", {"request_path": request.path}, status=404)


class NotFoundPageMiddleware:
    """With DEBUG on, answers "not found" with page_not_found instead of Django's technical 404 page, which
    lists the site's URL patterns to anyone (handler404 is only used when DEBUG is off). Django's other
    debug pages (a server error's traceback) stay for developers. Off when DEBUG is off: handler404 does
    the same there. Put it after CommonMiddleware, whose APPEND_SLASH redirect then still applies."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.DEBUG:
            try:
                resolve(request.path_info, getattr(request, "urlconf", None))
            except Resolver404 as exception:
                return page_not_found(request, exception)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> Any:
        if settings.DEBUG and isinstance(exception, Http404):
            return page_not_found(request, exception)
        return None
