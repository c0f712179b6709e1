"""A fake social platform server for end-to-end, chaos and benchmark runs (loopback only).

It speaks enough of seven real APIs (and a webhook receiver) for CivicPost's real adapters to publish
to it, each pointed at it by a base-URL setting (shared/platforms.md sections 2-7 and 9):

- Mastodon: POST /api/v1/statuses (form or JSON; honours ``Idempotency-Key`` per account for
  an hour, as Mastodon does: the same key answers with the same status and posts nothing; with
  ``honour_idempotency_key=False`` it ignores the header, as some servers do),
  GET/DELETE /api/v1/statuses/:id, GET /api/v1/statuses/:id/source, GET /api/v1/accounts/verify_credentials,
  GET /api/v1/accounts/:id/statuses (newest first, max_id / since_id / min_id, Link header),
  GET /api/v1/instance and /api/v2/instance, POST /api/v2/media, GET /api/v1/notifications (types[]=mention,
  min_id / max_id / since_id, limit <= 80: the residents' mentions `fake.add_mastodon_mentions(token, n)` or
  ``POST /__control {"mastodon_mentions": {token: n}}`` made; a status's ``in_reply_to_id`` is kept in the ledger).
- X API v2: POST /2/tweets, DELETE /2/tweets/:id, GET /2/tweets/:id, GET /2/users/me,
  GET /2/users/:id/tweets (for reconciliation), v2 media upload; the 403 duplicate-content body.
- Facebook Graph: POST /{version}/{page-id}/feed, GET /{version}/{page-id}/feed (and /posts,
  /published_posts), GET/DELETE /{version}/{post-id}, GET /{version}/me/accounts; Graph error JSON
  (code 506 for a duplicate).
- Bluesky XRPC (/xrpc/...): com.atproto.server.createSession / refreshSession / getSession (decodable
  JWTs, and a DID document whose PDS is this server), com.atproto.repo.uploadBlob, createRecord (the
  client-chosen rkey is kept; a second create at the same rkey answers RecordAlreadyExists),
  getRecord (RecordNotFound), deleteRecord, com.atproto.identity.resolveHandle, app.bsky.actor.getProfile,
  app.bsky.feed.getPosts. XRPC error JSON ``{"error", "message"}``. ``fake.bluesky_change_handle(old, new)`` (or
  ``POST /__control {"bluesky_change_handles": {old: new}}``) renames an account: same DID, the old handle no
  longer resolves or signs in.
- Instagram Graph: POST /{version}/{ig-user-id}/media (container: image_url + alt_text, REELS + video_url,
  carousel children), GET /{version}/{container-id} (status_code), POST /{ig-user-id}/media_publish,
  GET /{media-id} (permalink, caption, timestamp), GET /{ig-user-id}/media (listing with since / until /
  paging, for reconciliation), GET /{ig-user-id}/content_publishing_limit.
- Threads (graph.threads.net): POST /v1.0/{user}/threads (TEXT / IMAGE / VIDEO / CAROUSEL container),
  GET /{container-id} (status), POST /{user}/threads_publish, GET / DELETE /{media-id},
  GET /{user}/threads (listing), GET /{media-id}/insights, GET /me.
- Webhook receiver: POST /hooks/{name} checks the Standard Webhooks signature with the receiver's secret
  (``webhook_receivers={"name": "whsec_..."}`` or ``POST /__control {"webhook_receivers": {...}}``),
  answers ``{"id", "url"}`` and files one post per ``webhook-id`` (a repeat answers the same, posts nothing).

Instagram and Threads share Facebook's ``/{version}/`` paths. The fake tells them apart by the edge
(``/media``, ``/threads``, ...) or the container or media id it issued; a base URL ending in
``/instagram``, ``/threads`` or ``/bluesky`` (e.g. ``http://127.0.0.1:8765/threads``) picks the platform
outright, which is how CIVICPOST_PLATFORM_URLS should point them here.

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
  container_in_progress_polls     Instagram / Threads: status reads that answer IN_PROGRESS before
                                  a new container is FINISHED (0: ready at once)

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
import hmac
import itertools
import json
import random
import re
import secrets
import socket
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import regex
from standardwebhooks import Webhook, WebhookVerificationError

from tests.fakeplatform import comments as comment_endpoints
from tests.fakeplatform import linkedin as linkedin_endpoints
from tests.fakeplatform import video as video_endpoints

PLATFORMS = ("mastodon", "x", "facebook", "bluesky", "instagram", "threads", "webhook", "linkedin")
# A base URL ending in one of these picks the platform; the others are only stripped.
PLATFORM_PREFIXES = ("mastodon", "x", "twitter", "facebook", "bluesky", "instagram", "threads", "linkedin")
PREFIX_PICKS_PLATFORM = ("bluesky", "instagram", "threads", "linkedin")
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
    # Mastodon keeps idempotency keys for one hour. False: behave like a server that ignores the
    # Idempotency-Key header (older Mastodon, other software): every request is a new status.
    "idempotency_ttl_seconds": 3600.0,
    "honour_idempotency_key": True,
    "max_characters": 500,
    "container_in_progress_polls": 0,
    "script": [],
}

X_DUPLICATE_BODY = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}

# Instagram and Threads publish through containers the same way; what differs is named here
# (developers.facebook.com/docs/instagram-platform/content-publishing, /docs/threads/posts).
GRAPH_CONTAINER_PLATFORMS: dict[str, dict[str, Any]] = {
    "instagram": {
        "create": "media",
        "publish": "media_publish",
        "limit": "content_publishing_limit",
        "text": "caption",
        "max_text": 2200,
        "quota_total": 100,
    },
    "threads": {
        "create": "threads",
        "publish": "threads_publish",
        "limit": "threads_publishing_limit",
        "text": "text",
        "max_text": 500,
        "quota_total": 250,
    },
}
BLUESKY_POST = "app.bsky.feed.post"
BLUESKY_SESSION_SECONDS = 2 * 3600
BLUESKY_REFRESH_SECONDS = 60 * 24 * 3600


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso_z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _fb_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _graph_fields(text: str) -> list[str]:
    """Splits a Graph `fields` value at top-level commas: `a,insights.metric(x,y)` -> two fields."""
    found, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            found.append(current)
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    found.append(current)
    return [item for item in found if item]


def _numeric_id(text: str) -> str:
    return str(int(hashlib.sha256(text.encode()).hexdigest()[:12], 16))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bluesky_did(handle: str) -> str:
    """The DID the fake gives a handle (did:plc: and 24 base32 characters, stable per handle)."""
    digest = base64.b32encode(hashlib.sha256(f"bluesky:{handle}".encode()).digest()).decode().lower()
    return f"did:plc:{digest[:24]}"


def _cid(data: bytes, codec: int) -> str:
    """A real CIDv1 (sha2-256, base32): codec 0x55 raw gives "bafkrei...", 0x71 dag-cbor "bafyrei..."."""
    raw = bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_RKEY_RE = re.compile(r"[A-Za-z0-9._:~-]{1,512}")


def _tid() -> str:
    """A fresh record key in TID form (https://atproto.com/specs/tid): microseconds and a clock id."""
    value = (time.time_ns() // 1000) << 10 | secrets.randbelow(1024)
    return "".join(_TID_ALPHABET[(value >> (5 * shift)) & 31] for shift in reversed(range(13)))


def _graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


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
        # Each account's entries in ledger order: the duplicate check and the listings read one account's posts
        # per request, and a bench's ledger holds thousands.
        self._by_account: dict[tuple[str, str], list[LedgerEntry]] = {}
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
            self._by_account.setdefault((entry.platform, entry.account), []).append(entry)

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
            self._by_account.setdefault((entry.platform, entry.account), []).append(entry)
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
            if platform is not None and account is not None:
                return [e for e in self._by_account.get((platform, account), ()) if not (live_only and e.deleted)]
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
            self._by_account.clear()
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
        webhook_receivers: dict[str, str] | None = None,
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
        # Residents' mentions per Mastodon account id, oldest first (GET /api/v1/notifications).
        self.mastodon_notifications: dict[str, list[dict[str, Any]]] = {}
        # Residents' statuses (from add_mastodon_mentions): an account may reply to them as to its own.
        self.mastodon_resident_statuses: set[str] = set()
        # A Page token's /me is its Page: learnt from the Page the token first works with.
        self.facebook_token_pages: dict[str, str] = {}
        # Instagram / Threads containers by id: {"platform", "user", "media_type", "text", "media", "children",
        # "is_child", "in_progress_left", "media_id" (set once published)}.
        self.containers: dict[str, dict[str, Any]] = {}
        # Bluesky blobs by CID: {"did", "mime_type", "size"}; JWTs are signed with this server's own key.
        self.blobs: dict[str, dict[str, Any]] = {}
        self.bluesky_handles: dict[str, str] = {}  # did -> handle, learnt at sign-in
        # Handles moved to another name (`bluesky_change_handle`): handle -> did for the current ones,
        # and the old names, which no longer resolve (as on the real network).
        self.bluesky_renamed: dict[str, str] = {}
        self.bluesky_retired_handles: set[str] = set()
        self.jwt_key = secrets.token_bytes(32)
        # Webhook receivers {name: signing secret}, and the webhook-ids each has seen {(name, id): remote id}.
        self._initial_receivers = dict(webhook_receivers or {})
        self.webhook_receivers: dict[str, str] = dict(self._initial_receivers)
        self.webhook_ids: dict[tuple[str, str], str] = {}
        # Metric counts a test sets per post (`set_metrics`), and every platform request seen (method, path?query).
        self.metrics: dict[tuple[str, str], dict[str, int]] = {}
        # Tokens whose app lacks the insights permission (Graph answers code 10 when insights are asked for).
        self.no_insights_tokens: set[str] = set()
        self.request_log: list[tuple[str, str]] = []
        # Video uploads and processing (tests/fakeplatform/video.py).
        self.video = video_endpoints.VideoFake()
        # LinkedIn posts, videos and documents (tests/fakeplatform/linkedin.py).
        self.linkedin = linkedin_endpoints.LinkedInFake()
        # Residents' comments, replies and mentions (tests/fakeplatform/comments.py).
        self.comments = comment_endpoints.CommentsFake()
        self.stopping = threading.Event()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.fake = self
        self._thread: threading.Thread | None = None

    def set_metrics(self, platform: str, remote_id: str, **counts: int) -> None:
        """Makes the post report these counts (platform names: like_count, favourites_count, likeCount...)."""
        with self._lock:
            self.metrics[(platform, remote_id)] = dict(counts)

    def metrics_of(self, platform: str, remote_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self.metrics.get((platform, remote_id), {}))

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
            self.mastodon_notifications.clear()
            self.mastodon_resident_statuses.clear()
            self.containers.clear()
            self.blobs.clear()
            self.bluesky_handles.clear()
            self.bluesky_renamed.clear()
            self.bluesky_retired_handles.clear()
            self.webhook_receivers = dict(self._initial_receivers)
            self.webhook_ids.clear()
            self.video.reset()
            self.linkedin.reset()
            self.comments.reset()
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

    def add_mastodon_mentions(self, token: str, count: int, *, in_reply_to_id: str | None = None) -> list[str]:
        """Files `count` residents' mentions of the account whose token this is (replies to `in_reply_to_id`,
        or to the account's latest status when None). Returns the notification ids."""
        account = _numeric_id(f"mastodon:{token}")
        if in_reply_to_id is None:
            own = self.ledger.find(platform="mastodon", account=account)
            in_reply_to_id = own[-1].remote_id if own else None
        ids = []
        now = _iso_z(_utcnow())
        with self._lock:
            notes = self.mastodon_notifications.setdefault(account, [])
            for _n in range(count):
                note_id, status_id = self.next_id(), self.next_id()
                self.mastodon_resident_statuses.add(status_id)
                resident = str(int(status_id) % 100000)
                author = {
                    "id": resident,
                    "username": f"resident{resident}",
                    "acct": f"resident{resident}@elsewhere.example",
                    "display_name": f"Resident {resident}",
                    "url": f"https://elsewhere.example/@resident{resident}",
                }
                notes.append(
                    {
                        "id": note_id,
                        "type": "mention",
                        "created_at": now,
                        "account": author,
                        "status": {
                            "id": status_id,
                            "created_at": now,
                            "in_reply_to_id": in_reply_to_id,
                            "in_reply_to_account_id": account if in_reply_to_id else None,
                            "visibility": "public",
                            "url": f"https://elsewhere.example/@resident{resident}/{status_id}",
                            "uri": f"https://elsewhere.example/users/resident{resident}/statuses/{status_id}",
                            "content": f"<p>@user{account} When does the pool open? ({status_id})</p>",
                            "media_attachments": [],
                            "account": author,
                        },
                    }
                )
                ids.append(note_id)
        return ids

    def add_comments(
        self, platform: str, post_id: str, count: int, *, parent: str = "", text: str = "", ours: bool = False
    ) -> list[str]:
        """Files `count` residents' comments (Facebook, Instagram) or replies (Threads) on our post `post_id` (under
        the comment `parent` when given), newest last. Returns their ids."""
        ids = []
        for _n in range(count):
            number = self.next_id()
            comment_id = f"{post_id.split('_')[-1]}_{number}" if platform == "facebook" else number
            resident = str(int(number) % 100000)
            self.comments.add(
                id=comment_id,
                platform=platform,
                post=post_id,
                parent=parent,
                text=text or f"When does the pool open? ({comment_id})",
                author=f"resident{resident}",
                author_id=f"7{resident}",
                created=_utcnow(),
                ours=ours,
            )
            ids.append(comment_id)
        return ids

    def add_x_mentions(self, user_id: str, count: int, *, in_reply_to: str = "", text: str = "") -> list[str]:
        """Files `count` residents' posts mentioning X user `user_id` (replies to our post `in_reply_to` when given)."""
        ids = []
        for _n in range(count):
            number = self.next_id()
            resident = str(int(number) % 100000)
            self.comments.add(
                id=number,
                platform="x",
                post=in_reply_to,
                parent=in_reply_to,
                text=text or f"@user{user_id} When does the pool open? ({number})",
                author=f"resident{resident}",
                author_id=f"9{resident}",
                created=_utcnow(),
            )
            with self._lock:
                self.comments.x_mentions.setdefault(user_id, []).append(number)
            ids.append(number)
        return ids

    def delete_resident_comment(self, comment_id: str) -> None:
        """The resident deletes their comment: no longer listed; acting on it answers "does not exist"."""
        self.comments.by_id[comment_id]["deleted"] = True

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

    # --- Bluesky identities ----------------------------------------------------------------------

    def bluesky_resolve(self, handle: str) -> str | None:
        """The DID a handle names now, or None for a handle given up by a rename."""
        with self._lock:
            if handle in self.bluesky_renamed:
                return self.bluesky_renamed[handle]
            if handle in self.bluesky_retired_handles:
                return None
        return bluesky_did(handle)

    def bluesky_change_handle(self, old_handle: str, new_handle: str) -> str:
        """Moves the account known as `old_handle` to `new_handle`, keeping its DID, its repository and its app
        passwords (https://docs.bsky.app/docs/api/com-atproto-identity-update-handle); returns the DID. The old
        handle stops resolving, so signing in with it fails as it does on Bluesky."""
        did = self.bluesky_resolve(old_handle)
        if did is None:
            raise ValueError(f"unknown handle {old_handle!r}")
        with self._lock:
            self.bluesky_renamed.pop(old_handle, None)
            self.bluesky_retired_handles.add(old_handle)
            self.bluesky_retired_handles.discard(new_handle)
            self.bluesky_renamed[new_handle] = did
            self.bluesky_handles[did] = new_handle
        return did

    def add_webhook_receiver(self, name: str, secret: str) -> str:
        """Registers a receiver at /hooks/<name> that accepts events signed with `secret`; returns its path."""
        Webhook(secret)  # refuses a malformed secret now rather than on the first event
        with self._lock:
            self.webhook_receivers[name] = secret
        return f"/hooks/{name}"

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
        path = parsed.path.rstrip("/") or "/"
        picked = None
        if prefix := re.match(rf"^/({'|'.join(PLATFORM_PREFIXES)})(?=/)", path):
            path = path[prefix.end() :]
            picked = prefix[1] if prefix[1] in PREFIX_PICKS_PLATFORM else None
        self.route_prefix = prefix[0] if prefix else ""
        try:
            if path.startswith("/__"):
                self._control(method, path)
                return
            platform = picked or self._platform_of(path)
            if platform is None:
                self._json(404, {"error": f"The fake platform has no route for {method} {path}"})
                return
            self.fake.count(f"{platform}:requests")
            with self.fake._lock:
                self.fake.request_log.append((method, self.path))
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
        if path.startswith("/video-upload/"):
            return "facebook"
        if path.startswith("/xrpc/"):
            return "bluesky"
        if path.startswith("/hooks/"):
            return "webhook"
        if re.match(r"^/v\d+\.\d+(/|$)", path):
            return self._graph_platform_of(path)
        return None

    def _graph_platform_of(self, path: str) -> str:
        """Facebook, Instagram or Threads for a /{version}/... path: by the edge, else by the id's issuer."""
        parts = path.split("/")[2:]
        if len(parts) == 2:
            for platform, spec in GRAPH_CONTAINER_PLATFORMS.items():
                if parts[1] in (spec["create"], spec["publish"], spec["limit"]):
                    return platform
        if parts and (owner := self.fake.comments.platform_of(parts[0])) is not None:
            return owner
        if parts:
            container = self.fake.containers.get(parts[0])
            if container is not None:
                return container["platform"]
            for platform in GRAPH_CONTAINER_PLATFORMS:
                if self.fake.ledger.get(platform, parts[0]) is not None:
                    return platform
        return "facebook"

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
        elif platform == "bluesky":
            # https://docs.bsky.app/docs/advanced-guides/rate-limits
            self._json(
                429,
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                {
                    "ratelimit-limit": "5000",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(int(reset_at) + 1),
                    "ratelimit-policy": "5000;w=3600",
                },
            )
        elif platform == "webhook":
            self._json(429, {"error": "slow down"}, {"Retry-After": str(max(1, int(reset_in)))})
        elif platform == "linkedin":
            # https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits: 429, no reset header.
            self._json(
                429,
                {
                    "status": 429,
                    "message": "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
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
        elif platform == "bluesky":
            self._json(status, {"error": "InternalServerError", "message": "Internal Server Error"})
        elif platform == "webhook":
            self._json(status, {"error": "The receiver is temporarily unavailable"})
        elif platform == "linkedin":
            self._json(status, {"status": status, "message": "Service Unavailable"})
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
                for name, secret in settings.pop("webhook_receivers", {}).items():
                    fake.add_webhook_receiver(name, secret)
                for old, new in settings.pop("bluesky_change_handles", {}).items():
                    fake.bluesky_change_handle(old, new)
                for token, count in settings.pop("mastodon_mentions", {}).items():
                    fake.add_mastodon_mentions(token, int(count))
                with fake._lock:
                    fake.mastodon_resident_statuses.update(
                        str(status_id) for status_id in settings.pop("mastodon_resident_statuses", [])
                    )
                fake.configure(settings.pop("platform", None), **settings)
            except (ValueError, TypeError, RuntimeError) as error:
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
            "followers_count": self.fake.metrics_of("mastodon", f"user:{account_id}").get("followers_count", 0),
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
            "in_reply_to_id": entry.extra.get("in_reply_to_id"),
            "in_reply_to_account_id": entry.account if entry.extra.get("in_reply_to_id") else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": entry.extra.get("visibility", "public"),
            "language": entry.extra.get("language", "en"),
            "uri": f"{self._base()}/users/{account['acct']}/statuses/{entry.remote_id}",
            "url": f"{self._base()}/@{account['acct']}/{entry.remote_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            **self.fake.metrics_of("mastodon", entry.remote_id),
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
        if video_endpoints.mastodon(self, method, path):
            return
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            self._json(200, {**self._mastodon_account(account), "source": {"privacy": "public", "language": "en"}})
        elif path == "/api/v1/statuses" and method == "POST":
            self._mastodon_post_status(account, outcome)
        elif path == "/api/v1/statuses" and method == "GET":
            # Mastodon 4.3+: GET /api/v1/statuses?id[]=1&id[]=2; ids it cannot show are left out.
            ids = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("id[]", [])
            found = [self.fake.ledger.get("mastodon", status_id) for status_id in ids]
            self._json(200, [self._status_json(e) for e in found if e is not None and not e.deleted])
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
            page = entries[:limit]
            headers = {}
            if page:
                # https://docs.joinmastodon.org/api/guidelines/#pagination
                here = f"{self._base()}{self.route_prefix}{path}"
                headers["Link"] = (
                    f'<{here}?limit={limit}&max_id={page[-1].remote_id}>; rel="next", '
                    f'<{here}?limit={limit}&min_id={page[0].remote_id}>; rel="prev"'
                )
            self.fake.count("mastodon:account_statuses_read")
            self._json(200, [self._status_json(e) for e in page], headers)
        elif path == "/api/v1/notifications" and method == "GET":
            self._mastodon_notifications(account)
        elif (match := re.fullmatch(r"/api/v1/statuses/(\d+)/source", path)) and method == "GET":
            entry = self.fake.ledger.get("mastodon", match[1])
            if entry is None or entry.deleted or entry.account != account:
                self._json(404, {"error": "Record not found"})
            else:
                self._json(200, {"id": entry.remote_id, "text": entry.text, "spoiler_text": ""})
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

    def _mastodon_notifications(self, account: str) -> None:
        """GET /api/v1/notifications (https://docs.joinmastodon.org/methods/notifications/#get): newest first;
        min_id gives the page right after it, max_id / since_id bound it; limit at most 80."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        types = query.get("types[]") or ["mention"]
        with self.fake._lock:
            notes = [n for n in self.fake.mastodon_notifications.get(account, []) if n["type"] in types]
        limit = min(80, int((query.get("limit") or ["40"])[0]))
        if query.get("max_id"):
            notes = [n for n in notes if int(n["id"]) < int(query["max_id"][0])]
        if query.get("since_id"):
            notes = [n for n in notes if int(n["id"]) > int(query["since_id"][0])]
        if query.get("min_id"):
            page = [n for n in notes if int(n["id"]) > int(query["min_id"][0])][:limit]
        else:
            page = notes[-limit:]
        self.fake.count("mastodon:notifications_read")
        self._json(200, list(reversed(page)))

    def _mastodon_post_status(self, account: str, outcome: str) -> None:
        fields = self.form()
        text = str(fields.get("status") or "")
        media_ids = [str(m) for m in fields.get("media_ids") or []]
        if not text.strip() and not media_ids:
            self._json(422, {"error": "Validation failed: Text can't be blank"})
            return
        reply_to = str(fields.get("in_reply_to_id") or "")
        known = (
            self.fake.ledger.get("mastodon", reply_to) is not None or reply_to in self.fake.mastodon_resident_statuses
        )
        if reply_to and not known:
            # https://docs.joinmastodon.org/methods/statuses/#create: 404 when in_reply_to_id names no status.
            self._json(404, {"error": "Record not found"})
            return
        max_chars = int(self.fake.setting("mastodon", "max_characters"))
        if len(text) > max_chars:
            self._json(422, {"error": f"Validation failed: Text character limit of {max_chars} exceeded"})
            return
        key = self.headers.get("Idempotency-Key", "")
        if key and self.fake.setting("mastodon", "honour_idempotency_key"):
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
                "in_reply_to_id": str(fields["in_reply_to_id"]) if fields.get("in_reply_to_id") else None,
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
                **self.fake.metrics_of("x", entry.remote_id),
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
        if video_endpoints.x(self, method, path):
            return
        if comment_endpoints.x(self, method, path, user_id):
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
                extra={"media": body.get("media") or {}, "reply": body.get("reply") or {}},
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
            me: dict[str, Any] = {"id": user_id, "name": f"Fake user {user_id}", "username": f"fake{user_id}"}
            if "public_metrics" in self.query.get("user.fields", ""):
                followers = self.fake.metrics_of("x", f"user:{user_id}").get("followers_count", 0)
                me["public_metrics"] = {"followers_count": followers, "following_count": 0, "tweet_count": 0}
            self._json(200, {"data": me})
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

        excluded = set(self.query.get("exclude", "").split(","))
        if "replies" in excluded:
            # https://docs.x.com/x-api/users/get-posts: exclude=replies leaves out the account's replies.
            entries = [e for e in entries if not (e.extra.get("reply") or {}).get("in_reply_to_tweet_id")]
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
        counts = self.fake.metrics_of("facebook", entry.remote_id)
        # Graph leaves `shares` out of a post nobody shared.
        if "shares" in wanted and counts.get("shares"):
            data["shares"] = {"count": counts["shares"]}
        for edge in ("reactions", "comments"):
            if any(field.startswith(f"{edge}.summary") for field in wanted):
                data[edge] = {"data": [], "summary": {"total_count": counts.get(edge, 0)}}
        return data

    def _facebook(self, method: str, path: str) -> None:
        if video_endpoints.facebook(self, method, path):
            return
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
        if comment_endpoints.facebook(self, method, parts, self.fake.facebook_token_pages.get(token, "")):
            return
        if parts == [] and method == "GET" and "ids" in self.query:
            # Multiple-ids read: {"<id>": {...}, ...}; one unknown id fails the whole request (code 100).
            answer = {}
            for object_id in filter(None, self.query["ids"].split(",")):
                entry = self.fake.ledger.get("facebook", object_id)
                if entry is None or entry.deleted:
                    self._fb_error(400, 100, f"(#100) Some of the aliases you requested do not exist: {object_id}")
                    return
                answer[object_id] = self._fb_post_json(entry, wanted)
            self._json(200, answer)
        elif parts == ["me"] and method == "GET":
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
            page: dict[str, Any] = {"id": parts[0], "name": f"Fake page {parts[0]}"}
            if "followers_count" in wanted:
                page["followers_count"] = self.fake.metrics_of("facebook", f"user:{parts[0]}").get("followers_count", 0)
            self._json(200, page)
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
        self._graph_page(entries, lambda e: self._fb_post_json(e, wanted))

    def _graph_page(self, entries: list[LedgerEntry], render: Any) -> None:
        """Answers one page of a newest-first Graph listing (limit, `after` cursor, `paging.next`)."""
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
        self._json(200, {"data": [render(e) for e in page], "paging": paging})

    # --- LinkedIn (tests/fakeplatform/linkedin.py) --------------------------------------------------

    def _linkedin(self, method: str, path: str) -> None:
        linkedin_endpoints.handle(self, method, path)

    # --- Instagram and Threads (Graph containers) -------------------------------------------------

    def _instagram(self, method: str, path: str) -> None:
        self._graph_containers("instagram", method, path)

    def _threads(self, method: str, path: str) -> None:
        self._graph_containers("threads", method, path)

    def _graph_containers(self, platform: str, method: str, path: str) -> None:
        spec = GRAPH_CONTAINER_PLATFORMS[platform]
        fields = self.form()
        token = self.bearer() or self.query.get("access_token") or fields.get("access_token")
        if not token:
            self._fb_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
            return
        if token in self.fake.revoked_tokens:
            self._fb_error(
                400, 190, "Error validating access token: The session has been invalidated.", error_subcode=460
            )
            return
        write = method in ("POST", "DELETE")
        outcome = self.fault(platform, write=write)
        if outcome == "answered":
            return
        parts = path.split("/")[2:]  # drop "" and the version
        if parts and parts[0] == "me":
            parts[0] = _numeric_id(f"{platform}:{token}")
        if comment_endpoints.graph(self, platform, method, parts):
            return
        wanted = set(_graph_fields(self.query.get("fields", "")))
        if any(field.startswith("insights") for field in wanted) and token in self.fake.no_insights_tokens:
            self._fb_error(403, 10, "(#10) Application does not have permission for this action")
            return
        if len(parts) == 2 and parts[1] == spec["create"] and method == "POST":
            self._container_create(platform, parts[0], fields)
        elif len(parts) == 2 and parts[1] == spec["create"] and method == "GET":
            self._container_listing(platform, parts[0], wanted)
        elif len(parts) == 2 and parts[1] == spec["publish"] and method == "POST":
            self._container_publish(platform, parts[0], str(fields.get("creation_id") or ""), outcome)
        elif len(parts) == 2 and parts[1] == spec["limit"] and method == "GET":
            day_ago = time.time() - 24 * 3600
            used = sum(1 for e in self.fake.ledger.find(platform=platform, account=parts[0]) if e.received_at > day_ago)
            config = {"quota_total": spec["quota_total"], "quota_duration": 86400}
            self._json(200, {"data": [{"quota_usage": used, "config": config}]})
        elif len(parts) == 2 and parts[1] == "threads_insights" and method == "GET":
            followers = self.fake.metrics_of(platform, f"user:{parts[0]}").get("followers_count", 0)
            self._json(
                200,
                {"data": [{"name": "followers_count", "period": "day", "total_value": {"value": followers}}]},
            )
        elif len(parts) == 2 and parts[1] == "insights" and method == "GET":
            entry = self.fake.ledger.get(platform, parts[0])
            if entry is None or entry.deleted:
                self._graph_missing(method, parts[0])
                return
            metrics = [m for m in self.query.get("metric", "").split(",") if m]
            values = self.fake.metrics_of(platform, parts[0])
            self._json(
                200,
                {
                    "data": [
                        {
                            "name": m,
                            "period": "lifetime",
                            "values": [{"value": values.get(m, 0)}],
                            "id": f"{parts[0]}/insights/{m}",
                        }
                        for m in metrics
                    ]
                },
            )
        elif len(parts) == 1 and method == "GET":
            self._graph_object(platform, parts[0], wanted)
        elif len(parts) == 1 and method == "DELETE":
            entry = self.fake.ledger.get(platform, parts[0])
            if platform == "instagram" or entry is None or entry.deleted:
                # The Instagram API cannot delete feed media.
                self._graph_missing(method, parts[0])
                return
            self.fake.ledger.delete(platform, entry.remote_id)
            self._json(200, {"success": True, "deleted_id": entry.remote_id})
        else:
            self._fb_error(400, 100, "Unknown path components")

    def _graph_missing(self, method: str, object_id: str) -> None:
        self._fb_error(
            400,
            100,
            f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            error_subcode=33,
        )

    def _container_create(self, platform: str, user: str, fields: dict[str, Any]) -> None:
        spec = GRAPH_CONTAINER_PLATFORMS[platform]
        text = str(fields.get(spec["text"]) or "")
        is_child = str(fields.get("is_carousel_item") or "").lower() == "true"
        default_type = "TEXT" if platform == "threads" and not fields.get("image_url") else "IMAGE"
        media_type = str(fields.get("media_type") or default_type).upper()
        if len(text) > spec["max_text"]:
            self._fb_error(400, 100, f"(#100) The parameter {spec['text']} is too long.")
            return
        children = [c for c in str(fields.get("children") or "").split(",") if c]
        if media_type == "CAROUSEL":
            known = [self.fake.containers.get(c) for c in children]
            if not children or any(c is None or c["user"] != user or not c["is_child"] for c in known):
                self._fb_error(400, 100, "(#100) The parameter children must list carousel item containers.")
                return
        elif media_type in ("VIDEO", "REELS"):
            if not fields.get("video_url"):
                self._fb_error(400, 100, "(#100) The parameter video_url is required.")
                return
        elif media_type == "IMAGE":
            if not fields.get("image_url"):
                self._fb_error(400, 100, "(#100) The parameter image_url is required.")
                return
        elif media_type != "TEXT" or platform != "threads" or not text.strip():
            self._fb_error(400, 100, f"(#100) The parameter media_type is not valid: {media_type}.")
            return
        container_id = self.fake.next_id()
        with self.fake._lock:
            self.fake.containers[container_id] = {
                "platform": platform,
                "user": user,
                "media_type": media_type,
                "text": text,
                "media": {key: str(fields[key]) for key in ("image_url", "video_url", "alt_text") if fields.get(key)},
                "children": children,
                "is_child": is_child,
                "in_progress_left": int(self.fake.setting(platform, "container_in_progress_polls")),
                "media_id": "",
            }
        self.fake.count(f"{platform}:containers")
        self._json(200, {"id": container_id})

    def _container_state(self, container: dict[str, Any], *, reading: bool) -> str:
        with self.fake._lock:
            if container["media_id"]:
                return "PUBLISHED"
            if container["in_progress_left"] > 0:
                if reading:
                    container["in_progress_left"] -= 1
                return "IN_PROGRESS"
            if self.fake.video.processing_error and container["media_type"] in ("VIDEO", "REELS"):
                return "ERROR"  # tests/fakeplatform/video.py: Meta could not process the video
            return "FINISHED"

    def _container_publish(self, platform: str, user: str, creation_id: str, outcome: str) -> None:
        container = self.fake.containers.get(creation_id)
        if container is None or container["user"] != user or container["platform"] != platform:
            self._graph_missing("post", creation_id)
            return
        if container["is_child"]:
            self._fb_error(400, 100, "(#100) A carousel item cannot be published on its own.")
            return
        # One lock around "is it ready and unpublished?" and "publish it": a container goes out once.
        with self.fake._lock:
            state = self._container_state(container, reading=False)
            if state == "FINISHED":
                entry = self._container_to_ledger(platform, user, creation_id, container)
        if state == "IN_PROGRESS":
            self._fb_error(
                400,
                9007,
                "Media ID is not available",
                error_subcode=2207027,
                error_user_msg="The media is not ready for publishing, please wait for a moment",
            )
            return
        if state == "PUBLISHED":
            self._fb_error(400, 100, "(#100) This container has already been published.")
            return
        self.after_accept(outcome, platform)
        self._json(200, {"id": entry.remote_id})

    def _container_to_ledger(
        self, platform: str, user: str, creation_id: str, container: dict[str, Any]
    ) -> LedgerEntry:
        items = [self.fake.containers[c] for c in container["children"]] or [container]
        media = [dict(item["media"]) for item in items if item["media"]]
        media_id = self.fake.next_id()
        shortcode = _b64url(hashlib.sha256(media_id.encode()).digest())[:11]
        username = f"fake{user}"
        if platform == "instagram":
            permalink = f"https://www.instagram.com/p/{shortcode}/"
        else:
            permalink = f"https://www.threads.net/@{username}/post/{shortcode}"
        entry = self.fake.ledger.add(
            platform=platform,
            account=user,
            remote_id=media_id,
            text=container["text"],
            extra={
                "container_id": creation_id,
                "media_type": container["media_type"],
                "media": media,
                "alt_texts": [m.get("alt_text", "") for m in media],
                "permalink": permalink,
                "shortcode": shortcode,
                "username": username,
            },
        )
        container["media_id"] = entry.remote_id
        return entry

    def _graph_media_json(self, platform: str, entry: LedgerEntry, wanted: set[str]) -> dict[str, Any]:
        spec = GRAPH_CONTAINER_PLATFORMS[platform]
        first = entry.extra["media"][0] if entry.extra.get("media") else {}
        known = {
            spec["text"]: entry.text,
            "timestamp": _fb_time(dt.datetime.fromtimestamp(entry.received_at, dt.UTC)),
            "permalink": entry.extra["permalink"],
            "shortcode": entry.extra["shortcode"],
            "username": entry.extra["username"],
            "media_type": entry.extra["media_type"],
            "media_url": first.get("image_url") or first.get("video_url") or "",
            "like_count": 0,
            "comments_count": 0,
            **self.fake.metrics_of(platform, entry.remote_id),
        }
        data = {"id": entry.remote_id, **{k: v for k, v in known.items() if k in (wanted or {"id"})}}
        for wanted_field in wanted:
            # Field expansion of the insights edge: insights.metric(views,shares)
            if match := re.fullmatch(r"insights\.metric\(([^)]*)\)", wanted_field):
                data["insights"] = {
                    "data": [
                        {"name": m, "period": "lifetime", "values": [{"value": known.get(m, 0)}]}
                        for m in match[1].split(",")
                        if m
                    ]
                }
        return data

    def _graph_object(self, platform: str, object_id: str, wanted: set[str]) -> None:
        container = self.fake.containers.get(object_id)
        if container is not None:
            state = self._container_state(container, reading=True)
            if platform == "instagram":
                words = {
                    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
                    "IN_PROGRESS": "In Progress: Media is still being processed.",
                    "PUBLISHED": "Published: Media has been published.",
                    "ERROR": f"Error: {self.fake.video.processing_error}",
                }
                self._json(200, {"status_code": state, "status": words[state], "id": object_id})
            elif state == "ERROR":
                self._json(200, {"status": state, "error_message": self.fake.video.processing_error, "id": object_id})
            else:
                self._json(200, {"status": state, "id": object_id})
            return
        entry = self.fake.ledger.get(platform, object_id)
        if entry is not None:
            if entry.deleted:
                self._graph_missing("get", object_id)
            else:
                self._json(200, self._graph_media_json(platform, entry, wanted))
            return
        # Anything else is a user (the account's own id, or /me).
        user: dict[str, Any] = {"id": object_id, "username": f"fake{object_id}"}
        if "followers_count" in wanted:
            user["followers_count"] = self.fake.metrics_of(platform, f"user:{object_id}").get("followers_count", 0)
        self._json(200, user)

    def _container_listing(self, platform: str, user: str, wanted: set[str]) -> None:
        entries = sorted(self.fake.ledger.find(platform=platform, account=user), key=lambda e: -e.seq)
        if self.query.get("since"):
            entries = [e for e in entries if e.received_at >= float(self.query["since"])]
        if self.query.get("until"):
            entries = [e for e in entries if e.received_at <= float(self.query["until"])]
        if self.query.get("after"):
            below = int(base64.urlsafe_b64decode(self.query["after"].encode()).decode())
            entries = [e for e in entries if e.seq < below]
        self._graph_page(entries, lambda e: self._graph_media_json(platform, e, wanted))

    # --- Bluesky (XRPC) -----------------------------------------------------------------------------

    def _xrpc_error(self, status: int, error: str, message: str) -> None:
        self._json(status, {"error": error, "message": message})

    def _bluesky_jwt(self, did: str, *, refresh: bool) -> str:
        now = int(time.time())
        header = {"typ": "refresh+jwt" if refresh else "at+jwt", "alg": "HS256"}
        payload = {
            "scope": "com.atproto.refresh" if refresh else "com.atproto.appPass",
            "sub": did,
            "aud": "did:web:fakeplatform.invalid",
            "iat": now,
            "exp": now + (BLUESKY_REFRESH_SECONDS if refresh else BLUESKY_SESSION_SECONDS),
            "jti": secrets.token_hex(8),
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        signature = hmac.new(self.fake.jwt_key, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def _bluesky_claims(self, token: str, *, refresh: bool) -> tuple[dict[str, Any] | None, str]:
        """Returns (claims, "") for a token this server issued and that still holds, else (None, XRPC error)."""
        try:
            signing_input, signature = token.rsplit(".", 1)
            expected = hmac.new(self.fake.jwt_key, signing_input.encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _b64url_decode(signature)):
                return None, "InvalidToken"
            claims = json.loads(_b64url_decode(signing_input.split(".")[1]))
        except (ValueError, IndexError):
            return None, "InvalidToken"
        if (claims.get("scope") == "com.atproto.refresh") != refresh:
            return None, "InvalidToken"
        if token in self.fake.revoked_tokens or claims.get("exp", 0) < time.time():
            return None, "ExpiredToken"
        return claims, ""

    def _bluesky_session(self, did: str, handle: str) -> dict[str, Any]:
        pds = f"{self._base()}{self.route_prefix}"
        return {
            "did": did,
            "handle": handle,
            "email": f"{handle}@example.invalid",
            "emailConfirmed": True,
            "accessJwt": self._bluesky_jwt(did, refresh=False),
            "refreshJwt": self._bluesky_jwt(did, refresh=True),
            "active": True,
            # The SDK moves to the PDS named here after signing in (shared/platforms.md 7.1).
            "didDoc": {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{handle}"],
                "verificationMethod": [],
                "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}],
            },
        }

    def _bluesky_handle(self, did: str) -> str:
        with self.fake._lock:
            return self.fake.bluesky_handles.get(did, did)

    def _bluesky(self, method: str, path: str) -> None:
        nsid = path.removeprefix("/xrpc/")
        if nsid == "com.atproto.server.createSession" and method == "POST":
            self._bluesky_create_session()
            return
        if nsid == "com.atproto.server.refreshSession" and method == "POST":
            claims, error = self._bluesky_claims(self.bearer(), refresh=True)
            if claims is None:
                self._xrpc_error(
                    400, error, "Token could not be verified" if error == "InvalidToken" else "Token has expired"
                )
                return
            self.fake.revoked_tokens.add(self.bearer())  # a refresh token is used once
            session = self._bluesky_session(claims["sub"], self._bluesky_handle(claims["sub"]))
            session.pop("email")
            session.pop("emailConfirmed")
            self._json(200, session)
            return
        if video_endpoints.bluesky(self, method, nsid):
            return
        claims = None
        if self.bearer():
            claims, error = self._bluesky_claims(self.bearer(), refresh=False)
            if claims is None:
                self._xrpc_error(
                    400, error, "Token could not be verified" if error == "InvalidToken" else "Token has expired"
                )
                return
        writes = ("com.atproto.repo.uploadBlob", "com.atproto.repo.createRecord", "com.atproto.repo.deleteRecord")
        if claims is None and (nsid in writes or nsid == "com.atproto.server.getSession"):
            self._xrpc_error(401, "AuthenticationRequired", "Authentication Required")
            return
        outcome = self.fault("bluesky", write=nsid in writes)
        if outcome == "answered":
            return
        did = claims["sub"] if claims else ""
        if nsid == "com.atproto.server.getSession" and method == "GET":
            self._json(200, {"did": did, "handle": self._bluesky_handle(did), "active": True})
        elif nsid == "com.atproto.repo.uploadBlob" and method == "POST":
            mime_type = self.headers.get("Content-Type") or "application/octet-stream"
            cid = _cid(self._body_bytes, 0x55)
            with self.fake._lock:
                self.fake.blobs[cid] = {"did": did, "mime_type": mime_type, "size": len(self._body_bytes)}
            self.after_accept(outcome, "bluesky")
            blob = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime_type, "size": len(self._body_bytes)}
            self._json(200, {"blob": blob})
        elif nsid == "com.atproto.repo.createRecord" and method == "POST":
            self._bluesky_create_record(did, outcome)
        elif nsid == "com.atproto.repo.getRecord" and method == "GET":
            repo = self.query.get("repo", "")
            repo_did = repo if repo.startswith("did:") else (self.fake.bluesky_resolve(repo) or "")
            uri = f"at://{repo_did}/{self.query.get('collection', '')}/{self.query.get('rkey', '')}"
            entry = self.fake.ledger.get("bluesky", uri)
            if entry is None or entry.deleted:
                self._xrpc_error(400, "RecordNotFound", f"Could not locate record: {uri}")
                return
            self._json(200, {"uri": uri, "cid": entry.extra["cid"], "value": entry.extra["record"]})
        elif nsid == "com.atproto.repo.deleteRecord" and method == "POST":
            body = self.form()
            uri = f"at://{did}/{body.get('collection', '')}/{body.get('rkey', '')}"
            self.fake.ledger.delete("bluesky", uri)
            self._json(200, {"commit": {"cid": _cid(uri.encode(), 0x71), "rev": _tid()}})
        elif nsid == "com.atproto.identity.resolveHandle" and method == "GET":
            did = self.fake.bluesky_resolve(self.query.get("handle", ""))
            if did is None:
                self._xrpc_error(400, "InvalidRequest", "Unable to resolve handle")
                return
            self._json(200, {"did": did})
        elif nsid == "app.bsky.actor.getProfile" and method == "GET":
            actor = self.query.get("actor", "")
            actor_did = actor if actor.startswith("did:") else (self.fake.bluesky_resolve(actor) or "")
            if not actor_did:
                self._xrpc_error(400, "InvalidRequest", "Profile not found")
                return
            handle = actor if not actor.startswith("did:") else self._bluesky_handle(actor)
            posts = len(self.fake.ledger.find(platform="bluesky", account=actor_did))
            self._json(
                200,
                {
                    "did": actor_did,
                    "handle": handle,
                    "displayName": handle,
                    "postsCount": posts,
                    "followersCount": self.fake.metrics_of("bluesky", f"user:{actor_did}").get("followersCount", 0),
                    "labels": [],
                },
            )
        elif nsid == "app.bsky.feed.getPosts" and method == "GET":
            uris = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query).get("uris", [])
            found = [self.fake.ledger.get("bluesky", uri) for uri in uris]
            self._json(200, {"posts": [self._bluesky_post_view(e) for e in found if e is not None and not e.deleted]})
        else:
            self._xrpc_error(501, "MethodNotImplemented", "Method Not Implemented")

    def _bluesky_create_session(self) -> None:
        body = self.form()
        identifier = str(body.get("identifier") or "").lstrip("@")
        password = str(body.get("password") or "")
        if not identifier or not password or password in self.fake.revoked_tokens:
            self._xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            return
        # The identifier is a handle or the account's DID (com.atproto.server.createSession). A handle that was
        # given up by a rename names nobody any more: the same 401 as a wrong password.
        did = identifier if identifier.startswith("did:") else self.fake.bluesky_resolve(identifier)
        if did is None:
            self._xrpc_error(401, "AuthenticationRequired", "Invalid identifier or password")
            return
        handle = self._bluesky_handle(did) if identifier.startswith("did:") else identifier
        with self.fake._lock:
            self.fake.bluesky_handles[did] = handle
        self.fake.count("bluesky:sessions_created")
        self._json(200, self._bluesky_session(did, handle))

    def _bluesky_create_record(self, did: str, outcome: str) -> None:
        body = self.form()
        repo = str(body.get("repo") or "")
        if repo not in (did, self._bluesky_handle(did)):
            self._xrpc_error(400, "InvalidRequest", "Input/repo must be the authenticated account")
            return
        collection = str(body.get("collection") or "")
        record = body.get("record")
        if collection != BLUESKY_POST or not isinstance(record, dict):
            self._xrpc_error(400, "InvalidRequest", f"The fake PDS only stores {BLUESKY_POST} records")
            return
        text = str(record.get("text") or "")
        if _graphemes(text) > 300 or len(text.encode()) > 3000:
            self._xrpc_error(
                400,
                "InvalidRequest",
                f"Invalid {BLUESKY_POST} record: Record/text must not be longer than 300 graphemes",
            )
            return
        if not record.get("createdAt"):
            self._xrpc_error(
                400, "InvalidRequest", f'Invalid {BLUESKY_POST} record: Record must have the property "createdAt"'
            )
            return
        images = (record.get("embed") or {}).get("images") or []
        embed_video = (record.get("embed") or {}).get("video")
        captions = (record.get("embed") or {}).get("captions") or []
        blobs = [image.get("image") for image in images] + ([embed_video] if embed_video else [])
        for blob in blobs + [caption.get("file") for caption in captions]:
            link = ((blob or {}).get("ref") or {}).get("$link")
            if link not in self.fake.blobs:
                self._xrpc_error(400, "InvalidRequest", f"Could not find blob: {link}")
                return
        rkey = str(body.get("rkey") or _tid())
        if not _RKEY_RE.fullmatch(rkey) or rkey in (".", ".."):
            self._xrpc_error(400, "InvalidRequest", "Input/rkey must be a valid Record Key")
            return
        uri = f"at://{did}/{collection}/{rkey}"
        cid = _cid(json.dumps(record, sort_keys=True).encode(), 0x71)
        handle = self._bluesky_handle(did)
        # "Is the rkey free?" and "take it" are one step, as the PDS's repo write is.
        with self.fake._lock:
            existing = self.fake.ledger.get("bluesky", uri)
            taken = existing is not None and not existing.deleted
            if not taken:
                self._bluesky_store(did, uri, rkey, cid, record, text, handle)
        if taken:
            self.fake.count("bluesky:rkey_taken")
            self._xrpc_error(400, "RecordAlreadyExists", f"Record already exists at {uri}")
            return
        self.after_accept(outcome, "bluesky")
        self._json(
            200,
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": _cid(uri.encode(), 0x71), "rev": _tid()},
                "validationStatus": "valid",
            },
        )

    def _bluesky_store(
        self, did: str, uri: str, rkey: str, cid: str, record: dict[str, Any], text: str, handle: str
    ) -> None:
        images = (record.get("embed") or {}).get("images") or []
        self.fake.ledger.add(
            platform="bluesky",
            account=did,
            remote_id=uri,
            text=text,
            idempotency_key=rkey,
            extra={
                "rkey": rkey,
                "cid": cid,
                "record": record,
                "langs": record.get("langs") or [],
                "alt_texts": [str(image.get("alt") or "") for image in images],
                "handle": handle,
            },
        )

    def _bluesky_post_view(self, entry: LedgerEntry) -> dict[str, Any]:
        return {
            "uri": entry.remote_id,
            "cid": entry.extra["cid"],
            "author": {"did": entry.account, "handle": entry.extra["handle"], "labels": []},
            "record": entry.extra["record"],
            "replyCount": 0,
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            **self.fake.metrics_of("bluesky", entry.remote_id),
            "indexedAt": entry.received_iso,
            "labels": [],
        }

    # --- Webhook receiver (Standard Webhooks) -------------------------------------------------------

    def _webhook(self, method: str, path: str) -> None:
        match = re.fullmatch(r"/hooks/([A-Za-z0-9._~-]+)", path)
        secret = self.fake.webhook_receivers.get(match[1]) if match else None
        if secret is None:
            self._json(404, {"error": "No webhook receiver at this address"})
            return
        if method != "POST":
            self._json(405, {"error": "Only POST is accepted"}, {"Allow": "POST"})
            return
        receiver = match[1]
        outcome = self.fault("webhook", write=True)
        if outcome == "answered":
            return
        try:
            event = Webhook(secret).verify(self._body_bytes, dict(self.headers.items()))
        except (WebhookVerificationError, ValueError) as error:
            self.fake.count("webhook:bad_signature")
            self._json(401, {"error": "invalid_signature", "message": str(error)})
            return
        if not isinstance(event, dict):
            self._json(400, {"error": "The body must be a JSON object"})
            return
        msg_id = self.headers["webhook-id"]
        # One lock around "seen this webhook-id?" and "file it": two deliveries of one id file one post.
        with self.fake._lock:
            remote_id = self.fake.webhook_ids.get((receiver, msg_id))
            if remote_id is not None:
                self.fake.count("webhook:duplicate_delivery")
            else:
                remote_id = self._webhook_apply(receiver, msg_id, event)
                self.fake.webhook_ids[(receiver, msg_id)] = remote_id
        self.after_accept(outcome, "webhook")
        entry = self.fake.ledger.get("webhook", remote_id) if remote_id else None
        if entry is None:
            self._json(200, {"ok": True})
        else:
            self._json(200, {"id": entry.remote_id, "url": entry.extra["permalink"]})

    def _webhook_apply(self, receiver: str, msg_id: str, event: dict[str, Any]) -> str:
        """Acts on one new event; returns the id of the post it filed or names ("" for none)."""
        post = event.get("post") if isinstance(event.get("post"), dict) else {}
        kind = str(event.get("type") or "")
        self.fake.count(f"webhook:{kind or 'untyped'}")
        if kind == "post.published":
            remote_id = f"{receiver}-{self.fake.next_id()}"
            media = [m for m in post.get("media") or [] if isinstance(m, dict)]
            self.fake.ledger.add(
                platform="webhook",
                account=receiver,
                remote_id=remote_id,
                text=str(post.get("text") or ""),
                idempotency_key=msg_id,
                link=str(post.get("link") or ""),
                extra={
                    "event": event,
                    "alt_texts": [str(m.get("alt") or "") for m in media],
                    "permalink": f"{self._base()}/news/{remote_id}",
                },
            )
            return remote_id
        if kind == "post.deleted":
            remote_id = str(post.get("remote_id") or "")
            self.fake.ledger.delete("webhook", remote_id)
            return remote_id
        return ""
