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

Residents answer too: every post the Sandbox published gets a few resident replies (the same ones each
time, made up from the post's id), read by the inbox through `fetch_conversation`, so the inbox can be
tried in `make run`. Replies from CivicPost (PostContent.reply_to) and moderation (hide, delete, block, mute,
and undo) are accepted and change nothing else.
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
    ConversationItem,
    ConversationPage,
    MetricsReading,
    ModerationResult,
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

# What the Sandbox's residents say (picked by the post's id, so a post always gets the same replies). One of
# them names an urgent problem, so urgency keywords can be tried out: any three posts in a row hear it.
RESIDENT_REPLIES: tuple[tuple[str, str], ...] = (
    ("maria.lopez", "Thank you for the update! Is the pool open on Sunday too?"),
    ("jsmith", "The sidewalk on Elm Street is flooding again, water up to the curb."),
    ("neighbor42", "What time does this start? I could not find it on the website."),
    ("dee.ortiz", "Great news for the kids in our neighborhood."),
    ("bikecommuter", "Will the bike lane stay open during the works?"),
    ("rob_k", "This is the third time this month. Who do I call about it?"),
)
SANDBOX_PAGE_SIZE = 50


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
    supports_inbox = True
    moderation_actions = frozenset({"hide", "delete", "block", "mute"})
    undo_actions = frozenset({"unhide", "unblock", "unmute"})

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

    def fetch_conversation(self, cursor: str | None, *, our_remote_ids: list[str]) -> ConversationPage:
        """Two or three resident replies to each of our posts newer than `cursor` (the id of the last post whose
        replies were read), at most SANDBOX_PAGE_SIZE replies a page, oldest post first."""
        if self.mode == "rate_limit":
            raise RateLimited("The sandbox is rate limiting this account.", retry_after=60)
        if self.mode == "down":
            raise PublishError("Could not connect to the sandbox.", permanent=False)
        after = int(cursor) if cursor and cursor.isdigit() else 0
        post_ids = sorted(
            int(remote_id) for remote_id in our_remote_ids if remote_id.isdigit() and int(remote_id) > after
        )
        items: list[ConversationItem] = []
        last = after
        for post_id in post_ids:
            replies = _resident_replies(post_id)
            if items and len(items) + len(replies) > SANDBOX_PAGE_SIZE:
                return ConversationPage(items=tuple(items), next_cursor=str(last), more=True)
            items.extend(replies)
            last = post_id
        return ConversationPage(items=tuple(items), next_cursor=str(last) if last else cursor)

    def moderate(self, item: ConversationItem, action: str) -> ModerationResult:
        if self.mode == "rate_limit":
            raise RateLimited("The sandbox is rate limiting this account.", retry_after=60)
        if action not in self.moderation_actions | self.undo_actions:
            raise PublishError(f"The sandbox cannot {action} this.", permanent=True)
        return ModerationResult(done=True, raw={"sandbox": action, "id": item.remote_id})

    def fetch_followers(self) -> int | None:
        return 1000 + self.account.channel_id * 37

    def check_connection(self) -> ConnectionCheck:
        if self.mode == "down":
            return ConnectionCheck(ok=False, message="The sandbox is not reachable.")
        return ConnectionCheck(ok=True, message="The sandbox is always connected.")


def _resident_replies(post_id: int) -> list[ConversationItem]:
    """The resident replies the Sandbox makes up for one of our posts: two or three, always the same for the same
    post, rotating so that any three posts in a row hear from every resident (the urgent one included)."""
    first = post_id * 2
    count = 2 + post_id % 2
    now = dt.datetime.now(tz=dt.UTC)
    items = []
    for number in range(count):
        handle, text = RESIDENT_REPLIES[(first + number) % len(RESIDENT_REPLIES)]
        remote_id = f"{post_id}.{number + 1}"
        items.append(
            ConversationItem(
                remote_id=remote_id,
                kind="reply",
                author_handle=handle,
                author_name=handle.replace(".", " ").replace("_", " ").title(),
                author_profile_url=f"{settings.SITE_URL}{reverse('scheduler:sandbox_timeline')}#resident-{handle}",
                text=text,
                created_at=now,
                in_reply_to_remote_id=str(post_id),
                root_remote_id=str(post_id),
                raw={"id": remote_id, "in_reply_to": str(post_id), "account": handle, "text": text},
            )
        )
    return items
