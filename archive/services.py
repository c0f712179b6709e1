"""Writes of the archive: capture from the registered sources, the daily chain head e-mail, retention
schedules, legal holds and disposition. Exports are in archive.exports, retractions in archive.retractions."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from archive import rules
from archive.chain import NewEntry, chain_head, entry_append
from archive.models import (
    ArchiveContent,
    ArchiveEntry,
    CaptureCursor,
    Disposition,
    DispositionItem,
    DispositionStatus,
    EntryKind,
    HeadNotice,
    LegalHold,
    RetentionAssignment,
    RetentionSchedule,
)
from archive.retention import entries_due_for_disposition
from archive.sources import capture_sources, person_label
from archive.storage import blob_remove_if_unused
from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from departments.selectors import records_officer_emails

logger = logging.getLogger(__name__)


# --- Capture -----------------------------------------------------------------------------------------


@dataclass
class CaptureReport:
    appended: dict[str, int] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def archive_capture(*, limit: int = 500, max_pages: int = 20) -> CaptureReport:
    """Reads each registered source after its cursor and appends what is new to the chain, page by page
    (at most `max_pages` pages of `limit` per source per run; the next run goes on). One failing source is
    recorded on its cursor (`last_problem`) and does not stop the others. Returns what was appended."""
    report = CaptureReport()
    for source in capture_sources():
        cursor, _created = CaptureCursor.objects.get_or_create(source=source.name)
        appended = 0
        try:
            for _page in range(max_pages):
                entries, position = source.collect(cursor.position, limit)
                for new in entries:
                    if entry_append(new) is not None:
                        appended += 1
                moved = position != cursor.position
                cursor.position = position
                if len(entries) < limit or not moved:
                    break
            cursor.last_problem = ""
        except Exception as error:  # noqa: BLE001 - one source must not stop the others; stored on its cursor
            logger.exception("archive source %s failed", source.name)
            cursor.last_problem = str(error)[:2000]
            report.problems[source.name] = cursor.last_problem
        cursor.last_run_at = timezone.now()
        cursor.save()
        report.appended[source.name] = appended
    return report


# --- The daily chain head ----------------------------------------------------------------------------


def head_notice_send_daily(*, now: dt.datetime | None = None) -> HeadNotice | None:
    """E-mails today's chain head (sequence and hash) to every records officer, once per UTC day: an outside
    copy a database administrator cannot rewrite. Returns the notice, or None when already sent today or
    when there is nobody to send it to."""
    now = now or timezone.now()
    day = now.astimezone(dt.UTC).date()
    recipients = records_officer_emails()
    if not recipients or HeadNotice.objects.filter(day=day).exists():
        return None
    head = chain_head()
    with transaction.atomic():
        notice, created = HeadNotice.objects.get_or_create(
            day=day,
            defaults={
                "sequence": head.sequence,
                "head_hash": head.head_hash,
                "recipients": recipients,
                "sent_at": now,
            },
        )
        if not created:
            return None
        subject = _("CivicPost archive: chain head for %(day)s") % {"day": day.isoformat()}
        body = _(
            "The public-records archive of CivicPost holds %(count)s entries.\n\n"
            "Last entry: #%(sequence)s\nChain head (SHA-256): %(hash)s\n\n"
            "Keep this e-mail: it is a copy of the archive's state outside the database. `manage.py "
            "archive_verify` recomputes the chain; if an entry up to #%(sequence)s was changed or removed, the "
            "head it computes no longer matches this one.\n"
        ) % {"count": head.sequence, "sequence": head.sequence, "hash": head.head_hash}
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    return notice


# --- Retention schedules and legal holds ---------------------------------------------------------------


def _require_records_officer(user: User) -> None:
    if not rules.can_use_archive(user):
        raise ApplicationError(_("Only the records officer manages the archive."))


def retention_schedule_save(
    *,
    user: User,
    name: str,
    citation: str,
    period_years: int,
    period_months: int,
    trigger: str,
    department_ids: list[int],
    channel_ids: list[int],
) -> RetentionSchedule:
    """Creates a retention schedule and assigns it to departments and channels (replacing what they had)."""
    _require_records_officer(user)
    if period_years == 0 and period_months == 0:
        raise ApplicationError(_("Give a retention period."))
    with transaction.atomic():
        schedule = RetentionSchedule.objects.create(
            name=name, citation=citation, period_years=period_years, period_months=period_months, trigger=trigger
        )
        for department_id in department_ids:
            RetentionAssignment.objects.update_or_create(department_id=department_id, defaults={"schedule": schedule})
        for channel_id in channel_ids:
            RetentionAssignment.objects.update_or_create(channel_id=channel_id, defaults={"schedule": schedule})
        audit_record(
            action=AuditAction.ARCHIVE_RETENTION_CHANGED,
            actor=user,
            target=schedule,
            changes={
                "name": name,
                "citation": citation,
                "period_years": period_years,
                "period_months": period_months,
                "trigger": trigger,
                "departments": department_ids,
                "channels": channel_ids,
            },
        )
    return schedule


def legal_hold_create(
    *,
    user: User,
    case_reference: str,
    description: str = "",
    department_id: int | None = None,
    channel_id: int | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    search_terms: str = "",
) -> LegalHold:
    """Places a legal hold: matching entries are never disposed of while it is active."""
    _require_records_officer(user)
    if starts_on and ends_on and ends_on < starts_on:
        raise ApplicationError(_("The hold ends before it starts."))
    hold = LegalHold.objects.create(
        case_reference=case_reference,
        description=description,
        department_id=department_id,
        channel_id=channel_id,
        starts_on=starts_on,
        ends_on=ends_on,
        search_terms=search_terms,
        created_by=user,
    )
    audit_record(
        action=AuditAction.ARCHIVE_HOLD_PLACED,
        actor=user,
        department_id=department_id,
        target=hold,
        changes={"case_reference": case_reference, "search_terms": search_terms},
    )
    return hold


def legal_hold_release(*, user: User, hold: LegalHold) -> LegalHold:
    _require_records_officer(user)
    updated = LegalHold.objects.filter(pk=hold.pk, released_at__isnull=True).update(
        released_at=timezone.now(), released_by=user
    )
    if not updated:
        raise ApplicationError(_("This hold was already released."))
    hold.refresh_from_db()
    audit_record(
        action=AuditAction.ARCHIVE_HOLD_RELEASED,
        actor=user,
        department_id=hold.department_id,
        target=hold,
        changes={"case_reference": hold.case_reference},
    )
    return hold


# --- Disposition ---------------------------------------------------------------------------------------


def disposition_propose(*, now: dt.datetime | None = None) -> Disposition | None:
    """Lists the entries whose retention has passed and that no active legal hold covers and no open
    disposition already lists, as one proposal for the records officer. Returns it, or None when nothing is
    due. Run by the periodic job."""
    now = now or timezone.now()
    due = entries_due_for_disposition(today=now.date())
    if not due:
        return None
    with transaction.atomic():
        disposition = Disposition.objects.create(proposed_at=now)
        DispositionItem.objects.bulk_create(
            [
                DispositionItem(disposition=disposition, entry_id=entry_id, schedule=schedule, eligible_on=eligible_on)
                for entry_id, schedule, eligible_on in due
            ]
        )
    return disposition


@transaction.atomic
def disposition_approve(*, user: User, disposition: Disposition, now: dt.datetime | None = None) -> ArchiveEntry:
    """The records officer approves a proposed disposition: the content (text, media) of each listed entry is
    removed, except entries a legal hold placed since the proposal covers (left out and named in the
    certificate), and a disposition certificate (what, when, under which schedule, approved by whom; no
    content) is appended to the chain. Returns the certificate entry."""
    _require_records_officer(user)
    now = now or timezone.now()
    locked = Disposition.objects.select_for_update().get(pk=disposition.pk)
    if locked.status != DispositionStatus.PROPOSED:
        raise ApplicationError(_("This disposition is no longer waiting for approval."))
    items = list(locked.items.select_related("schedule").order_by("entry_id"))
    still_due = {
        entry_id
        for entry_id, _schedule, _on in entries_due_for_disposition(
            today=now.date(), proposed=True, entry_ids=[item.entry_id for item in items]
        )
    }
    disposed: list[dict[str, Any]] = []
    held: list[int] = []
    entries = {e.pk: e for e in ArchiveEntry.objects.filter(pk__in=[i.entry_id for i in items])}
    for item in items:
        entry = entries[item.entry_id]
        if item.entry_id not in still_due:
            held.append(entry.sequence)
            continue
        _content_remove(entry)
        disposed.append(
            {
                "sequence": entry.sequence,
                "kind": entry.kind,
                "content_hash": entry.content_hash,
                "occurred_at": entry.occurred_at,
                "department": entry.department_name,
                "channel": entry.channel_name,
                "schedule": item.schedule.name,
                "citation": item.schedule.citation,
                "eligible_on": item.eligible_on,
            }
        )
    certificate = entry_append(
        NewEntry(
            kind=EntryKind.DISPOSITION,
            source_key=f"disposition:{locked.pk}",
            occurred_at=now,
            facts={
                "disposition": locked.pk,
                "approved_by": person_label(user),
                "approved_at": now,
                "proposed_at": locked.proposed_at,
                "disposed": disposed,
                "kept_under_legal_hold": held,
            },
        )
    )
    assert certificate is not None  # noqa: S101 - one certificate per disposition, under the row lock
    locked.status = DispositionStatus.DONE
    locked.approved_by = user
    locked.approved_at = now
    locked.completed_at = now
    locked.certificate = certificate
    locked.save()
    audit_record(
        action=AuditAction.ARCHIVE_DISPOSED,
        actor=user,
        target=locked,
        changes={"entries": len(disposed), "kept_under_legal_hold": len(held), "certificate": certificate.sequence},
    )
    return certificate


def disposition_cancel(*, user: User, disposition: Disposition) -> None:
    _require_records_officer(user)
    if not Disposition.objects.filter(pk=disposition.pk, status=DispositionStatus.PROPOSED).update(
        status=DispositionStatus.CANCELLED
    ):
        raise ApplicationError(_("This disposition is no longer waiting for approval."))
    audit_record(action=AuditAction.ARCHIVE_DISPOSITION_CANCELLED, actor=user, target=disposition)


def _content_remove(entry: ArchiveEntry) -> None:
    content = ArchiveContent.objects.filter(entry=entry).first()
    if content is None:
        return
    blobs = list(content.blobs.all())
    content.blobs.clear()
    content.delete()
    for blob in blobs:
        blob_remove_if_unused(blob)
