"""The built-in Sandbox platform: publishes into CivicPost's own database and shows the result on
the sandbox timeline page, so the whole loop works without API keys.

Its behaviour can be changed for demos and tests, per channel (`options["mode"]`) or for every
sandbox channel (setting CIVICPOST_SANDBOX_MODE):
  ok             publish normally
  fail           the platform rejects the post (permanent failure with a message)
  rate_limit     the platform answers "too many requests, retry in 60 s"
  down           the connection is refused before anything is sent (safe to retry)
  timeout        the request times out: nobody knows whether it arrived
  drop_response  the post is stored, then the answer is lost on the way back
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol, cast

from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from scheduler.adapters.base import (
    ConnectionCheck,
    MetricsReading,
    OutcomeUnknown,
    PlatformAdapter,
    PostContent,
    PublishError,
    PublishResult,
    RateLimited,
    Removed,
    TextLength,
)

SANDBOX_TEXT_LIMIT = 500
SANDBOX_MODES = ("ok", "fail", "rate_limit", "down", "timeout", "drop_response")


@dataclass(frozen=True)
class SandboxRecord:
    id: int
    created_at: dt.datetime


class SandboxStore(Protocol):
    """The Sandbox's "platform": CivicPost's own SandboxPost table (scheduler.sandbox_store), named by the
    CIVICPOST_SANDBOX_STORE setting, so this adapter touches no database itself."""

    def save(
        self,
        *,
        channel_id: int,
        idempotency_key: str,
        text: str,
        link: str,
        language: str,
        media: list[dict[str, Any]],
        in_reply_to: str = "",
    ) -> SandboxRecord:
        """Stores the post once per (channel, key); the same key again returns the stored one. `in_reply_to`:
        the sandbox post it answers (a later part of a thread, a first comment)."""
        ...

    def delete(self, *, channel_id: int, remote_id: str) -> None: ...

    def live_ids(self, *, channel_id: int, remote_ids: list[str]) -> set[str]:
        """The ids among `remote_ids` still on the sandbox timeline."""
        ...


@cache
def sandbox_store() -> SandboxStore:
    return cast(SandboxStore, import_string(settings.CIVICPOST_SANDBOX_STORE)())


class SandboxAdapter(PlatformAdapter):
    platform = "sandbox"
    label = "Sandbox"
    # The sandbox shows threads and first comments as a real platform would: each answers the post before it.
    supports_replies = True
    supports_threads = True
    supports_first_comment = True
    first_comment_max_chars = SANDBOX_TEXT_LIMIT

    @property
    def mode(self) -> str:
        mode: str = self.account.options.get("mode") or settings.CIVICPOST_SANDBOX_MODE
        return mode

    def text_length(self, content: PostContent) -> TextLength:
        return TextLength(used=len(content.text_with_link()), limit=SANDBOX_TEXT_LIMIT)

    def publish(self, content: PostContent, *, idempotency_key: str) -> PublishResult:
        mode = self.mode
        if mode == "fail":
            raise PublishError("The sandbox rejected this post (demonstration of a platform refusal).", permanent=True)
        if mode == "rate_limit":
            raise RateLimited("The sandbox is rate limiting this account.", retry_after=60)
        if mode == "down":
            raise PublishError("Could not connect to the sandbox; nothing was sent.", permanent=False)
        if mode == "timeout":
            raise OutcomeUnknown("The sandbox did not answer in time.")
        sandbox_post = sandbox_store().save(
            channel_id=self.account.channel_id,
            idempotency_key=idempotency_key,
            text=content.text,
            link=content.link,
            language=content.language,
            in_reply_to=self._reply_fields(content),
            media=[
                {
                    "url": item.url,
                    "mime_type": item.mime_type,
                    "alt_text": item.alt_text,
                    "path": item.path,
                    "width": item.width,
                    "height": item.height,
                }
                for item in content.media
            ],
        )
        if mode == "drop_response":
            raise OutcomeUnknown("The connection to the sandbox dropped before it answered.")
        return PublishResult(
            remote_id=str(sandbox_post.id),
            permalink=f"{settings.SITE_URL}{reverse('scheduler:sandbox_timeline')}#sandbox-post-{sandbox_post.id}",
            raw={"id": sandbox_post.id, "created_at": sandbox_post.created_at.isoformat()},
        )

    @staticmethod
    def _reply_fields(content: PostContent) -> str:
        """The sandbox post this content answers ("" for a new post)."""
        return content.reply_to.remote_id if content.reply_to is not None else ""

    def delete(self, remote_id: str, *, post_id: int | None = None) -> None:
        sandbox_store().delete(channel_id=self.account.channel_id, remote_id=remote_id)

    # The Sandbox reads any number of posts "in one request", like a platform with a large batch.
    metrics_batch_size = 100

    def fetch_metrics(self, remote_id: str) -> dict[str, int]:
        """Deterministic figures per post (the same post always reports the same numbers), so the demo and
        tests have something to show. No quotes: the sandbox shows how "not reported" looks."""
        if self.mode == "rate_limit":
            raise RateLimited("The sandbox is rate limiting this account.", retry_after=60)
        seed = int.from_bytes(hashlib.sha256(f"{self.account.channel_id}:{remote_id}".encode()).digest()[:8], "big")
        views = 200 + seed % 1800
        return {
            "views": views,
            "likes": views // (8 + seed % 7),
            "shares": views // (40 + seed % 23),
            "replies": views // (60 + seed % 31),
            "clicks": views // (15 + seed % 11),
        }

    def fetch_metrics_batch(self, remote_ids: list[str]) -> dict[str, MetricsReading | Removed]:
        """Like a real batch: posts deleted from the sandbox timeline come back Removed."""
        if self.mode == "rate_limit":
            raise RateLimited("The sandbox is rate limiting this account.", retry_after=60)
        live = sandbox_store().live_ids(channel_id=self.account.channel_id, remote_ids=remote_ids)
        readings: dict[str, MetricsReading | Removed] = {}
        for remote_id in remote_ids:
            if remote_id in live:
                counts = self.fetch_metrics(remote_id)
                readings[remote_id] = MetricsReading(counts=counts, raw={"id": remote_id, **counts})
            else:
                readings[remote_id] = Removed(reason="The post is no longer on the sandbox timeline.")
        return readings

    def fetch_followers(self) -> int | None:
        return 1000 + self.account.channel_id * 37

    def check_connection(self) -> ConnectionCheck:
        if self.mode == "down":
            return ConnectionCheck(ok=False, message="The sandbox is not reachable.")
        return ConnectionCheck(ok=True, message="The sandbox is always connected.")
