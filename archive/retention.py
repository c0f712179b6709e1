"""Retention: which schedule governs an entry, when its content may be disposed of, and whether a legal hold
keeps it. Pure reads; archive.services writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dateutil.relativedelta import relativedelta

from archive.models import (
    ArchiveEntry,
    DispositionItem,
    DispositionStatus,
    LegalHold,
    RetentionAssignment,
    RetentionSchedule,
    RetentionTrigger,
)


def eligible_on(schedule: RetentionSchedule, occurred: dt.date) -> dt.date:
    """Returns the first day the content of a record made on `occurred` may be disposed of."""
    start = occurred if schedule.trigger == RetentionTrigger.AFTER_PUBLICATION else dt.date(occurred.year + 1, 1, 1)
    return start + relativedelta(years=schedule.period_years, months=schedule.period_months)


class ScheduleMap:
    """Each department's and channel's schedule (a channel's own assignment wins over its department's)."""

    def __init__(self) -> None:
        self.by_channel: dict[int, RetentionSchedule] = {}
        self.by_department: dict[int, RetentionSchedule] = {}
        for assignment in RetentionAssignment.objects.select_related("schedule"):
            if assignment.channel_id is not None:
                self.by_channel[assignment.channel_id] = assignment.schedule
            elif assignment.department_id is not None:
                self.by_department[assignment.department_id] = assignment.schedule

    def for_entry(self, entry: ArchiveEntry) -> RetentionSchedule | None:
        if entry.channel_id is not None and entry.channel_id in self.by_channel:
            return self.by_channel[entry.channel_id]
        if entry.department_id is not None:
            return self.by_department.get(entry.department_id)
        return None


def hold_covers(hold: LegalHold, entry: ArchiveEntry, search_text: str) -> bool:
    """Whether an active hold keeps this entry: every criterion the hold sets must match (a hold that sets
    none keeps everything). Search terms: any one of the comma-separated terms in the entry's text."""
    day = entry.occurred_at.date()
    if hold.department_id is not None and hold.department_id != entry.department_id:
        return False
    if hold.channel_id is not None and hold.channel_id != entry.channel_id:
        return False
    if hold.starts_on is not None and day < hold.starts_on:
        return False
    if hold.ends_on is not None and day > hold.ends_on:
        return False
    terms = [term.strip().lower() for term in hold.search_terms.split(",") if term.strip()]
    return not terms or any(term in search_text for term in terms)


def entries_due_for_disposition(
    *, today: dt.date, proposed: bool = False, entry_ids: Iterable[int] | None = None
) -> list[tuple[int, RetentionSchedule, dt.date]]:
    """Returns (entry id, schedule, eligible on) for every entry whose content still exists, whose retention
    has passed by `today` and that no active legal hold covers. Entries already listed in a proposed
    disposition are left out, unless `proposed` (the approval re-checks the entries it lists)."""
    schedules = ScheduleMap()
    if not schedules.by_channel and not schedules.by_department:
        return []
    holds = list(LegalHold.objects.filter(released_at__isnull=True))
    entries = ArchiveEntry.objects.filter(content__isnull=False).order_by("sequence")
    if entry_ids is not None:
        entries = entries.filter(pk__in=list(entry_ids))
    if not proposed:
        listed = DispositionItem.objects.filter(disposition__status=DispositionStatus.PROPOSED).values("entry_id")
        entries = entries.exclude(pk__in=listed)
    due = []
    for entry in entries.select_related("content").iterator(chunk_size=2000):
        schedule = schedules.for_entry(entry)
        if schedule is None:
            continue
        on = eligible_on(schedule, entry.occurred_at.date())
        if on > today:
            continue
        if any(hold_covers(hold, entry, entry.content.search_text) for hold in holds):
            continue
        due.append((entry.pk, schedule, on))
    return due
