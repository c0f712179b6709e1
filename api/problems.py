"""RFC 9457 problem details (application/problem+json) for every error the API answers.

`type` is a stable URN per kind of problem (no page to dereference: RFC 9457 §3.1.1 allows any URI);
`title` is the same for every problem of a type, `detail` says what happened this time. Extensions:
`errors` {field: [messages]} for invalid input, `problems` [messages] when a business rule refused."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from civicpost.exceptions import ApplicationError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:civicpost:problem:"
logger = logging.getLogger("civicpost.api")

TITLES = {
    400: ("invalid-request", gettext_noop("The request is not valid.")),
    401: ("not-authenticated", gettext_noop("Authentication is needed.")),
    403: ("forbidden", gettext_noop("You may not do this.")),
    404: ("not-found", gettext_noop("Not found.")),
    405: ("method-not-allowed", gettext_noop("This method is not allowed here.")),
    406: ("not-acceptable", gettext_noop("This response format is not available.")),
    409: ("conflict", gettext_noop("The request conflicts with the current state.")),
    415: ("unsupported-media-type", gettext_noop("This content type is not supported.")),
    429: ("rate-limited", gettext_noop("Too many requests.")),
    500: ("server-error", gettext_noop("Something went wrong on our side.")),
}


class Conflict(exceptions.APIException):
    """The object's state does not allow this now (a published post cannot be cancelled)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def problem_body(status_code: int, detail: str, *, kind: str | None = None, **extensions: Any) -> dict[str, Any]:
    slug, title = TITLES.get(status_code, ("error", gettext_noop("Something went wrong.")))
    return {
        "type": TYPE_PREFIX + (kind or slug),
        "title": _(title),
        "status": status_code,
        "detail": detail,
        **extensions,
    }


def problem_response(status_code: int, detail: str, *, kind: str | None = None, **extensions: Any) -> Response:
    return Response(
        problem_body(status_code, detail, kind=kind, **extensions),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def application_error_response(error: ApplicationError, *, status_code: int = 400) -> Response:
    """A business rule's refusal: 400 (`refused`) with every problem it gathered, or 409 for state conflicts."""
    kind = "refused" if status_code == 400 else None
    extra: dict[str, Any] = {"problems": error.problems}
    if error.extra.get("needs_override") is not None:
        extra["needs_override"] = bool(error.extra["needs_override"])
    return problem_response(status_code, error.message, kind=kind, **extra)


def _field_errors(data: Any) -> dict[str, list[str]]:
    if isinstance(data, dict):
        out: dict[str, list[str]] = {}
        for field, value in data.items():
            for inner_key, messages in _field_errors(value).items():
                key = field if inner_key == "" else f"{field}.{inner_key}"
                out.setdefault(key, []).extend(messages)
        return out
    if isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            return {"": [str(item) for item in data]}
        out = {}
        for index, item in enumerate(data):
            for inner_key, messages in _field_errors(item).items():
                key = str(index) if inner_key == "" else f"{index}.{inner_key}"
                out.setdefault(key, []).extend(messages)
        return out
    return {"": [str(data)]}


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering problem details. ApplicationError (a service refused) is 400;
    the views raise Conflict (409) themselves where the object's state is the reason."""
    if isinstance(exc, ApplicationError):
        return application_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return _server_error(exc, context)
    code = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        errors["non_field_errors"] = errors.pop("", []) + errors.pop("non_field_errors", [])
        if not errors["non_field_errors"]:
            del errors["non_field_errors"]
        body = problem_body(code, _("Some fields are not valid."), kind="validation", errors=errors)
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        body = problem_body(code, str(detail))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["retry_after"] = int(exc.wait + 0.999)
    response.data = body
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _server_error(exc: Exception, context: dict[str, Any]) -> Response:
    """An unexpected error: logged with its traceback (and reported like any request exception, so the test
    client still raises it), answered as a 500 problem that reveals nothing of it."""
    request = context.get("request")
    logger.error("API error: %s", exc, exc_info=exc)
    got_request_exception.send(sender=None, request=getattr(request, "_request", request))
    return problem_response(500, _("The request could not be completed. It was logged; try again later."))


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any address under /api/ that is no endpoint: a 404 problem, not the site's HTML page. For every
    method: exempt from the CSRF check, which would otherwise answer a token's POST to a wrong address
    (`/api/v1/posts/x/submit/`) with the site's HTML 403 page. It changes nothing."""
    return JsonResponse(
        problem_body(404, _("There is no API endpoint at this address.")),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
