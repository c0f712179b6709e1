"""CivicPost's own small Graph API client, shared by the Facebook Page, Instagram and Threads adapters.

Why not a library:
- facebook-sdk (3.1.0) is NOT used: its last release is from 2018-11-03. `GraphAPI(version=...)` checks the
  version against a hard-coded list (2.8 ... 3.1) and the pattern `^\\d\\.\\d{1,2}$`, so every current Graph
  API version ("v27.0", "23.0", ...) is rejected, and every version it accepts expired years ago (Meta then
  silently serves the oldest live version, so nothing is pinned). Its host is a module constant and its
  errors carry no `error_subcode`. See shared/platforms.md §3.6.
- python-facebook-api would do, but it sleeps on rate limits by default, adds dependencies and has one
  maintainer; what Page, Instagram and Threads publishing need fits in this module.

What this module does:
- `GraphClient`: `{base_url}/{version}/{path}` with the version from the setting CIVICPOST_GRAPH_API_VERSION
  (Threads has its own "v1.0"); hosts come from settings through `platform_base_url()`; every request goes
  through `http_session()` (timeout + User-Agent).
- The access token travels in the `Authorization: Bearer` header, never in a URL or form body, so it cannot
  leak through access logs or exception messages; with an app secret configured every call also carries
  `appsecret_proof` = HMAC-SHA256(app secret, token) (https://developers.facebook.com/docs/graph-api/securing-requests).
  The only exceptions are Meta's token-exchange endpoints, whose documented interface takes the tokens as
  query parameters.
- Error envelope `{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", "is_transient"}}` parsed
  and classified into the shared vocabulary by the table `ERROR_RULES` (doc link beside each rule).
- Rate limits: never sleeps. The wait comes from `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`,
  minutes) when Meta sends it, otherwise from the rule's default, and is handed to the dispatcher as
  `RateLimited(retry_after=...)`.
- Exactly once: a failure on a call that makes a post visible (`publishing=True`) that might have been applied
  (timeout after sending, 5xx, transient codes) becomes `OutcomeUnknown`; on any other call it is a plain retry.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import logging
import math
import re
import time
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone

from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    CheckAgainLater,
    Duplicate,
    ModerationResult,
    OutcomeUnknown,
    PublishError,
    PublishResult,
    RateLimited,
)
from scheduler.adapters.http import http_session, request_never_sent

logger = logging.getLogger(__name__)

# --- Documentation each rule below relies on ------------------------------------------------------
ERROR_HANDLING_DOC = "https://developers.facebook.com/docs/graph-api/guides/error-handling"
LOGIN_ERRORS_DOC = (
    "https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging-and-error-handling"
)
RATE_LIMITING_DOC = "https://developers.facebook.com/docs/graph-api/overview/rate-limiting"
PAGES_POSTS_DOC = "https://developers.facebook.com/docs/pages-api/posts"
SECURING_REQUESTS_DOC = "https://developers.facebook.com/docs/graph-api/securing-requests"
IG_ERROR_CODES_DOC = "https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/error-codes"
THREADS_TROUBLESHOOTING_DOC = "https://developers.facebook.com/docs/threads/troubleshooting"

DEFAULT_GRAPH_HOST = "https://graph.facebook.com"

# Reconciliation: a post we sent may appear with a created time slightly before our clock's sent_at.
RECONCILE_LOOKBACK = dt.timedelta(minutes=2)
# ... and is looked for up to this long after sent_at (never past now); newer posts are left out of the listing.
RECONCILE_MARGIN = dt.timedelta(minutes=10)
# Listing pages are read with this size, following `paging.next` up to this many pages. A window with more
# pages than that cannot be read whole, so "not there" cannot be proved: a person checks (OutcomeUnknown).
RECONCILE_PAGE_LIMIT = 100
RECONCILE_MAX_PAGES = 10


def graph_api_version() -> str:
    """Returns the pinned Graph API version for Facebook and Instagram, e.g. "v27.0"."""
    version: str = settings.CIVICPOST_GRAPH_API_VERSION
    return version


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Returns the hex HMAC-SHA256 of the token keyed with the app secret (SECURING_REQUESTS_DOC)."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def meta_signature_valid(*, body: bytes, header: str, app_secret: str) -> bool:
    """True when `header` (X-Hub-Signature-256: "sha256=<hex>") is the HMAC-SHA256 of the raw `body` keyed with the
    app secret (https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads), compared
    in constant time. False without a secret or a header."""
    if not app_secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256=").strip().lower())


# --- Errors -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphError:
    """The Graph API error envelope, as Meta sends it (ERROR_HANDLING_DOC)."""

    code: int | None
    subcode: int | None
    message: str
    type: str = ""
    user_title: str = ""
    user_msg: str = ""
    fbtrace_id: str = ""
    is_transient: bool = False
    http_status: int = 0

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, http_status: int) -> GraphError:
        error = body.get("error") or {}
        if not isinstance(error, Mapping):  # some OAuth endpoints answer {"error": "text"}
            error = {"message": str(error)}
        return cls(
            code=_as_int(error.get("code")),
            subcode=_as_int(error.get("error_subcode")),
            message=str(error.get("message") or ""),
            type=str(error.get("type") or ""),
            user_title=str(error.get("error_user_title") or ""),
            user_msg=str(error.get("error_user_msg") or ""),
            fbtrace_id=str(error.get("fbtrace_id") or ""),
            is_transient=bool(error.get("is_transient")),
            http_status=http_status,
        )

    @property
    def code_label(self) -> str:
        return f"{self.code}/{self.subcode}" if self.subcode else str(self.code)

    @property
    def best_message(self) -> str:
        """Meta's message for people when it sends one, else its technical message."""
        return (self.user_msg or self.message or "no message").strip()


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Usage:
    """The usage headers Meta attaches to responses (RATE_LIMITING_DOC).

    `app`: X-App-Usage, percentages {"call_count", "total_cputime", "total_time"} (app and user tokens).
    `business`: X-Business-Use-Case-Usage, {"<id>": [{"type", "call_count", ..., "estimated_time_to_regain_access"}]}
    (Page, Instagram and system-user tokens)."""

    app: dict[str, Any] = field(default_factory=dict)
    business: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Usage:
        return cls(
            app=_json_header(headers.get("x-app-usage")),
            business=_json_header(headers.get("x-business-use-case-usage")),
        )

    def _business_entries(self) -> Iterable[Mapping[str, Any]]:
        for entries in self.business.values():
            if isinstance(entries, list):
                yield from (entry for entry in entries if isinstance(entry, Mapping))

    def regain_access_seconds(self) -> float:
        """Seconds until Meta lets the throttled account call again (0 when it does not say)."""
        minutes = [_as_int(entry.get("estimated_time_to_regain_access")) or 0 for entry in self._business_entries()]
        return 60.0 * max(minutes, default=0)

    def highest_percent(self) -> int:
        """The highest usage percentage reported, for the logs."""
        keys = ("call_count", "total_cputime", "total_time")
        values = [_as_int(self.app.get(key)) or 0 for key in keys]
        values += [_as_int(entry.get(key)) or 0 for entry in self._business_entries() for key in keys]
        return max(values, default=0)

    def as_dict(self) -> dict[str, Any]:
        return {key: value for key, value in (("app", self.app), ("business", self.business)) if value}


def _json_header(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


class Kind(StrEnum):
    AUTH = "auth"  # the token is dead: reconnect
    PERMISSION = "permission"  # the token lacks a permission or role: reconnect granting it
    RATE_LIMIT = "rate_limit"  # not applied; wait for Meta's reset time
    TRANSIENT = "transient"  # Meta had a problem; retry (or reconcile, if the call publishes)
    REJECTED = "rejected"  # the request itself is wrong for Meta: never retry
    POLICY = "policy"  # blocked for policy reasons: never retry, a person must look
    DUPLICATE = "duplicate"  # this exact text was just posted


@dataclass(frozen=True)
class Rule:
    kind: Kind
    doc: str
    codes: frozenset[int] = frozenset()
    subcodes: frozenset[int] = frozenset()
    wait_seconds: float = 0.0  # default wait for RATE_LIMIT when the headers do not say
    why: str = ""

    def matches(self, error: GraphError) -> bool:
        if self.subcodes:
            return error.subcode in self.subcodes and (not self.codes or error.code in self.codes)
        return error.code in self.codes


def _codes(*values: int | range) -> frozenset[int]:
    result: set[int] = set()
    for value in values:
        result.update(value if isinstance(value, range) else (value,))
    return frozenset(result)


# First match wins: subcode rules (Instagram's 2207xxx) come before the code they share (4, 9, -1, -2).
ERROR_RULES: tuple[Rule, ...] = (
    # Instagram content publishing (IG_ERROR_CODES_DOC, table updated 2026-06-02)
    Rule(Kind.RATE_LIMIT, IG_ERROR_CODES_DOC, subcodes=_codes(2207042), wait_seconds=3600, why="posts per 24 h used"),
    Rule(Kind.TRANSIENT, IG_ERROR_CODES_DOC, subcodes=_codes(2207003), why="Instagram timed out downloading the media"),
    Rule(Kind.TRANSIENT, IG_ERROR_CODES_DOC, subcodes=_codes(2207020), why="container expired; a new one is made"),
    Rule(Kind.TRANSIENT, IG_ERROR_CODES_DOC, subcodes=_codes(2207001, 2207032, 2207053), why="Instagram server error"),
    Rule(Kind.REJECTED, IG_ERROR_CODES_DOC, subcodes=_codes(2207004), why="image larger than 8 MiB"),
    Rule(Kind.POLICY, IG_ERROR_CODES_DOC, subcodes=_codes(2207051), why="activity restricted as spam"),
    # Graph API codes (ERROR_HANDLING_DOC)
    Rule(Kind.AUTH, LOGIN_ERRORS_DOC, codes=_codes(190, 102), why="token expired, revoked or invalid"),
    Rule(Kind.PERMISSION, ERROR_HANDLING_DOC, codes=_codes(10, range(200, 300)), why="permission not granted"),
    Rule(Kind.RATE_LIMIT, RATE_LIMITING_DOC, codes=_codes(4), wait_seconds=3600, why="app request limit"),
    Rule(Kind.RATE_LIMIT, RATE_LIMITING_DOC, codes=_codes(17), wait_seconds=900, why="user request limit"),
    Rule(Kind.RATE_LIMIT, RATE_LIMITING_DOC, codes=_codes(32), wait_seconds=900, why="Page request limit"),
    Rule(Kind.RATE_LIMIT, RATE_LIMITING_DOC, codes=_codes(613), wait_seconds=3600, why="calls in one hour exceeded"),
    Rule(Kind.RATE_LIMIT, RATE_LIMITING_DOC, codes=_codes(range(80001, 80015)), wait_seconds=900, why="BUC limit"),
    Rule(Kind.TRANSIENT, ERROR_HANDLING_DOC, codes=_codes(1, 2, -1, -2), why="unknown error / service down"),
    Rule(Kind.DUPLICATE, PAGES_POSTS_DOC, codes=_codes(506), why="duplicate status message"),
    Rule(Kind.POLICY, ERROR_HANDLING_DOC, codes=_codes(368), why="temporarily blocked for policy violations"),
    Rule(Kind.REJECTED, PAGES_POSTS_DOC, codes=_codes(1609005), why="error posting the link"),
    Rule(Kind.REJECTED, ERROR_HANDLING_DOC, codes=_codes(100), why="invalid parameter"),
)
UNCLASSIFIED_RATE_LIMIT_WAIT = 900.0
# Code 100, subcode 33: "Object with ID ... does not exist, cannot be loaded due to missing permissions"
# (ERROR_HANDLING_DOC): a post deleted, or hidden from this token. What a metrics read takes for a removal.
OBJECT_GONE_CODES = frozenset({"graph:100/33"})


def comment_hide_or_delete(
    client: GraphClient, comment_id: str, action: str, *, platform: str, hide_field: str
) -> ModerationResult:
    """Hides or unhides (POST /{comment-id} with `hide_field` true/false: Facebook `is_hidden`, Instagram `hide`)
    or deletes (DELETE /{comment-id}; a comment already gone counts as deleted) a comment. Raises PublishError
    for any other action or an unconfirmed answer, RateLimited, AuthExpired."""
    if action in ("hide", "unhide"):
        body = client.post(comment_id, {hide_field: "true" if action == "hide" else "false"})
    elif action == "delete":
        try:
            body = client.delete(comment_id)
        except PublishError as error:
            if error.code not in OBJECT_GONE_CODES:
                raise
            return ModerationResult(done=True, raw={"already_gone": True, **error.raw})
    else:
        raise PublishError(f"{platform} does not let CivicPost {action} a comment.", permanent=True)
    if not body.get("success"):
        raise PublishError(f"{platform} did not confirm the change.", permanent=True, raw=body)
    return ModerationResult(done=True, raw=body)


def rule_for(error: GraphError) -> Rule | None:
    return next((rule for rule in ERROR_RULES if rule.matches(error)), None)


def classify(error: GraphError, *, usage: Usage, publishing: bool, label: str) -> AdapterError:
    """Returns the shared-vocabulary exception for a Graph error.

    `publishing`: the call makes a post visible (feed, media_publish, threads_publish). There a transient
    failure may have been applied, so it becomes OutcomeUnknown (reconcile before resending)."""
    rule = rule_for(error)
    kind = rule.kind if rule else None
    if kind is None:
        if error.http_status == 429:
            kind = Kind.RATE_LIMIT
        elif error.http_status >= 500:
            kind = Kind.TRANSIENT
        else:
            kind = Kind.REJECTED
    # "is_transient": Meta says it was a passing problem; prefer a retry over a hard failure.
    if error.is_transient and kind in (Kind.REJECTED, Kind.TRANSIENT):
        kind = Kind.TRANSIENT
    code = f"graph:{error.code_label}"
    raw = {
        "error": {
            "code": error.code,
            "error_subcode": error.subcode,
            "message": error.message,
            "type": error.type,
            "error_user_msg": error.user_msg,
            "fbtrace_id": error.fbtrace_id,
            "is_transient": error.is_transient,
        },
        "http_status": error.http_status,
        "doc": rule.doc if rule else ERROR_HANDLING_DOC,
        **({"usage": usage.as_dict()} if usage.as_dict() else {}),
    }
    detail = error.best_message
    if kind is Kind.AUTH:
        return AuthExpired(
            f"{label} no longer accepts this channel's access token ({detail}). "
            "A department admin must reconnect the channel.",
            code=code,
            raw=raw,
        )
    if kind is Kind.PERMISSION:
        return AuthExpired(
            f"{label} says this channel is missing a permission ({detail}). "
            "A department admin must reconnect it and grant every requested permission.",
            code=code,
            raw=raw,
        )
    if kind is Kind.RATE_LIMIT:
        wait = usage.regain_access_seconds() or (rule.wait_seconds if rule else UNCLASSIFIED_RATE_LIMIT_WAIT)
        return RateLimited(f"{label} asked us to slow down ({detail}).", retry_after=wait, code=code, raw=raw)
    if kind is Kind.DUPLICATE:
        return Duplicate(f"{label} says this exact text was already posted ({detail}).", code=code, raw=raw)
    if kind is Kind.POLICY:
        return PublishError(
            f"{label} blocked this post for policy reasons ({detail}). "
            "Someone should check the account before anything else is posted there.",
            permanent=True,
            code=code,
            raw=raw,
        )
    if kind is Kind.TRANSIENT:
        if publishing:
            return OutcomeUnknown(
                f"{label} had a problem while publishing ({detail}); the post may or may not be there.",
                code=code,
                raw=raw,
            )
        return PublishError(f"{label} had a temporary problem ({detail}).", permanent=False, code=code, raw=raw)
    what = "the post" if publishing else "the request"
    return PublishError(f"{label} rejected {what}: {detail}", permanent=True, code=code, raw=raw)


def transport_error(error: requests.RequestException, *, publishing: bool, label: str) -> AdapterError:
    # The exception text can contain the URL; keep only its type in what we store.
    kind = type(error).__name__
    if request_never_sent(error):
        return PublishError(
            f"Could not connect to {label}; nothing was sent ({kind}).", permanent=False, code="connection"
        )
    if publishing:
        return OutcomeUnknown(
            f"The connection to {label} broke while publishing ({kind}); the post may or may not be there.",
            code="timeout",
        )
    return PublishError(f"{label} did not answer in time ({kind}).", permanent=False, code="timeout")


# --- The client -----------------------------------------------------------------------------------------


class GraphClient:
    """A few lines over requests for Graph-style APIs (graph.facebook.com, graph.instagram.com, graph.threads.net)."""

    def __init__(
        self,
        *,
        base_url: str,
        version: str,
        access_token: str = "",
        app_secret: str = "",
        label: str = "Facebook",
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.version = version.strip("/")
        self.access_token = access_token
        self.app_secret = app_secret
        self.label = label
        self.session = session or http_session()
        self.last_usage = Usage()

    def url(self, path: str) -> str:
        prefix = f"{self.base_url}/{self.version}" if self.version else self.base_url
        return f"{prefix}/{path.lstrip('/')}"

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def get_next(self, next_url: str) -> dict[str, Any]:
        """GETs a `paging.next` address Meta handed back. Only below this client's own `{base}/{version}/`
        (the token goes along); its `access_token` / `appsecret_proof` are dropped and sent our way instead."""
        address, _, query = next_url.partition("?")
        prefix = self.url("")
        if not address.startswith(prefix):
            raise PublishError(
                f"{self.label} answered with a next-page address outside its API; CivicPost did not follow it.",
                permanent=True,
                code="graph_foreign_next_page",
            )
        params = {
            key: value
            for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True)
            if key not in ("access_token", "appsecret_proof")
        }
        return self.get(address[len(prefix) :], params)

    def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        publishing: bool = False,
        files: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """POSTs a form (multipart when `files` are given: {name: (filename, bytes, content type)})."""
        return self.request("POST", path, data=data, publishing=publishing, files=files)

    def delete(self, path: str) -> dict[str, Any]:
        return self.request("DELETE", path)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        publishing: bool = False,
        files: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Returns the decoded JSON body. Raises an AdapterError subclass (see `classify`)."""
        query = {key: value for key, value in (params or {}).items() if value is not None}
        headers = {"Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
            if self.app_secret:
                query["appsecret_proof"] = appsecret_proof(self.access_token, self.app_secret)
        form = {key: value for key, value in (data or {}).items() if value is not None} if data is not None else None
        try:
            response = self.session.request(
                method, self.url(path), params=query or None, data=form, headers=headers, files=files
            )
        except requests.RequestException as error:
            raise transport_error(error, publishing=publishing, label=self.label) from None
        self.last_usage = usage = Usage.from_headers(response.headers)
        if usage.highest_percent() >= 80:
            logger.warning("%s usage at %s%% of its rate limit", self.label, usage.highest_percent())
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and "error" in body:
            raise classify(
                GraphError.from_body(body, http_status=response.status_code),
                usage=usage,
                publishing=publishing,
                label=self.label,
            )
        if response.status_code >= 400 or not isinstance(body, dict):
            failure = GraphError(
                code=None, subcode=None, message=f"HTTP {response.status_code}", http_status=response.status_code
            )
            if response.status_code < 400:  # a 2xx that is not JSON: we cannot tell what happened
                failure = GraphError(code=None, subcode=None, message="unreadable answer", http_status=502)
            raise classify(failure, usage=usage, publishing=publishing, label=self.label)
        return body


# --- Containers (Instagram, Threads) -------------------------------------------------------------------

# Bounded polling of a media container: about 15 s in all, never a long sleep in a worker.
CONTAINER_POLL_INTERVALS: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0)
_sleep: Callable[[float], None] = time.sleep  # tests replace this


def wait_for_container(
    client: GraphClient,
    container_id: str,
    *,
    fields: str,
    status_field: str,
    intervals: Iterable[float] = CONTAINER_POLL_INTERVALS,
) -> dict[str, Any]:
    """Polls a container until its status is no longer IN_PROGRESS, within a short budget.

    Returns the last status body (its `status_field` is FINISHED, ERROR, EXPIRED, PUBLISHED or, when the
    budget ran out, still IN_PROGRESS). Raises an AdapterError on a failed request (never OutcomeUnknown:
    nothing has been published yet)."""
    body = client.get(container_id, {"fields": fields})
    for interval in intervals:
        if body.get(status_field) != "IN_PROGRESS":
            break
        _sleep(interval)
        body = client.get(container_id, {"fields": fields})
    return body


@dataclass(frozen=True)
class ContainerApi:
    """How one platform reports a container's status, and what its failures are called."""

    status_fields: str  # asked for while polling, e.g. "status_code,status"
    status_field: str  # the one holding IN_PROGRESS, FINISHED, ERROR, EXPIRED
    details_field: str  # the one holding the reason for ERROR
    subject: str  # what an ERROR container could not process: "the media"
    remote_id_name: str  # what the publish answer's id is: "media id"
    expired_message: str
    in_progress_message: str


def publish_container(
    client: GraphClient, api: ContainerApi, *, create: Callable[[], str], publish_path: str
) -> PublishResult:
    """Creates the container (`create` returns its id), waits briefly for it, publishes it with
    POST {publish_path} creation_id=<id> and returns the media id, its permalink and the container id in `raw`.

    Until the publish call nothing can be visible: a container in ERROR fails for good, one not ready in time is
    retried (a new container is made), a failed request is retried. Only the publish call is `publishing`, so a
    failure there that may have been applied is OutcomeUnknown; so are a status we do not know and an answer
    without an id (Threads troubleshooting: then check the container). Messages name `client.label`."""
    label = client.label
    container_id = create()
    status = wait_for_container(client, container_id, fields=api.status_fields, status_field=api.status_field)
    state = status.get(api.status_field)
    raw = {"container_id": container_id, **status}
    if state == "ERROR":
        details = status.get(api.details_field) or "no details"
        raise PublishError(
            f"{label} could not process {api.subject}: {details}", permanent=True, code="container:ERROR", raw=raw
        )
    not_ready = {"EXPIRED": api.expired_message, "IN_PROGRESS": api.in_progress_message}
    if state in not_ready:
        raise PublishError(not_ready[state], permanent=False, code=f"container:{state}", raw=raw)
    if state != "FINISHED":
        raise OutcomeUnknown(f"{label} reports the container as {state}; checking the account.", raw=raw)
    body = client.post(publish_path, {"creation_id": container_id}, publishing=True)
    media_id = str(body.get("id") or "")
    if not media_id:
        raise OutcomeUnknown(f"{label} answered without a {api.remote_id_name}; checking the account.", raw=raw | body)
    return PublishResult(
        remote_id=media_id, permalink=media_permalink(client, media_id), raw={"container_id": container_id, **body}
    )


# --- Reconciliation helpers ------------------------------------------------------------------------------

_WHITESPACE = re.compile(r"\s+")


def normalise_text(text: str | None) -> str:
    """Text as compared when reconciling: NFC, whitespace runs collapsed, trimmed."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def parse_graph_time(value: str | None) -> dt.datetime | None:
    """Parses Meta's "2026-11-29T10:00:00+0000" (or ISO 8601 with a colon) into an aware datetime."""
    if not value:
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def find_sent_item(
    items: Iterable[Mapping[str, Any]],
    *,
    text_field: str,
    time_field: str,
    expected_text: str,
    sent_at: dt.datetime,
) -> Mapping[str, Any] | None:
    """Returns the oldest listed item whose text equals ours and that was created after we sent it.

    Raises OutcomeUnknown for a post without text: nothing distinguishes it from other posts."""
    since = sent_at - RECONCILE_LOOKBACK
    wanted = normalise_text(expected_text)
    if not wanted:
        raise OutcomeUnknown("A post without text cannot be recognised on the account; check it by hand.")
    matches = []
    for item in items:
        created = parse_graph_time(item.get(time_field))
        if created is None or created < since:
            continue
        if normalise_text(item.get(text_field)) == wanted:
            matches.append((created, item))
    matches.sort(key=lambda pair: pair[0])
    return matches[0][1] if matches else None


def _read_listing_page(read: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One listing read for reconciliation. A passing failure (rate limit, timeout, 5xx) raises CheckAgainLater,
    so a hiccup while checking does not hand the delivery to a person; other errors propagate."""
    try:
        return read()
    except RateLimited as error:
        raise CheckAgainLater(error.message, retry_after=error.retry_after, code=error.code, raw=error.raw) from None
    except PublishError as error:
        if error.permanent:
            raise
        raise CheckAgainLater(error.message, retry_after=60.0, code=error.code, raw=error.raw) from None


def reconcile_window(sent_at: dt.datetime, *, now: dt.datetime) -> tuple[int, int]:
    """Returns (since, until) in Unix seconds: from RECONCILE_LOOKBACK before the send to RECONCILE_MARGIN
    after it, but not past now (rounded up to the current second so a post made this second is in)."""
    since = sent_at - RECONCILE_LOOKBACK
    until = min(sent_at + RECONCILE_MARGIN, now)
    return int(since.timestamp()), max(math.ceil(until.timestamp()), int(since.timestamp()) + 1)


@dataclass(frozen=True)
class Listing:
    items: list[dict[str, Any]]
    # False: RECONCILE_MAX_PAGES were read and Meta still offered a next page; absence is not proved.
    complete: bool
    pages: int


def window_items(
    client: GraphClient,
    path: str,
    params: Mapping[str, Any],
    *,
    since: dt.datetime,
    time_field: str,
    max_pages: int | None = None,
) -> Listing:
    """Reads a newest-first listing for reconciliation, following `paging.next` up to `max_pages`
    (default RECONCILE_MAX_PAGES) pages.

    Stops early once a page ends with an item older than `since` (the window is read; this also bounds an
    endpoint that ignores `since`). Errors as in `_read_listing_page`."""
    max_pages = max_pages or RECONCILE_MAX_PAGES
    items: list[dict[str, Any]] = []
    body = _read_listing_page(lambda: client.get(path, params))
    pages = 1
    while True:
        page = [item for item in body.get("data") or [] if isinstance(item, dict)]
        items.extend(page)
        next_url = (body.get("paging") or {}).get("next")
        if not next_url:
            return Listing(items=items, complete=True, pages=pages)
        oldest = parse_graph_time(page[-1].get(time_field)) if page else None
        if oldest is not None and oldest < since:
            return Listing(items=items, complete=True, pages=pages)
        if pages >= max_pages:
            return Listing(items=items, complete=False, pages=pages)
        body = _read_listing_page(functools.partial(client.get_next, str(next_url)))
        pages += 1


def window_incomplete(*, label: str, pages: int) -> OutcomeUnknown:
    """The error for a window with more posts than CivicPost reads: a person has to look."""
    return OutcomeUnknown(
        f"{label} shows more posts around the send time than CivicPost reads ({pages} pages) and the post is not "
        "among them: sent, but not confirmed — check the account before posting again.",
        code="reconcile_window_too_busy",
    )


def not_found_yet(*, label: str, sent_at: dt.datetime, now: dt.datetime, settle_seconds: float) -> None:
    """Returns (meaning: proved absent) once the settle time has passed since sending; before that raises
    CheckAgainLater, so the reconciler looks again when the post would surely be visible."""
    remaining = settle_seconds - (now - sent_at).total_seconds()
    if remaining > 0:
        raise CheckAgainLater(
            f"{label} does not show the post yet, but it was sent less than "
            f"{int(settle_seconds)} seconds ago; it may still appear.",
            retry_after=max(15.0, remaining),
        )


def media_permalink(client: GraphClient, media_id: str) -> str:
    """Returns a published media's permalink, or "" when the lookup fails (the post is live either way)."""
    try:
        return str(client.get(media_id, {"fields": "permalink"}).get("permalink") or "")
    except AdapterError:
        return ""


def reconcile_media_listing(
    client: GraphClient,
    *,
    path: str,
    text_field: str,
    expected_text: str,
    sent_at: dt.datetime,
    label: str,
    settle_seconds: float,
) -> PublishResult | None:
    """Reconciliation for container-published media (Instagram, Threads): looks for our text in the listing at
    `path` over the window around `sent_at`, every page up to the cap.

    Returns the post when found; None only when the whole window was read and the settle time has passed; raises
    CheckAgainLater before it (or after a passing failure), OutcomeUnknown for a window with more pages than
    CivicPost reads."""
    now = timezone.now()
    since, until = reconcile_window(sent_at, now=now)
    listing = window_items(
        client,
        path,
        {
            "fields": f"id,{text_field},timestamp,permalink",
            "since": since,
            "until": until,
            "limit": RECONCILE_PAGE_LIMIT,
        },
        since=sent_at - RECONCILE_LOOKBACK,
        time_field="timestamp",
    )
    item = find_sent_item(
        listing.items, text_field=text_field, time_field="timestamp", expected_text=expected_text, sent_at=sent_at
    )
    if item:
        return PublishResult(remote_id=str(item["id"]), permalink=str(item.get("permalink") or ""), raw=dict(item))
    if not listing.complete:
        raise window_incomplete(label=label, pages=listing.pages)
    not_found_yet(label=label, sent_at=sent_at, now=now, settle_seconds=settle_seconds)
    return None


# --- OAuth helpers (pure: no database) -------------------------------------------------------------------


@dataclass(frozen=True)
class OAuthToken:
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: dt.datetime | None = None
    user_id: str = ""

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, now: dt.datetime | None = None) -> OAuthToken:
        token = body.get("access_token")
        if not token:
            raise PublishError("Meta did not return an access token.", permanent=True, code="oauth", raw=dict(body))
        expires_in = _as_int(body.get("expires_in"))
        now = now or dt.datetime.now(tz=dt.UTC)
        return cls(
            access_token=str(token),
            token_type=str(body.get("token_type") or "bearer"),
            expires_at=now + dt.timedelta(seconds=expires_in) if expires_in else None,
            user_id=str(body.get("user_id") or ""),
        )

    def expires_at_iso(self) -> str:
        return self.expires_at.isoformat() if self.expires_at else ""


def expiry_message(expires_at: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    if expires_at is None:
        return "Connected; the token does not expire."
    now = now or dt.datetime.now(tz=dt.UTC)
    days = (expires_at - now).days
    if expires_at <= now:
        return "The token has expired; a department admin must reconnect the channel."
    return f"Connected; the token expires in {days} day{'s' if days != 1 else ''}."


# --- Reading residents' comments on our posts, one post at a time (Facebook, Instagram, Threads) -------------
#
# Meta has no "everything said to this account since X" listing for Pages, Instagram or Threads: comments and
# replies are read per post (GET /{post-id}/comments, /{ig-media-id}/comments, /{threads-media-id}/conversation),
# newest first, `paging.cursors.after` for the next page. CivicPost reads them in rounds: each round reads every
# post the inbox names (our posts of the last 30 days, in id order), each down to the round's `since` (the start
# of the round before, less COMMENTS_CLOCK_MARGIN for clocks that disagree). So a comment is read in the round
# after it was made at the latest; one read twice is stored once (the inbox keeps one row per platform id).
# Every call makes exactly one request, so the inbox's per-channel budget holds; the cursor says where to go on:
#   {"s": since (epoch s), "r": this round's start, "l": the last post finished this round, "a": page cursor}
# A post's read stops at the first page holding nothing newer than `since`, or at its last page. Meta may rank
# comments instead of ordering them ("If the comments can be ranked, then the order will always be ranked",
# Page Post Comments reference): a comment ranked below a page of older ones is read only if it is on that page.

COMMENTS_CLOCK_MARGIN = dt.timedelta(minutes=10)
# The first read of a channel starts this far back, never from the whole history.
COMMENTS_FIRST_READ_WINDOW = dt.timedelta(days=2)
COMMENTS_PAGE_LIMIT = 50
# The inbox stores the cursor in 500 characters; a longer page cursor is dropped (the post is read again
# from its newest comment, which only repeats items).
COMMENTS_CURSOR_MAX = 500


def comments_cursor(state: Mapping[str, Any]) -> str:
    """The stored form of a comment-reading state (compact JSON within COMMENTS_CURSOR_MAX characters)."""
    text = json.dumps(dict(state), separators=(",", ":"), sort_keys=True)
    if len(text) > COMMENTS_CURSOR_MAX:
        text = json.dumps({**state, "a": ""}, separators=(",", ":"), sort_keys=True)
    return text


def _comments_state(cursor: str | None, now: dt.datetime) -> dict[str, Any]:
    try:
        state = json.loads(cursor) if cursor else None
    except ValueError:
        state = None
    if not isinstance(state, dict) or not isinstance(state.get("s"), int | float):
        start = int(now.timestamp())
        return {"s": int((now - COMMENTS_FIRST_READ_WINDOW).timestamp()), "r": start, "l": "", "a": ""}
    return {
        "s": int(state["s"]),
        "r": int(state.get("r") or state["s"]),
        "l": str(state.get("l") or ""),
        "a": str(state.get("a") or ""),
    }


@dataclass(frozen=True)
class CommentsStep:
    """One request of a comment-reading round: the post read, the entries Meta answered that are newer than the
    round's `since` (as Meta sent them), the next cursor, and whether more waits in this round."""

    post_id: str
    entries: list[dict[str, Any]]
    cursor: str | None
    more: bool
    requests: int


def comments_read_step(
    client: GraphClient,
    *,
    cursor: str | None,
    our_remote_ids: Iterable[str],
    edge: str,
    params: Mapping[str, Any],
    time_field: str,
    expand: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    now: dt.datetime | None = None,
) -> CommentsStep:
    """Reads one page of one post's comments (GET /{post}/{edge}?{params}&limit=…&after=…). Returns the step; raises
    what GraphClient raises (RateLimited, AuthExpired, PublishError). `expand` turns one listed entry into the
    entries it holds (itself and its nested replies). A post deleted since (code 100/33) is passed
    over: the next post is read in the next step."""
    now = now or timezone.now()
    state = _comments_state(cursor, now)
    posts = sorted({str(remote_id) for remote_id in our_remote_ids if remote_id})
    if not posts:
        return CommentsStep(post_id="", entries=[], cursor=None, more=False, requests=0)
    pending = [post for post in posts if post > state["l"]]
    if not pending:  # the round is over: the next one reads what came after this one began
        state = {
            "s": int(state["r"] - COMMENTS_CLOCK_MARGIN.total_seconds()),
            "r": int(now.timestamp()),
            "l": "",
            "a": "",
        }
        pending = posts
    post = pending[0]
    query = {**params, "limit": COMMENTS_PAGE_LIMIT, "after": state["a"] or None}
    try:
        body = client.get(f"{post}/{edge}", query)
    except PublishError as error:
        if error.code not in OBJECT_GONE_CODES:
            raise
        body = {"data": []}  # our post is gone: its comments went with it
    page = [entry for entry in body.get("data") or [] if isinstance(entry, dict)]
    if expand is not None:  # e.g. Instagram's replies, nested under their comment
        page = [flat for entry in page for flat in expand(entry)]
    since = dt.datetime.fromtimestamp(state["s"], tz=dt.UTC)
    fresh = [entry for entry in page if (parse_graph_time(entry.get(time_field)) or now) >= since]
    paging = body.get("paging") or {}
    after = str((paging.get("cursors") or {}).get("after") or "")
    post_done = not fresh or not paging.get("next") or not after
    state = {**state, "l": post, "a": ""} if post_done else {**state, "a": after}
    more = not post_done or len(pending) > 1
    return CommentsStep(post_id=post, entries=fresh, cursor=comments_cursor(state), more=more, requests=1)
