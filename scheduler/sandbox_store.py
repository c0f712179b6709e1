"""Where the built-in Sandbox platform keeps what it "publishes": CivicPost's own SandboxPost table,
shown on the sandbox timeline page. The Sandbox adapter (scheduler/adapters/sandbox/) is handed this
store through the CIVICPOST_SANDBOX_STORE setting, as other adapters are handed a platform's base URL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction

from scheduler.adapters.sandbox.adapter import SandboxRecord
from scheduler.models import SandboxPost


class DatabaseSandboxStore:
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
        """Stores the post once per (channel, key): the same key again answers with the stored post."""
        try:
            with transaction.atomic():
                post = SandboxPost.objects.create(
                    channel_id=channel_id,
                    idempotency_key=idempotency_key,
                    text=text,
                    link=link,
                    language=language,
                    media=media,
                    in_reply_to=in_reply_to,
                )
        except IntegrityError:
            post = SandboxPost.objects.get(channel_id=channel_id, idempotency_key=idempotency_key)
        created_at: dt.datetime = post.created_at
        return SandboxRecord(id=post.pk, created_at=created_at)

    def delete(self, *, channel_id: int, remote_id: str) -> None:
        SandboxPost.objects.filter(channel_id=channel_id, pk=remote_id).delete()

    def live_ids(self, *, channel_id: int, remote_ids: list[str]) -> set[str]:
        numeric = [int(remote_id) for remote_id in remote_ids if remote_id.isdigit()]
        found = SandboxPost.objects.filter(channel_id=channel_id, pk__in=numeric).values_list("pk", flat=True)
        return {str(pk) for pk in found}
