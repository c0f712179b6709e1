"""A fake social platform server for end-to-end, chaos and benchmark runs (loopback only).

It speaks enough of three real APIs for CivicPost's real adapters to publish to it, each pointed
at it by a base-URL setting (shared/platforms.md sections 2, 3 and 6):

- Mastodon: POST /api/v1/statuses (form or JSON; honours ``Idempotency-Key`` per account for
  an hour, as Mastodon does: the same key answers with the same status and posts nothing),
  GET/DELETE /api/v1/statuses/:id, GET /api/v1/accounts/verify_credentials,
  GET /api/v1/accounts/:id/statuses, GET /api/v1/instance and /api/v2/instance, POST /api/v2/media.
- X API v2: POST /2/tweets, DELETE /2/tweets/:id, GET /2/tweets/:id, GET /2/users/me,
  GET /2/users/:id/tweets (for reconciliation), v2 media upload; the 403 duplicate-content body.
- Facebook Graph: POST /{version}/{page-id}/feed, GET /{version}/{page-id}/feed (and /posts,
  /published_posts), GET/DELETE /{version}/{post-id}, GET /{version}/me/accounts; Graph error JSON
  (code 506 for a duplicate).

Every accepted post goes into a ledger (memory, plus an optional JSON-lines file) with the
platform, account, idempotency key, text and time. Faults are set by constructor keywords or at
run time with ``POST /__control`` (JSON), and apply to the requests that create a post (and to
reads too when ``faults_on_reads`` is true):

  latency_ms, latency_jitter_ms   added to every platform request
  p_rate_limit                    answer 429 (or the platform's rate-limit error) with a reset time
  rate_limit_reset_seconds        how far ahead that reset time is
  p_server_error                  answer 5xx; nothing is stored
  p_drop_before                   close the connection without storing anything
  p_drop                          store the post, then close the connection without an answer
  p_slow                          store the post, then answer only after ``slow_seconds``
  script                          a list of outcomes ("ok", "rate_limit", "server_error",
                                  "drop_before", "drop", "slow") used, in order, before any draw

``{"platform": "x", ...}`` in a control request scopes the settings to one platform.
``GET /__ledger`` answers ``{"posts": [...], "stats": {...}}``; ``POST /__control {"reset": true}``
empties the ledger and restores the constructor's settings.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import email.parser
import email.policy
import hashlib
import itertools
import json
import random
import re
import socket
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PLATFORMS = ("mastodon", "x", "facebook")
OUTCOMES = ("ok", "rate_limit", "server_error", "drop_before", "drop", "slow")

DEFAULT_CONFIG: dict[str, Any] = {
    "latency_ms": 0.0,
    "latency_jitter_ms": 0.0,
    "p_rate_limit": 0.0,
    "rate_limit_reset_seconds": 30.0,
    "p_server_error": 0.0,
    "server_error_status": 503,
    "p_drop_before": 0.0,
    "p_drop": 0.0,
    "p_slow": 0.0,
    "slow_seconds": 30.0,
    "faults_on_reads": False,
    # X and Facebook refuse an exact repeat of a recent post by the same account, as the real ones do.
    "duplicate_check": True,
    "duplicate_window_seconds": 24 * 3600.0,
    # Mastodon keeps idempotency keys for one hour.
    "idempotency_ttl_seconds": 3600.0,
    "max_characters": 500,
    "script": [],
}

X_DUPLICATE_BODY = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso_z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fb_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _numeric_id(text: str) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:12], 16))


@dataclass
class LedgerEntry:
    seq: int
    platform: str
    account: str
    remote_id: str
    text: str
    idempotency_key: str = ""
    link: str = ""
    received_at: float = 0.0
    received_iso: str = ""
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Ledger:
    """Every post the fake accepted. Thread-safe; optionally appended to a JSON-lines file."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        self._entries: list[LedgerEntry] = []
        self._by_remote: dict[tuple[str, str], LedgerEntry] = {}
        self.path = Path(path) if path else None
        if self.path and self.path.exists():
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        for line in self.path.read_text().splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("event") == "delete":
                entry = self._by_remote.get((record["platform"], record["remote_id"]))
                if entry:
                    entry.deleted = True
                continue
            record.pop("event", None)
            entry = LedgerEntry(**record)
            self._entries.append(entry)
            self._by_remote[(entry.platform, entry.remote_id)] = entry

    def _append_file(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def add(self, **values: Any) -> LedgerEntry:
        with self._lock:
            now = time.time()
            entry = LedgerEntry(
                seq=len(self._entries) + 1,
                received_at=now,
                received_iso=_iso_z(dt.datetime.fromtimestamp(now, dt.UTC)),
                **values,
            )
            self._entries.append(entry)
            self._by_remote[(entry.platform, entry.remote_id)] = entry
            self._append_file({"event": "post", **asdict(entry)})
            return entry

    def get(self, platform: str, remote_id: str) -> LedgerEntry | None:
        with self._lock:
            return self._by_remote.get((platform, remote_id))

    def delete(self, platform: str, remote_id: str) -> bool:
        with self._lock:
            entry = self._by_remote.get((platform, remote_id))
            if entry is None or entry.deleted:
                return False
            entry.deleted = True
            self._append_file({"event": "delete", "platform": platform, "remote_id": remote_id})
            return True

    def find(
        self, *, platform: str | None = None, account: str | None = None, live_only: bool = True
    ) -> list[LedgerEntry]:
        with self._lock:
            return [
                e
                for e in self._entries
                if (platform is None or e.platform == platform)
                and (account is None or e.account == account)
                and not (live_only and e.deleted)
            ]

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_remote.clear()
            if self.path is not None:
                self.path.write_text("")

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class FakePlatform:
    """The fake's state (ledger, settings, counters) and its HTTP server.

    Use as ``with FakePlatform(latency_ms=100) as fake: ...`` or ``fake.start()`` / ``fake.stop()``;
    ``fake.url`` is its base URL."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ledger_path: str | Path | None = None,
        seed: int | None = None,
        **config: Any,
    ) -> None:
        unknown = set(config) - set(DEFAULT_CONFIG)
        if unknown:
            raise TypeError(f"unknown fake platform settings: {sorted(unknown)}")
        self._initial = {**copy.deepcopy(DEFAULT_CONFIG), **config}
        self._lock = threading.RLock()
        self.config: dict[str, Any] = copy.deepcopy(self._initial)
        self.platform_config: dict[str, dict[str, Any]] = {}
        self.ledger = Ledger(ledger_path)
        self.stats: Counter[str] = Counter()
        self.rng = random.Random(seed)  # noqa: S311 - fault injection, not security
        self._ids = itertools.count(int(time.time() * 1000) << 8)
        self._idempotency: dict[tuple[str, str], tuple[float, str]] = {}
        self._idempotency_locks: dict[tuple[str, str], threading.Lock] = {}
        self._media: dict[str, dict[str, Any]] = {}
        self.revoked_tokens: set[str] = set()
        # A Page token's /me is its Page: learnt from the Page the token first works with.
        self.facebook_token_pages: dict[str, str] = {}
        self.stopping = threading.Event()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.fake = self
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.httpd.server_address[0]}:{self.port}"

    def start(self) -> FakePlatform:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="fakeplatform", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- settings ----------------------------------------------------------------------------

    def configure(self, platform: str | None = None, **settings: Any) -> None:
        unknown = set(settings) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown settings: {sorted(unknown)}")
        with self._lock:
            if platform:
                self.platform_config.setdefault(platform, {}).update(copy.deepcopy(settings))
            else:
                self.config.update(copy.deepcopy(settings))

    def reset(self) -> None:
        with self._lock:
            self.config = copy.deepcopy(self._initial)
            self.platform_config.clear()
            self.stats.clear()
            self._idempotency.clear()
            self.revoked_tokens.clear()
            self.ledger.clear()

    def setting(self, platform: str, name: str) -> Any:
        with self._lock:
            scoped = self.platform_config.get(platform, {})
            return scoped[name] if name in scoped else self.config[name]

    def count(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self.stats[key] += 1

    def draw_outcome(self, platform: str) -> str:
        """Picks what happens to one request: a scripted outcome first, else a random draw."""
        with self._lock:
            scoped = self.platform_config.get(platform, {})
            script = scoped["script"] if "script" in scoped else self.config["script"]
            if script:
                outcome = script.pop(0)
                if outcome not in OUTCOMES:
                    raise ValueError(f"unknown scripted outcome {outcome!r}")
                return outcome
            roll = self.rng.random()
        edge = 0.0
        for outcome, key in (
            ("rate_limit", "p_rate_limit"),
            ("server_error", "p_server_error"),
            ("drop_before", "p_drop_before"),
            ("drop", "p_drop"),
            ("slow", "p_slow"),
        ):
            edge += float(self.setting(platform, key))
            if roll < edge:
                return outcome
        return "ok"

    def next_id(self) -> str:
        with self._lock:
            return str(next(self._ids))

    # --- Mastodon idempotency (per account, kept for idempotency_ttl_seconds) -----------------

    def idempotency_lock(self, account: str, key: str) -> threading.Lock:
        with self._lock:
            return self._idempotency_locks.setdefault((account, key), threading.Lock())

    def idempotent_status(self, account: str, key: str) -> str | None:
        with self._lock:
            found = self._idempotency.get((account, key))
            if found is None:
                return None
            stored_at, remote_id = found
            if time.time() - stored_at > float(self.setting("mastodon", "idempotency_ttl_seconds")):
                del self._idempotency[(account, key)]
                return None
            return remote_id

    def remember_idempotency(self, account: str, key: str, remote_id: str) -> None:
        with self._lock:
            self._idempotency[(account, key)] = (time.time(), remote_id)

    def duplicate_of(self, platform: str, account: str, text: str) -> LedgerEntry | None:
        if not self.setting(platform, "duplicate_check"):
            return None
        window = float(self.setting(platform, "duplicate_window_seconds"))
        cutoff = time.time() - window
        for entry in reversed(self.ledger.find(platform=platform, account=account)):
            if entry.received_at < cutoff:
                break
            if entry.text == text:
                return entry
        return None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "posts": self.ledger.entries(),
                "stats": dict(self.stats),
                "config": copy.deepcopy(self.config),
                "platform_config": copy.deepcopy(self.platform_config),
            }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakePlatform


class _Drop(Exception):
    """Close the connection without writing a response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "FakePlatform/1.0"

    # Quiet: the chaos run makes tens of thousands of requests.
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    @property
    def fake(self) -> FakePlatform:
        return self.server.fake

    # --- plumbing ------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        self._body_bytes = self._read_body()
        parsed = urllib.parse.urlsplit(self.path)
        self.query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        path = re.sub(r"^/(mastodon|x|twitter|facebook)(?=/)", "", parsed.path.rstrip("/") or "/")
        try:
            if path.startswith("/__"):
                self._control(method, path)
                return
            platform = self._platform_of(path)
            if platform is None:
                self._json(404, {"error": f"The fake platform has no route for {method} {path}"})
                return
            self.fake.count(f"{platform}:requests")
            latency = float(self.fake.setting(platform, "latency_ms"))
            jitter = float(self.fake.setting(platform, "latency_jitter_ms"))
            if latency or jitter:
                time.sleep((latency + self.fake.rng.uniform(0, jitter)) / 1000.0)
            handler = getattr(self, f"_{platform}")
            handler(method, path)
        except _Drop:
            self._drop_connection()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def form(self) -> dict[str, Any]:
        """The request's fields, from a form, multipart or JSON body (repeated keys become lists)."""
        ctype = self.headers.get("Content-Type", "")
        body = self._body_bytes
        if not body:
            return {}
        if "json" in ctype:
            value = json.loads(body.decode() or "{}")
            return value if isinstance(value, dict) else {}
        if ctype.startswith("multipart/"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            fields: dict[str, Any] = {}
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if part.get_filename():
                    fields[name] = {"filename": part.get_filename(), "size": len(part.get_payload(decode=True) or b"")}
                else:
                    self._add_field(fields, name, part.get_content())
            return fields
        fields = {}
        for key, value in urllib.parse.parse_qsl(body.decode(), keep_blank_values=True):
            self._add_field(fields, key, value)
        return fields

    @staticmethod
    def _add_field(fields: dict[str, Any], key: str, value: Any) -> None:
        if key.endswith("[]"):
            fields.setdefault(key[:-2], []).append(value)
        else:
            fields[key] = value

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _drop_connection(self) -> None:
        """Closes the socket without a response (SO_LINGER 0: the client sees a reset)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _platform_of(self, path: str) -> str | None:
        if path.startswith("/api/v1/") or path.startswith("/api/v2/"):
            return "mastodon"
        if path.startswith("/2/"):
            return "x"
        if re.match(r"^/v\d+\.\d+/", path):
            return "facebook"
        return None

    def bearer(self) -> str:
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return ""

    # --- faults ---------------------------------------------------------------------------------

    def fault(self, platform: str, *, write: bool) -> str:
        """Applies the pre-accept faults. Returns "ok", "drop" or "slow" for the caller to apply
        after storing the post; raises _Drop or answers (and returns "answered") otherwise."""
        if not write and not self.fake.setting(platform, "faults_on_reads"):
            return "ok"
        outcome = self.fake.draw_outcome(platform)
        self.fake.count(f"{platform}:{outcome}")
        if outcome == "drop_before":
            raise _Drop
        if outcome == "rate_limit":
            self._rate_limited(platform)
            return "answered"
        if outcome == "server_error":
            self._server_error(platform)
            return "answered"
        if not write and outcome in ("drop", "slow"):
            # A read has nothing to store: a dropped or slow read is the same as dropping it.
            if outcome == "slow":
                self.fake.stopping.wait(float(self.fake.setting(platform, "slow_seconds")))
            raise _Drop
        return outcome

    def after_accept(self, outcome: str, platform: str) -> None:
        if outcome == "drop":
            raise _Drop
        if outcome == "slow":
            self.fake.stopping.wait(float(self.fake.setting(platform, "slow_seconds")))

    def _rate_limited(self, platform: str) -> None:
        reset_in = float(self.fake.setting(platform, "rate_limit_reset_seconds"))
        reset_at = time.time() + reset_in
        if platform == "mastodon":
            self._json(
                429,
                {"error": "Too many requests"},
                {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": _iso_z(dt.datetime.fromtimestamp(reset_at, dt.UTC)),
                },
            )
        elif platform == "x":
            self._json(
                429,
                {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
                {
                    "x-rate-limit-limit": "100",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(int(reset_at) + 1),
                },
            )
        else:
            minutes = max(1, int((reset_in + 59) // 60))
            usage = {
                "0": [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 10,
                        "total_time": 10,
                        "estimated_time_to_regain_access": minutes,
                    }
                ]
            }
            self._json(
                400,
                {
                    "error": {
                        "message": "(#32) Page request limit reached",
                        "type": "OAuthException",
                        "code": 32,
                        "fbtrace_id": "FakeTrace",
                    }
                },
                {"X-Business-Use-Case-Usage": json.dumps(usage), "Retry-After": str(int(reset_in))},
            )

    def _server_error(self, platform: str) -> None:
        status = int(self.fake.setting(platform, "server_error_status"))
        if platform == "mastodon":
            self._json(status, {"error": "The server is temporarily unavailable"})
        elif platform == "x":
            self._json(
                status,
                {
                    "title": "Service Unavailable",
                    "detail": "Service Unavailable",
                    "type": "about:blank",
                    "status": status,
                },
            )
        else:
            self._json(
                status,
                {
                    "error": {
                        "message": "An unexpected error has occurred. Please retry your request later.",
                        "type": "OAuthException",
                        "code": 2,
                        "is_transient": True,
                        "fbtrace_id": "FakeTrace",
                    }
                },
            )

    # --- control --------------------------------------------------------------------------------

    def _control(self, method: str, path: str) -> None:
        fake = self.fake
        if path == "/__ledger" and method == "GET":
            snapshot = fake.snapshot()
            platform, account = self.query.get("platform"), self.query.get("account")
            snapshot["posts"] = [
                p
                for p in snapshot["posts"]
                if (not platform or p["platform"] == platform) and (not account or p["account"] == account)
            ]
            self._json(200, snapshot)
        elif path == "/__control" and method == "GET":
            self._json(200, {"config": fake.config, "platform_config": fake.platform_config})
        elif path == "/__control" and method == "POST":
            try:
                settings = json.loads(self._body_bytes.decode() or "{}")
                if settings.pop("reset", False):
                    fake.reset()
                for token in settings.pop("revoke_tokens", []):
                    fake.revoked_tokens.add(token)
                fake.configure(settings.pop("platform", None), **settings)
            except (ValueError, TypeError) as error:
                self._json(400, {"error": str(error)})
                return
            self._json(200, {"config": fake.config, "platform_config": fake.platform_config})
        elif path == "/__health":
            self._json(200, {"ok": True, "posts": len(fake.ledger)})
        else:
            self._json(404, {"error": "unknown control route"})

    # --- Mastodon -------------------------------------------------------------------------------

    def _base(self) -> str:
        return f"http://{self.headers.get('Host') or '127.0.0.1'}"

    def _mastodon_account(self, account_id: str) -> dict[str, Any]:
        acct = f"user{account_id}"
        return {
            "id": account_id,
            "username": acct,
            "acct": acct,
            "display_name": f"Fake account {account_id}",
            "locked": False,
            "bot": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "",
            "url": f"{self._base()}/@{acct}",
            "avatar": f"{self._base()}/avatars/original/missing.png",
            "avatar_static": f"{self._base()}/avatars/original/missing.png",
            "header": f"{self._base()}/headers/original/missing.png",
            "header_static": f"{self._base()}/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self.fake.ledger.find(platform="mastodon", account=account_id)),
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }

    def _status_json(self, entry: LedgerEntry) -> dict[str, Any]:
        account = self._mastodon_account(entry.account)
        escaped = entry.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {
            "id": entry.remote_id,
            "created_at": entry.received_iso,
            "in_reply_to_id": None,
            "in_reply_to_account_id": None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": entry.extra.get("visibility", "public"),
            "language": entry.extra.get("language", "en"),
            "uri": f"{self._base()}/users/{account['acct']}/statuses/{entry.remote_id}",
            "url": f"{self._base()}/@{account['acct']}/{entry.remote_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": "<p>" + escaped.replace("\n", "<br />") + "</p>",
            "filtered": [],
            "reblog": None,
            "application": {"name": "CivicPost", "website": None},
            "account": account,
            "media_attachments": [
                self._media_json(m) for m in entry.extra.get("media_ids", []) if m in self.fake._media
            ],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _media_json(self, media_id: str) -> dict[str, Any]:
        media = self.fake._media[media_id]
        return {
            "id": media_id,
            "type": "image",
            "url": f"{self._base()}/media/{media_id}.png",
            "preview_url": f"{self._base()}/media/{media_id}_small.png",
            "remote_url": None,
            "text_url": None,
            "meta": {},
            "description": media.get("description"),
            "blurhash": None,
        }

    def _instance(self, version: int) -> dict[str, Any]:
        max_chars = int(self.fake.setting("mastodon", "max_characters"))
        statuses = {"max_characters": max_chars, "max_media_attachments": 4, "characters_reserved_per_url": 23}
        media = {
            "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4"],
            "image_size_limit": 16777216,
            "image_matrix_limit": 33177600,
            "video_size_limit": 103809024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
            "description_limit": 1500,
        }
        host = self.headers.get("Host") or "127.0.0.1"
        if version == 1:
            return {
                "uri": host,
                "title": "Fake Mastodon",
                "short_description": "",
                "description": "A fake Mastodon instance for CivicPost tests.",
                "email": "admin@example.invalid",
                "version": "4.4.0",
                "urls": {"streaming_api": f"ws://{host}"},
                "stats": {"user_count": 1, "status_count": len(self.fake.ledger), "domain_count": 1},
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": {"statuses": statuses, "media_attachments": media},
                "contact_account": None,
                "rules": [],
            }
        return {
            "domain": host,
            "title": "Fake Mastodon",
            "version": "4.4.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A fake Mastodon instance for CivicPost tests.",
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{self._base()}/thumb.png"},
            "languages": ["en"],
            "configuration": {
                "urls": {"streaming": f"ws://{host}"},
                "accounts": {"max_featured_tags": 10},
                "statuses": statuses,
                "media_attachments": media,
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "admin@example.invalid", "account": None},
            "rules": [],
        }

    def _mastodon(self, method: str, path: str) -> None:
        if path in ("/api/v1/instance", "/api/v2/instance") and method == "GET":
            self._json(200, self._instance(1 if "/v1/" in path else 2))
            return
        token = self.bearer()
        if not token or token in self.fake.revoked_tokens:
            self._json(401, {"error": "The access token is invalid"})
            return
        account = _numeric_id(f"mastodon:{token}")
        write = method in ("POST", "DELETE")
        outcome = self.fault("mastodon", write=write)
        if outcome == "answered":
            return
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            self._json(200, {**self._mastodon_account(account), "source": {"privacy": "public", "language": "en"}})
        elif path == "/api/v1/statuses" and method == "POST":
            self._mastodon_post_status(account, outcome)
        elif (match := re.fullmatch(r"/api/v1/statuses/(\d+)", path)) and method in ("GET", "DELETE"):
            entry = self.fake.ledger.get("mastodon", match[1])
            if entry is None or entry.deleted:
                self._json(404, {"error": "Record not found"})
            elif method == "DELETE":
                if entry.account != account:
                    self._json(403, {"error": "This action is not allowed"})
                    return
                self.fake.ledger.delete("mastodon", entry.remote_id)
                self._json(200, {**self._status_json(entry), "text": entry.text})
            else:
                self._json(200, self._status_json(entry))
        elif (match := re.fullmatch(r"/api/v1/accounts/(\d+)/statuses", path)) and method == "GET":
            entries = sorted(
                self.fake.ledger.find(platform="mastodon", account=match[1]), key=lambda e: -int(e.remote_id)
            )
            for bound, keep in (
                ("max_id", lambda e, v: int(e.remote_id) < v),
                ("since_id", lambda e, v: int(e.remote_id) > v),
                ("min_id", lambda e, v: int(e.remote_id) > v),
            ):
                if self.query.get(bound):
                    entries = [e for e in entries if keep(e, int(self.query[bound]))]
            limit = min(40, int(self.query.get("limit") or 20))
            self._json(200, [self._status_json(e) for e in entries[:limit]])
        elif path in ("/api/v2/media", "/api/v1/media") and method == "POST":
            fields = self.form()
            media_id = self.fake.next_id()
            self.fake._media[media_id] = {"description": fields.get("description")}
            self._json(200, self._media_json(media_id))
        elif (match := re.fullmatch(r"/api/v1/media/(\d+)", path)) and method in ("GET", "PUT"):
            if match[1] not in self.fake._media:
                self._json(404, {"error": "Record not found"})
            else:
                self._json(200, self._media_json(match[1]))
        else:
            self._json(404, {"error": "Record not found"})

    def _mastodon_post_status(self, account: str, outcome: str) -> None:
        fields = self.form()
        text = str(fields.get("status") or "")
        media_ids = [str(m) for m in fields.get("media_ids") or []]
        if not text.strip() and not media_ids:
            self._json(422, {"error": "Validation failed: Text can't be blank"})
            return
        max_chars = int(self.fake.setting("mastodon", "max_characters"))
        if len(text) > max_chars:
            self._json(422, {"error": f"Validation failed: Text character limit of {max_chars} exceeded"})
            return
        key = self.headers.get("Idempotency-Key", "")
        if key:
            # Serialised per key: a second request with the key waits for the first and replays it.
            with self.fake.idempotency_lock(account, key):
                existing = self.fake.idempotent_status(account, key)
                if existing is not None:
                    entry = self.fake.ledger.get("mastodon", existing)
                    self.fake.count("mastodon:idempotent_replay")
                else:
                    entry = self._mastodon_store(account, text, key, fields, media_ids)
                    self.fake.remember_idempotency(account, key, entry.remote_id)
        else:
            entry = self._mastodon_store(account, text, key, fields, media_ids)
        assert entry is not None
        self.after_accept(outcome, "mastodon")
        self._json(200, self._status_json(entry))

    def _mastodon_store(
        self, account: str, text: str, key: str, fields: dict[str, Any], media_ids: list[str]
    ) -> LedgerEntry:
        return self.fake.ledger.add(
            platform="mastodon",
            account=account,
            remote_id=self.fake.next_id(),
            text=text,
            idempotency_key=key,
            extra={
                "visibility": fields.get("visibility") or "public",
                "language": fields.get("language") or "en",
                "media_ids": media_ids,
            },
        )

    # --- X API v2 -------------------------------------------------------------------------------

    def _x_user(self) -> tuple[str, str] | None:
        """Returns (user id, token) from OAuth 1.0a or bearer auth. A token 'ID-secret' is user ID."""
        auth = self.headers.get("Authorization", "")
        token = ""
        if auth.startswith("OAuth "):
            match = re.search(r'oauth_token="([^"]*)"', auth)
            token = urllib.parse.unquote(match[1]) if match else ""
        elif auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        if not token or token in self.fake.revoked_tokens:
            return None
        head = token.split("-", 1)[0]
        return (head if head.isdigit() else _numeric_id(f"x:{token}")), token

    def _tweet_json(self, entry: LedgerEntry, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": entry.remote_id, "text": entry.text, "edit_history_tweet_ids": [entry.remote_id]}
        if "created_at" in fields:
            data["created_at"] = entry.received_iso
        if "author_id" in fields:
            data["author_id"] = entry.account
        if "public_metrics" in fields:
            data["public_metrics"] = {
                "retweet_count": 0,
                "reply_count": 0,
                "like_count": 0,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": 0,
            }
        return data

    def _x(self, method: str, path: str) -> None:
        user = self._x_user()
        if user is None:
            self._json(401, {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
            return
        user_id, _token = user
        write = method in ("POST", "DELETE")
        outcome = self.fault("x", write=write)
        if outcome == "answered":
            return
        fields = set(filter(None, self.query.get("tweet.fields", "").split(",")))
        if path == "/2/tweets" and method == "POST":
            body = self.form()
            text = str(body.get("text") or "")
            if not text.strip() and not body.get("media"):
                self._json(
                    400,
                    {
                        "errors": [{"message": "text or media is required"}],
                        "title": "Invalid Request",
                        "detail": "One or more parameters to your request was invalid.",
                        "type": "https://api.twitter.com/2/problems/invalid-request",
                    },
                )
                return
            if self.fake.duplicate_of("x", user_id, text):
                self.fake.count("x:duplicate_rejected")
                self._json(403, X_DUPLICATE_BODY)
                return
            entry = self.fake.ledger.add(
                platform="x",
                account=user_id,
                remote_id=self.fake.next_id(),
                text=text,
                extra={"media": body.get("media") or {}},
            )
            self.after_accept(outcome, "x")
            self._json(201, {"data": self._tweet_json(entry, set())})
        elif (match := re.fullmatch(r"/2/tweets/(\d+)", path)) and method in ("GET", "DELETE"):
            entry = self.fake.ledger.get("x", match[1])
            if method == "DELETE":
                if entry is None or entry.deleted:
                    self._json(200, {"data": {"deleted": False}})
                    return
                if entry.account != user_id:
                    self._json(
                        403,
                        {
                            "title": "Forbidden",
                            "type": "about:blank",
                            "status": 403,
                            "detail": "You are not allowed to delete this Tweet.",
                        },
                    )
                    return
                self.fake.ledger.delete("x", entry.remote_id)
                self._json(200, {"data": {"deleted": True}})
            elif entry is None or entry.deleted:
                self._json(200, {"errors": [self._x_not_found(match[1])]})
            else:
                self._json(200, {"data": self._tweet_json(entry, fields)})
        elif path == "/2/tweets" and method == "GET":
            ids = [i for i in self.query.get("ids", "").split(",") if i]
            found, errors = [], []
            for tweet_id in ids:
                entry = self.fake.ledger.get("x", tweet_id)
                if entry is None or entry.deleted:
                    errors.append(self._x_not_found(tweet_id))
                else:
                    found.append(self._tweet_json(entry, fields))
            payload: dict[str, Any] = {"data": found} if found else {}
            if errors:
                payload["errors"] = errors
            self._json(200, payload)
        elif path == "/2/users/me" and method == "GET":
            self._json(200, {"data": {"id": user_id, "name": f"Fake user {user_id}", "username": f"fake{user_id}"}})
        elif (match := re.fullmatch(r"/2/users/(\d+)/tweets", path)) and method == "GET":
            self._x_user_tweets(match[1], fields)
        elif path.startswith("/2/media/upload") and method in ("POST", "GET"):
            media_id = self.fake.next_id()
            self._json(
                200,
                {
                    "data": {
                        "id": media_id,
                        "media_key": f"3_{media_id}",
                        "expires_after_secs": 86400,
                        "processing_info": {"state": "succeeded"},
                    }
                },
            )
        elif re.fullmatch(r"/2/media/[^/]+", path) and method == "POST":
            self._json(200, {"data": {"id": path.rsplit("/", 1)[1]}})
        else:
            self._json(404, {"title": "Not Found Error", "type": "about:blank", "status": 404, "detail": "Not Found"})

    @staticmethod
    def _x_not_found(tweet_id: str) -> dict[str, Any]:
        return {
            "value": tweet_id,
            "detail": f"Could not find tweet with id: [{tweet_id}].",
            "title": "Not Found Error",
            "resource_type": "tweet",
            "parameter": "id",
            "resource_id": tweet_id,
            "type": "https://api.twitter.com/2/problems/resource-not-found",
        }

    def _x_user_tweets(self, user_id: str, fields: set[str]) -> None:
        entries = sorted(self.fake.ledger.find(platform="x", account=user_id), key=lambda e: -int(e.remote_id))

        def parse(value: str) -> float:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

        if self.query.get("start_time"):
            entries = [e for e in entries if e.received_at >= parse(self.query["start_time"])]
        if self.query.get("end_time"):
            entries = [e for e in entries if e.received_at <= parse(self.query["end_time"])]
        if self.query.get("since_id"):
            entries = [e for e in entries if int(e.remote_id) > int(self.query["since_id"])]
        if self.query.get("until_id"):
            entries = [e for e in entries if int(e.remote_id) < int(self.query["until_id"])]
        if self.query.get("pagination_token"):
            below = int(base64.urlsafe_b64decode(self.query["pagination_token"].encode()).decode())
            entries = [e for e in entries if int(e.remote_id) < below]
        limit = max(5, min(100, int(self.query.get("max_results") or 10)))
        page = entries[:limit]
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta.update(newest_id=page[0].remote_id, oldest_id=page[-1].remote_id)
        if len(entries) > limit:
            meta["next_token"] = base64.urlsafe_b64encode(page[-1].remote_id.encode()).decode()
        payload: dict[str, Any] = {"meta": meta}
        if page:
            payload["data"] = [self._tweet_json(e, fields) for e in page]
        self._json(200, payload)

    # --- Facebook Graph -------------------------------------------------------------------------

    def _fb_error(self, status: int, code: int, message: str, **extra: Any) -> None:
        error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "FakeTrace", **extra}
        self._json(status, {"error": error})

    def _fb_post_json(self, entry: LedgerEntry, fields: set[str]) -> dict[str, Any]:
        data: dict[str, Any] = {"id": entry.remote_id}
        wanted = fields or {"message", "created_time"}
        if "message" in wanted:
            data["message"] = entry.text
        if "created_time" in wanted:
            data["created_time"] = _fb_time(dt.datetime.fromtimestamp(entry.received_at, dt.UTC))
        if "permalink_url" in wanted:
            page_id, post_id = entry.remote_id.split("_", 1)
            data["permalink_url"] = f"https://www.facebook.com/{page_id}/posts/{post_id}"
        if "link" in wanted and entry.link:
            data["link"] = entry.link
        return data

    def _facebook(self, method: str, path: str) -> None:
        fields = self.form()
        token = self.query.get("access_token") or fields.get("access_token") or self.bearer()
        if not token:
            self._fb_error(
                400, 2500, "An active access token must be used to query information about the current user."
            )
            return
        if token in self.fake.revoked_tokens:
            self._fb_error(
                400, 190, "Error validating access token: The session has been invalidated.", error_subcode=460
            )
            return
        write = method in ("POST", "DELETE")
        outcome = self.fault("facebook", write=write)
        if outcome == "answered":
            return
        wanted = set(filter(None, self.query.get("fields", "").split(",")))
        parts = path.split("/")[2:]  # drop "" and the version
        if len(parts) == 2 and parts[0].isdigit():
            self.fake.facebook_token_pages.setdefault(token, parts[0])
        if parts == ["me"] and method == "GET":
            page_id = self.fake.facebook_token_pages.get(token) or _numeric_id(f"facebook:{token}")
            self._json(200, {"id": page_id, "name": f"Fake page {page_id}"})
        elif parts == ["me", "accounts"] and method == "GET":
            self._json(200, {"data": [], "paging": {"cursors": {"before": "", "after": ""}}})
        elif len(parts) == 2 and parts[1] == "feed" and method == "POST":
            self._facebook_publish(parts[0], fields, outcome)
        elif len(parts) == 2 and parts[1] in ("feed", "posts", "published_posts") and method == "GET":
            self._facebook_feed(parts[0], wanted)
        elif len(parts) == 2 and parts[1] == "photos" and method == "POST":
            photo_id = self.fake.next_id()
            self._json(200, {"id": photo_id})
        elif len(parts) == 1 and "_" in parts[0]:
            entry = self.fake.ledger.get("facebook", parts[0])
            if entry is None or entry.deleted:
                self._fb_error(
                    400,
                    100,
                    f"Unsupported {method.lower()} request. Object with ID '{parts[0]}' does not exist, "
                    "cannot be loaded due to missing permissions, or does not support this operation.",
                    error_subcode=33,
                )
            elif method == "DELETE":
                self.fake.ledger.delete("facebook", entry.remote_id)
                self._json(200, {"success": True})
            else:
                self._json(200, self._fb_post_json(entry, wanted))
        elif len(parts) == 1 and method == "GET":
            self._json(200, {"id": parts[0], "name": f"Fake page {parts[0]}"})
        else:
            self._fb_error(400, 100, "Unknown path components")

    def _facebook_publish(self, page_id: str, fields: dict[str, Any], outcome: str) -> None:
        text = str(fields.get("message") or "")
        link = str(fields.get("link") or "")
        if not text and not link and not any(k.startswith("attached_media") for k in fields):
            self._fb_error(400, 100, "(#100) Missing message or attachment.")
            return
        if self.fake.duplicate_of("facebook", page_id, text):
            self.fake.count("facebook:duplicate_rejected")
            self._fb_error(
                400,
                506,
                "(#506) Duplicate status message",
                error_user_title="Duplicate post",
                error_user_msg="This status update is identical to the last one you posted.",
            )
            return
        entry = self.fake.ledger.add(
            platform="facebook",
            account=page_id,
            remote_id=f"{page_id}_{self.fake.next_id()}",
            text=text,
            link=link,
            extra={"published": str(fields.get("published", "true")).lower() != "false"},
        )
        self.after_accept(outcome, "facebook")
        self._json(200, {"id": entry.remote_id})

    def _facebook_feed(self, page_id: str, wanted: set[str]) -> None:
        entries = sorted(self.fake.ledger.find(platform="facebook", account=page_id), key=lambda e: -e.seq)
        if self.query.get("since"):
            entries = [e for e in entries if e.received_at >= float(self.query["since"])]
        if self.query.get("until"):
            entries = [e for e in entries if e.received_at <= float(self.query["until"])]
        if self.query.get("after"):
            below = int(base64.urlsafe_b64decode(self.query["after"].encode()).decode())
            entries = [e for e in entries if e.seq < below]
        limit = max(1, min(100, int(self.query.get("limit") or 25)))
        page = entries[:limit]
        paging: dict[str, Any] = {}
        if page:
            paging["cursors"] = {
                "before": base64.urlsafe_b64encode(str(page[0].seq).encode()).decode(),
                "after": base64.urlsafe_b64encode(str(page[-1].seq).encode()).decode(),
            }
        if len(entries) > limit:
            query = {**self.query, "after": paging["cursors"]["after"]}
            paging["next"] = f"{self._base()}{urllib.parse.urlsplit(self.path).path}?{urllib.parse.urlencode(query)}"
        self._json(200, {"data": [self._fb_post_json(e, wanted) for e in page], "paging": paging})
