"""What the capture job reads: a small registry of sources, each a name and a function that returns the
events after a cursor. Lower apps never call the archive; the archive pulls.

A source function takes (cursor, limit) and returns (entries, new cursor): `cursor` is the text the
previous run returned ("" the first time), the entries are archive.chain.NewEntry values with a unique
`source_key` each (appending is idempotent by it, so a source may hand the same event twice, e.g. after an
overlap window). The list of sources is the setting CIVICPOST_ARCHIVE_SOURCES (dotted paths of
CaptureSource values), so a new one (the inbox's comments) plugs in with one line there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from analytics.models import RemoteRemoval
from archive.chain import NewEntry
from archive.models import ArchiveEntry, EntryKind
from archive.storage import blob_from_media
from departments.models import Department
from inbox import selectors as inbox_selectors
from scheduler.adapters.base import PostContent
from scheduler.models import ApprovalVote, Channel, Delivery, DeliveryAttempt, DeliveryStatus
from scheduler.snapshots import channel_content

SourceFunction = Callable[[str, int], tuple[list[NewEntry], str]]


@dataclass(frozen=True)
class CaptureSource:
    name: str
    collect: SourceFunction


def capture_sources() -> list[CaptureSource]:
    """Returns the registered sources, in the order of CIVICPOST_ARCHIVE_SOURCES."""
    return [import_string(path) for path in settings.CIVICPOST_ARCHIVE_SOURCES]


def _id_cursor(cursor: str) -> int:
    return int(cursor) if cursor.isdigit() else 0


def person_label(user: Any) -> str:
    if user is None:
        return ""
    name = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return f"{name} <{user.email}>" if name and user.email else (user.email or user.get_username())


# --- Publications ------------------------------------------------------------------------------------

# Deliveries are read by `published_at` with this overlap behind the cursor: a delivery whose transaction
# committed late (a reconciled post) is still seen; the entry's unique source_key drops repeats.
PUBLICATION_OVERLAP = dt.timedelta(hours=1)


def publication_key(delivery_id: int) -> str:
    return f"publication:delivery:{delivery_id}"


def _sent_content(delivery: Delivery) -> PostContent:
    """What the channel was sent: the approved snapshot for this channel and language, through the same
    content filters publishing applies (analytics' short links)."""
    content = channel_content(delivery.approval.content, delivery.channel, delivery.language or None)
    for dotted_path in settings.CIVICPOST_DELIVERY_CONTENT_FILTERS:
        content = import_string(dotted_path)(delivery, content)
    return content


def publication_entry(delivery: Delivery) -> NewEntry:
    """Returns the archive entry of one published delivery: exactly what was sent, with its media copied
    into archive storage, the platform's answer, the author, the approval votes and every attempt."""
    post = delivery.post
    approval = delivery.approval
    sent = _sent_content(delivery)
    media: list[dict[str, Any]] = []
    blobs = []
    for item in sent.media:
        blob = blob_from_media(path=item.path, mime_type=item.mime_type)
        if blob is not None:
            blobs.append(blob)
        media.append(
            {
                "url": item.url,
                "file_name": item.path.rsplit("/", 1)[-1],
                "mime_type": item.mime_type,
                "alt_text": item.alt_text,
                "sha256": blob.sha256 if blob else "",
                "size_bytes": blob.size_bytes if blob else item.size_bytes,
                "kept": blob is not None,
            }
        )
    attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number", "id"))
    raw_answer = next((a.response for a in reversed(attempts) if a.outcome == DeliveryStatus.PUBLISHED), None)
    votes = ApprovalVote.objects.filter(post=post, content_hash=approval.content_hash).select_related("voter")
    content = {
        "text": sent.text,
        "link": sent.link,
        "language": sent.language,
        "text_as_sent": sent.text_with_link(),
        "media": media,
        "raw_answer": raw_answer,
        "approved_content_hash": approval.content_hash,
        "approval": {
            "approved_by": person_label(approval.approved_by),
            "approved_at": approval.approved_at,
            "votes": [
                {
                    "step": vote.step_number,
                    "step_name": vote.step_name,
                    "voter": person_label(vote.voter),
                    "at": vote.created_at,
                    "comment": vote.comment,
                }
                for vote in votes.order_by("created_at", "id")
            ],
        },
        "attempts": [
            {
                "number": a.number,
                "started_at": a.started_at,
                "finished_at": a.finished_at,
                "outcome": a.outcome,
                "message": a.message,
                "remote_id": a.remote_id,
            }
            for a in attempts
        ],
    }
    return NewEntry(
        kind=EntryKind.PUBLICATION,
        source_key=publication_key(delivery.pk),
        occurred_at=delivery.published_at or delivery.updated_at,
        facts={
            "remote_id": delivery.remote_id,
            "permalink": delivery.permalink,
            "author": person_label(post.author),
            "language": sent.language,
        },
        content=content,
        search_text=sent.text_with_link(),
        blobs=tuple(blobs),
        department_id=post.department_id,
        department_name=post.department.name,
        channel_id=delivery.channel_id,
        channel_name=delivery.channel.display_name,
        platform=delivery.channel.platform,
        post_id=post.pk,
        delivery_id=delivery.pk,
    )


def publications_after(cursor: str, limit: int) -> tuple[list[NewEntry], str]:
    """Published deliveries with `published_at` at or after the cursor (an ISO time) minus the overlap."""
    since = dt.datetime.fromisoformat(cursor) - PUBLICATION_OVERLAP if cursor else None
    archived = ArchiveEntry.objects.filter(kind=EntryKind.PUBLICATION, delivery_id__isnull=False).values("delivery_id")
    # Those already archived are left out here, not only by the source_key: their media are not copied again.
    deliveries = Delivery.objects.filter(status=DeliveryStatus.PUBLISHED, published_at__isnull=False).exclude(
        pk__in=archived
    )
    if since is not None:
        deliveries = deliveries.filter(published_at__gte=since)
    rows = list(
        deliveries.select_related("post__department", "post__author", "channel", "approval__approved_by").order_by(
            "published_at", "id"
        )[:limit]
    )
    entries = [publication_entry(delivery) for delivery in rows]
    if not rows:
        return [], cursor
    newest = rows[-1].published_at
    assert newest is not None  # noqa: S101 - filtered above
    return entries, newest.isoformat()


# --- Removals noticed on the platform (analytics' collector re-reads published posts) ---------------


def removal_entry(removal: RemoteRemoval) -> NewEntry:
    delivery = removal.delivery
    return NewEntry(
        kind=EntryKind.REMOVED_ON_PLATFORM,
        source_key=f"removed:remoteremoval:{removal.pk}",
        occurred_at=removal.noticed_at,
        facts={
            "reason": removal.reason or "The platform no longer shows this post.",
            "remote_id": delivery.remote_id,
            "permalink": delivery.permalink,
            "publication": publication_key(delivery.pk),
        },
        content={"platform_answer": removal.raw},
        department_id=delivery.post.department_id,
        department_name=delivery.post.department.name,
        channel_id=delivery.channel_id,
        channel_name=delivery.channel.display_name,
        platform=delivery.channel.platform,
        post_id=delivery.post_id,
        delivery_id=delivery.pk,
    )


def remote_removals_after(cursor: str, limit: int) -> tuple[list[NewEntry], str]:
    rows = list(
        RemoteRemoval.objects.filter(pk__gt=_id_cursor(cursor))
        .select_related("delivery__post__department", "delivery__channel")
        .order_by("pk")[:limit]
    )
    return [removal_entry(r) for r in rows], (str(rows[-1].pk) if rows else cursor)


PUBLICATIONS = CaptureSource("publications", publications_after)
REMOTE_REMOVALS = CaptureSource("remote_removals", remote_removals_after)


# --- Residents' comments and moderation (the inbox) ----------------------------------------------------


def _names(department_ids: set[int], channel_ids: set[int]) -> tuple[dict[int, str], dict[int, str]]:
    departments = dict(Department.objects.filter(pk__in=department_ids).values_list("pk", "name"))
    channels = dict(Channel.objects.filter(pk__in=channel_ids).values_list("pk", "display_name"))
    return departments, channels


def comments_after(cursor: str, limit: int) -> tuple[list[NewEntry], str]:
    """Each captured resident's reply, comment or mention, as it was read (inbox.selectors.archive_items_after)."""
    items = inbox_selectors.archive_items_after(_id_cursor(cursor), limit)
    departments, channels = _names({i["department_id"] for i in items}, {i["channel_id"] for i in items})
    entries = [
        NewEntry(
            kind=EntryKind.COMMENT,
            source_key=f"comment:inbox:{item['id']}",
            occurred_at=dt.datetime.fromisoformat(item["created_at"]),
            facts={
                "kind": item["kind"],
                "remote_id": item["remote_id"],
                "permalink": item["permalink"],
                "in_reply_to_remote_id": item["in_reply_to_remote_id"],
                "author_handle": item["author_handle"],
                "author_profile_url": item["author_profile_url"],
                "captured_at": item["captured_at"],
                "publication": publication_key(item["delivery_id"]) if item["delivery_id"] else "",
            },
            content={
                "text": item["text"],
                "author_name": item["author_name"],
                "media": item["media"],
                "platform_answer": item["raw"],
            },  # fmt: skip
            search_text=f"{item['author_handle']} {item['text']}",
            department_id=item["department_id"],
            department_name=departments.get(item["department_id"], ""),
            channel_id=item["channel_id"],
            channel_name=channels.get(item["channel_id"], ""),
            platform=item["platform"],
            post_id=item["post_id"],
            delivery_id=item["delivery_id"],
        )
        for item in items
    ]
    return entries, (str(items[-1]["id"]) if items else cursor)


def moderation_actions_after(cursor: str, limit: int) -> tuple[list[NewEntry], str]:
    """Each moderation action with the policy clause it cited, the note, who, the outcome, and the item as it was
    before. The cursor stops before the first action the platform has not answered yet, so its entry holds the
    final outcome."""
    actions = inbox_selectors.moderation_actions_after(_id_cursor(cursor), limit)
    final = []
    for action in actions:
        if action["outcome"] == "pending":
            break
        final.append(action)
    snapshots = [a["snapshot"] or {} for a in final]
    channels = {
        channel.pk: channel
        for channel in Channel.objects.filter(pk__in={s.get("channel_id") for s in snapshots})
        .select_related("department")
        .only("pk", "display_name", "platform", "department__id", "department__name")
    }
    entries = []
    for action, snapshot in zip(final, snapshots, strict=True):
        channel = channels.get(snapshot.get("channel_id") or 0)
        entries.append(
            NewEntry(
                kind=EntryKind.MODERATION,
                source_key=f"moderation:inbox:{action['id']}",
                occurred_at=dt.datetime.fromisoformat(action["created_at"]),
                facts={
                    "action": action["action"],
                    "policy_clause": action["clause_number"],
                    "policy_clause_text": action["clause_text"],
                    "note": action["note"],
                    "by": action["actor"],
                    "outcome": action["outcome"],
                    "failure_message": action["failure_message"],
                    "undoes": f"moderation:inbox:{action['undoes_id']}" if action["undoes_id"] else "",
                    "comment": f"comment:inbox:{action['item_id']}",
                },
                content={"comment_as_it_was": snapshot},
                search_text=f"{action['action']} {action['note']} {snapshot.get('text', '')}",
                department_id=channel.department.pk if channel else None,
                department_name=channel.department.name if channel else "",
                channel_id=channel.pk if channel else None,
                channel_name=channel.display_name if channel else "",
                platform=channel.platform if channel else "",
            )
        )
    return entries, (str(final[-1]["id"]) if final else cursor)


COMMENTS = CaptureSource("inbox_comments", comments_after)
MODERATION = CaptureSource("inbox_moderation", moderation_actions_after)
