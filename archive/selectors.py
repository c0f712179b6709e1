"""Reads of the archive, with the permission check: only the records officer reads the archive (Http404 for
everyone else, so its existence is not revealed); the public transparency page reads only publications and
their removals, and only where the city turned it on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from archive import rules
from archive.chain import Verification, chain_head
from archive.exports import ExportFilters, entries_matching
from archive.models import (
    ArchiveBlob,
    ArchiveEntry,
    CaptureCursor,
    ChainHead,
    Disposition,
    EntryKind,
    HeadNotice,
    LegalHold,
    RecordsExport,
    RetentionSchedule,
)
from scheduler.models import Post
from scheduler.selectors import post_get_for_user

AnyUser = User | AnonymousUser

REMOVAL_KINDS = (EntryKind.REMOVED_ON_PLATFORM, EntryKind.RETRACTED)


def require_archive_access(user: AnyUser) -> None:
    """Raises Http404 unless the user is a records officer."""
    if not rules.can_use_archive(user):
        raise Http404("No such page.")


def entries_for_user(*, user: AnyUser, filters: ExportFilters, kind: str = "") -> QuerySet[ArchiveEntry]:
    require_archive_access(user)
    entries = entries_matching(filters) if kind not in (EntryKind.EXPORT, EntryKind.DISPOSITION) else None
    if entries is None:
        entries = ArchiveEntry.objects.filter(kind=kind).order_by("sequence")
    elif kind:
        entries = entries.filter(kind=kind)
    return entries.order_by("-sequence")


def entry_get_for_user(*, user: AnyUser, sequence: int) -> ArchiveEntry:
    require_archive_access(user)
    entry = ArchiveEntry.objects.filter(sequence=sequence).select_related("content").first()
    if entry is None:
        raise Http404("No such entry.")
    return entry


def entries_of_delivery(*, entry: ArchiveEntry) -> QuerySet[ArchiveEntry]:
    """The other entries about the same published delivery (its removal, retraction...)."""
    if entry.delivery_id is None:
        return ArchiveEntry.objects.none()
    return ArchiveEntry.objects.filter(delivery_id=entry.delivery_id).exclude(pk=entry.pk).order_by("sequence")


def blob_get_for_user(*, user: AnyUser, sha256: str) -> ArchiveBlob:
    require_archive_access(user)
    blob = ArchiveBlob.objects.filter(sha256=sha256).first()
    if blob is None:
        raise Http404("No such file.")
    return blob


def exports_for_user(*, user: AnyUser) -> QuerySet[RecordsExport]:
    require_archive_access(user)
    return RecordsExport.objects.select_related("requested_by").order_by("-created_at")


def export_get_for_user(*, user: AnyUser, key: UUID) -> RecordsExport:
    require_archive_access(user)
    export = RecordsExport.objects.filter(key=key).select_related("requested_by").first()
    if export is None:
        raise Http404("No such export.")
    return export


def schedules_for_user(*, user: AnyUser) -> QuerySet[RetentionSchedule]:
    require_archive_access(user)
    return RetentionSchedule.objects.prefetch_related("assignments__department", "assignments__channel")


def holds_for_user(*, user: AnyUser) -> QuerySet[LegalHold]:
    require_archive_access(user)
    return LegalHold.objects.select_related("department", "channel", "created_by", "released_by")


def hold_get_for_user(*, user: AnyUser, hold_id: int) -> LegalHold:
    require_archive_access(user)
    hold = LegalHold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise Http404("No such hold.")
    return hold


def dispositions_for_user(*, user: AnyUser) -> QuerySet[Disposition]:
    require_archive_access(user)
    return Disposition.objects.select_related("approved_by", "certificate")


def disposition_get_for_user(*, user: AnyUser, disposition_id: int) -> Disposition:
    require_archive_access(user)
    disposition = Disposition.objects.filter(pk=disposition_id).select_related("approved_by", "certificate").first()
    if disposition is None:
        raise Http404("No such disposition.")
    return disposition


@dataclass(frozen=True)
class ArchiveStatus:
    head: ChainHead
    last_notice: HeadNotice | None
    cursors: list[CaptureCursor]
    verification: Verification | None = None


def archive_status(*, user: AnyUser) -> ArchiveStatus:
    require_archive_access(user)
    return ArchiveStatus(
        head=chain_head(),
        last_notice=HeadNotice.objects.order_by("-day").first(),
        cursors=list(CaptureCursor.objects.order_by("source")),
    )


def post_get_for_retraction(*, user: AnyUser, post_id: int) -> Post:
    """Returns a post the user may retract. Raises Http404 (not visible) or PermissionDenied."""
    post = post_get_for_user(user=user, post_id=post_id)
    if not rules.can_retract_post(user, post):
        raise PermissionDenied("Only the department's approvers retract a published post.")
    return post


# --- The public transparency page --------------------------------------------------------------------


def transparency_enabled() -> bool:
    return bool(settings.CIVICPOST_TRANSPARENCY_PAGE)


@dataclass(frozen=True)
class PublicRecord:
    entry: ArchiveEntry
    text: str
    removed: ArchiveEntry | None

    @property
    def removal_reason(self) -> str:
        if self.removed is None:
            return ""
        facts: dict[str, Any] = self.removed.facts or {}
        return str(facts.get("reason", ""))


def public_records(
    *, department_id: int | None = None, channel_id: int | None = None, limit: int = 50
) -> list[PublicRecord]:
    """The city's publications, newest first, each with its text (unless disposed of) and, when it was later
    deleted on the platform or through CivicPost, that entry (shown as removed, with its reason)."""
    if not transparency_enabled():
        raise Http404("The city does not publish a transparency page.")
    publications = ArchiveEntry.objects.filter(kind=EntryKind.PUBLICATION).select_related("content")
    if department_id is not None:
        publications = publications.filter(department_id=department_id)
    if channel_id is not None:
        publications = publications.filter(channel_id=channel_id)
    rows = list(publications.order_by("-sequence")[:limit])
    removals: dict[int, ArchiveEntry] = {}
    for removal in ArchiveEntry.objects.filter(
        kind__in=REMOVAL_KINDS, delivery_id__in=[r.delivery_id for r in rows if r.delivery_id]
    ).order_by("sequence"):
        if removal.delivery_id is not None:
            removals.setdefault(removal.delivery_id, removal)
    records = []
    for entry in rows:
        removed = removals.get(entry.delivery_id) if entry.delivery_id else None
        body = entry_body(entry)
        records.append(
            PublicRecord(entry=entry, text="" if removed else str(body.get("text_as_sent", "")), removed=removed)
        )
    return records


def entry_body(entry: ArchiveEntry) -> dict[str, Any]:
    """Returns the entry's content ({} when it has none or it was disposed of)."""
    try:
        return dict(entry.content.body)
    except ArchiveEntry.content.RelatedObjectDoesNotExist:
        return {}


def public_departments() -> list[tuple[int, str]]:
    """(id, name) of the departments with publications in the archive."""
    if not transparency_enabled():
        raise Http404("The city does not publish a transparency page.")
    rows = (
        ArchiveEntry.objects.filter(kind=EntryKind.PUBLICATION)
        .values_list("department_id", "department_name")
        .distinct()
        .order_by("department_name")
    )
    return [(int(i), name) for i, name in rows if i is not None]
