"""Recording posts that went out before: the demo city's history (`seed_demo`) and benchmarks. Each item
becomes a published Post with the PostApproval that froze its content and one published Delivery, written in
bulk (a few queries for any number of items). Nothing is sent to a platform."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse

from departments.models import Department
from scheduler.models import Channel, Delivery, DeliveryStatus, Post, PostApproval, PostStatus, SandboxPost
from scheduler.snapshots import content_hash


@dataclass(frozen=True)
class PublishedItem:
    text: str
    channel: Channel
    published_at: dt.datetime
    remote_id: str = ""  # empty on a Sandbox channel: the post is put on the sandbox timeline
    link: str = ""
    language: str = "en"
    permalink: str = ""


@transaction.atomic
def history_import_published(
    *, department: Department, author: User, approver: User, items: list[PublishedItem]
) -> list[Delivery]:
    """Records each item as a post published on its channel at `published_at`; an item on a Sandbox channel
    without a remote id is also put on the sandbox timeline (so reading its figures later finds it). Returns
    the deliveries (with their posts), in the order of `items`."""
    items = _on_sandbox_timeline(items)
    posts = Post.objects.bulk_create(
        [
            Post(
                department=department,
                author=author,
                text=item.text,
                link=item.link,
                language=item.language,
                due_at=item.published_at,
                status=PostStatus.PUBLISHED,
                submitted_at=item.published_at - dt.timedelta(hours=2),
            )
            for item in items
        ],
        batch_size=2000,
    )
    Post.channels.through.objects.bulk_create(
        [
            Post.channels.through(post_id=post.pk, channel_id=item.channel.pk)
            for post, item in zip(posts, items, strict=True)
        ],
        batch_size=2000,
    )
    approvals = []
    for post, item in zip(posts, items, strict=True):
        content = {
            "text": item.text,
            "link": item.link,
            "due_at": item.published_at.astimezone(dt.UTC).isoformat(),
            "channel_ids": [item.channel.pk],
        }
        if item.language != "en":
            content["language"] = item.language
        approvals.append(
            PostApproval(
                post=post,
                content=content,
                content_hash=content_hash(content),
                approved_by=approver,
                approved_at=item.published_at - dt.timedelta(hours=1),
            )
        )
    approvals = PostApproval.objects.bulk_create(approvals, batch_size=2000)
    Post.objects.bulk_update(
        [Post(pk=post.pk, current_approval_id=approval.pk) for post, approval in zip(posts, approvals, strict=True)],
        ["current_approval"],
        batch_size=1000,
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                post=post,
                channel=item.channel,
                approval=approval,
                status=DeliveryStatus.PUBLISHED,
                idempotency_key=uuid.uuid4(),
                due_at=item.published_at,
                next_attempt_at=item.published_at,
                attempts=1,
                remote_id=item.remote_id,
                permalink=item.permalink,
                published_at=item.published_at,
            )
            for post, approval, item in zip(posts, approvals, items, strict=True)
        ],
        batch_size=2000,
    )
    for delivery, post in zip(deliveries, posts, strict=True):
        delivery.post = post
    return deliveries


def _on_sandbox_timeline(items: list[PublishedItem]) -> list[PublishedItem]:
    wanted = [n for n, item in enumerate(items) if item.channel.platform == "sandbox" and not item.remote_id]
    if not wanted:
        return items
    rows = SandboxPost.objects.bulk_create(
        [
            SandboxPost(
                channel=items[n].channel,
                idempotency_key=uuid.uuid4().hex,
                text=items[n].text,
                link=items[n].link,
                language=items[n].language,
            )
            for n in wanted
        ]
    )
    for row, n in zip(rows, wanted, strict=True):
        row.created_at = items[n].published_at
    SandboxPost.objects.bulk_update(rows, ["created_at"])
    result = list(items)
    for row, n in zip(rows, wanted, strict=True):
        item = items[n]
        result[n] = PublishedItem(
            text=item.text,
            channel=item.channel,
            published_at=item.published_at,
            remote_id=str(row.pk),
            link=item.link,
            language=item.language,
            permalink=item.permalink
            or f"{settings.SITE_URL}{reverse('scheduler:sandbox_timeline')}#sandbox-post-{row.pk}",
        )
    return result
