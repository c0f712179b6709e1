"""The hash chain: appending an entry (serialised on the ChainHead row) and verifying the whole chain.

An entry's hash covers its canonical JSON (archive.chain.entry_payload): its sequence number, kind, times,
department/channel/post ids and labels, its facts, the SHA-256 of its content and the previous entry's hash.
Changing, deleting or reordering any entry therefore breaks the chain at that entry; `archive_verify` names it.
The content itself is hashed separately (content_hash), so removing it by disposition leaves the chain intact."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from archive.models import ArchiveBlob, ArchiveContent, ArchiveEntry, ChainHead

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Returns the one JSON text of a value that hashing uses: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash_of(body: dict[str, Any]) -> str:
    return sha256_text(canonical_json(body))


def entry_payload(entry: ArchiveEntry) -> dict[str, Any]:
    """Returns what an entry's hash covers (everything but its own hash)."""
    return {
        "sequence": entry.sequence,
        "kind": entry.kind,
        "source_key": entry.source_key,
        "occurred_at": _utc(entry.occurred_at),
        "recorded_at": _utc(entry.recorded_at),
        "department_id": entry.department_id,
        "department_name": entry.department_name,
        "channel_id": entry.channel_id,
        "channel_name": entry.channel_name,
        "platform": entry.platform,
        "post_id": entry.post_id,
        "delivery_id": entry.delivery_id,
        "facts": entry.facts,
        "content_hash": entry.content_hash,
        "prev_hash": entry.prev_hash,
    }


def entry_hash_of(entry: ArchiveEntry) -> str:
    return sha256_text(canonical_json(entry_payload(entry)))


@dataclass(frozen=True)
class NewEntry:
    """What a source (or a service) wants appended. `content` None: an entry without content."""

    kind: str
    source_key: str
    occurred_at: dt.datetime
    facts: dict[str, Any]
    content: dict[str, Any] | None = None
    search_text: str = ""
    blobs: tuple[ArchiveBlob, ...] = ()
    department_id: int | None = None
    department_name: str = ""
    channel_id: int | None = None
    channel_name: str = ""
    platform: str = ""
    post_id: int | None = None
    delivery_id: int | None = None


def _locked_head() -> ChainHead:
    ChainHead.objects.get_or_create(singleton=1, defaults={"head_hash": GENESIS_HASH})
    return ChainHead.objects.select_for_update().get(singleton=1)


def chain_head() -> ChainHead:
    """Returns the current head (sequence 0 and the genesis hash while the chain is empty)."""
    head = ChainHead.objects.filter(singleton=1).first()
    return head or ChainHead(singleton=1, sequence=0, head_hash=GENESIS_HASH)


@transaction.atomic
def entry_append(new: NewEntry) -> ArchiveEntry | None:
    """Appends one entry to the chain, with its content. Returns it, or None when an entry with the same
    `source_key` is already in the chain (capture is idempotent).

    Serialised: the ChainHead row is locked (SELECT ... FOR UPDATE) for the whole transaction, so two
    capture runs append one after the other; `sequence` and `prev_hash` are unique besides, so even a
    database without row locks (SQLite) refuses a fork with an IntegrityError instead of storing it."""
    head = _locked_head()
    if ArchiveEntry.objects.filter(source_key=new.source_key).exists():
        return None
    content_hash = content_hash_of(new.content) if new.content is not None else ""
    entry = ArchiveEntry(
        sequence=head.sequence + 1,
        kind=new.kind,
        source_key=new.source_key,
        occurred_at=new.occurred_at,
        recorded_at=timezone.now(),
        department_id=new.department_id,
        department_name=new.department_name[:120],
        channel_id=new.channel_id,
        channel_name=new.channel_name[:200],
        platform=new.platform,
        post_id=new.post_id,
        delivery_id=new.delivery_id,
        facts=json.loads(canonical_json(new.facts)),
        content_hash=content_hash,
        prev_hash=head.head_hash,
    )
    entry.entry_hash = entry_hash_of(entry)
    entry.save()
    if new.content is not None:
        content = ArchiveContent.objects.create(
            entry=entry,
            content_hash=content_hash,
            body=json.loads(canonical_json(new.content)),
            search_text=new.search_text.lower(),
        )
        if new.blobs:
            content.blobs.set(new.blobs)
    head.sequence = entry.sequence
    head.head_hash = entry.entry_hash
    head.save(update_fields=["sequence", "head_hash", "updated_at"])
    return entry


# --- Verification ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    head_sequence: int
    head_hash: str
    broken_sequence: int | None = None
    problem: str = ""


def chain_verify(*, entries: Iterable[ArchiveEntry] | None = None) -> Verification:
    """Recomputes every entry's hash in sequence order, checks each link and each remaining content's hash,
    and compares the last entry with the stored head. Returns a Verification naming the first broken entry
    (its sequence number and what is wrong). Reads in chunks: memory does not grow with the chain."""
    rows = (
        entries
        if entries is not None
        else ArchiveEntry.objects.order_by("sequence").select_related("content").iterator(chunk_size=2000)
    )
    expected_sequence = 1
    previous = GENESIS_HASH
    checked = 0
    for entry in rows:
        problem = _entry_problem(entry, expected_sequence=expected_sequence, previous=previous)
        if problem:
            # A gap names the missing entry; anything else the entry that no longer verifies.
            broken = min(entry.sequence, expected_sequence)
            return Verification(False, checked, expected_sequence - 1, previous, broken, problem)
        checked += 1
        previous = entry.entry_hash
        expected_sequence = entry.sequence + 1
    head = chain_head()
    if head.sequence != expected_sequence - 1 or head.head_hash != previous:
        return Verification(
            False,
            checked,
            expected_sequence - 1,
            previous,
            expected_sequence if head.sequence >= expected_sequence else head.sequence + 1,
            f"The chain ends at entry #{expected_sequence - 1} but its head says #{head.sequence} "
            f"({head.head_hash[:16]}…): entries at the end are missing or the head was changed.",
        )
    return Verification(True, checked, head.sequence, head.head_hash)


def _entry_problem(entry: ArchiveEntry, *, expected_sequence: int, previous: str) -> str:
    if entry.sequence != expected_sequence:
        return f"Entry #{expected_sequence} is missing (the next entry is #{entry.sequence})."
    if entry.prev_hash != previous:
        return f"Entry #{entry.sequence} does not point to the entry before it (its previous hash differs)."
    if entry_hash_of(entry) != entry.entry_hash:
        return f"Entry #{entry.sequence} was changed: its fields no longer match its hash."
    content = getattr(entry, "content", None) if _has_content(entry) else None
    if content is not None and (
        content.content_hash != entry.content_hash or content_hash_of(content.body) != entry.content_hash
    ):
        return f"The content of entry #{entry.sequence} was changed: it no longer matches the hash in the chain."
    return ""


def _has_content(entry: ArchiveEntry) -> bool:
    try:
        entry.content  # noqa: B018 - the reverse one-to-one raises when disposed of or never stored
    except ArchiveContent.DoesNotExist:
        return False
    return True
