"""ETag and If-None-Match on reads, and Idempotency-Key on creates, for every API view (ApiViewMixin)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import ApiToken
from api.problems import PROBLEM_CONTENT_TYPE, problem_response
from api.services import IdempotencyMismatch, idempotent_create

MAX_KEY_LENGTH = 255


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    candidates = [value.strip().removeprefix("W/") for value in header.split(",")]
    return etag in candidates


def with_etag(request: Request, response: HttpResponse) -> HttpResponse:
    """Gives a successful read a strong ETag (SHA-256 of the body as it is sent, so it changes exactly when
    what the caller sees changes, permissions included) and answers 304 to a matching If-None-Match."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    etag = '"' + hashlib.sha256(response.content).hexdigest()[:40] + '"'
    response["ETag"] = etag
    patch_vary_headers(response, ["Authorization", "Cookie"])
    response["Cache-Control"] = "private, no-cache"
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if header and _etag_matches(header, etag):
        not_modified = HttpResponse(status=304)
        for name in ("ETag", "Vary", "Cache-Control"):
            not_modified[name] = response[name]
        return not_modified
    return response


def principal_for(request: Request) -> str:
    token = request.auth
    if isinstance(token, ApiToken):
        return f"token:{token.pk}"
    return f"user:{request.user.pk}"


def request_fingerprint(request: Request) -> str:
    """SHA-256 of what the request asks for: its JSON or form fields, and each uploaded file's bytes."""
    fields: dict[str, Any] = {}
    data = request.data
    items = data.lists() if hasattr(data, "lists") else data.items()
    for name, value in items:
        values = value if isinstance(value, list) else [value]
        rendered = []
        for item in values:
            if isinstance(item, UploadedFile):
                digest = hashlib.sha256()
                item.seek(0)
                for chunk in item.chunks():
                    digest.update(chunk)
                item.seek(0)
                rendered.append({"file": digest.hexdigest()})
            else:
                rendered.append(item)
        fields[name] = rendered if isinstance(value, list) or hasattr(data, "lists") else rendered[0]
    canonical = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotently(request: Request, create: Callable[[], Response]) -> Response:
    """Runs `create` (which returns a Response) once per Idempotency-Key of this caller; without the header
    it just runs. A retry with the same key and body gets the first response (`Idempotency-Replayed: true`);
    the same key with another body is a 409 problem. Responses of 500 and above are not kept."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return create()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise exceptions.ValidationError({"Idempotency-Key": [_("Send a key of 1 to 255 characters.")]})

    def stored() -> tuple[int, Any, dict[str, str]]:
        response = create()
        if response.status_code >= 500:
            raise exceptions.APIException()
        headers = {name: response[name] for name in ("Location",) if response.has_header(name)}
        if response.has_header("Content-Type") and response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE):
            headers["Content-Type"] = PROBLEM_CONTENT_TYPE
        return response.status_code, response.data, headers

    try:
        outcome = idempotent_create(
            principal=principal_for(request),
            key=key,
            method=request.method,
            path=request.path,
            request_hash=request_fingerprint(request),
            create=stored,
        )
    except IdempotencyMismatch as mismatch:
        return problem_response(409, mismatch.message, kind="idempotency-key-reused")
    content_type = outcome.headers.get("Content-Type")
    response = Response(outcome.body, status=outcome.status_code, content_type=content_type)
    for name, value in outcome.headers.items():
        if name != "Content-Type":
            response[name] = value
    response["Idempotency-Replayed"] = "true" if outcome.replayed else "false"
    return response
