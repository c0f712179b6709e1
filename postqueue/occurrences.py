"""When a weekly posting slot falls, as instants, across daylight-saving changes.

A slot is a wall-clock time in the department's zone ("Tuesday 10:00"), so it stays at 10:00 on both sides
of a change. The two edges:
- a time that does not exist (the spring-forward gap, 2:30 AM on 2026-03-08 in Chicago) goes out at the
  first instant after the gap (3:00 AM CDT), as recurring series do (composer.series);
- a time that happens twice (the fall-back fold, 1:30 AM on 2026-11-01 in Chicago) is used once, the first
  time (1:30 AM CDT): a slot never gives two posts in one night.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from typing import Protocol, TypeVar

from civicpost.fields import LocalTime, classify_local_time


class SlotLike(Protocol):
    weekday: int
    local_time: dt.time


S = TypeVar("S", bound=SlotLike)


def slot_instant(day: dt.date, local_time: dt.time, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Returns the UTC instant of `local_time` on `day` in `zone` (the DST rules above)."""
    naive = dt.datetime.combine(day, local_time)
    kind = classify_local_time(naive, zone)
    if kind is LocalTime.MISSING:
        # fold=1 reads the gap time with the offset from before the change: an instant before the gap.
        # Step minute by minute to the change (at most the gap's length, an hour in the US).
        moment = naive.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
        before = moment.astimezone(zone).utcoffset()
        while moment.astimezone(zone).utcoffset() == before:
            moment += dt.timedelta(minutes=1)
        return moment.replace(second=0, microsecond=0)
    return naive.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)


def slot_instants(
    slots: Iterable[S], *, zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, S]]:
    """Returns every (instant, slot) with start < instant <= end, earliest first (ties: in the given order)."""
    slots = list(slots)
    found: list[tuple[dt.datetime, int, S]] = []
    day = start.astimezone(zone).date() - dt.timedelta(days=1)
    last_day = end.astimezone(zone).date() + dt.timedelta(days=1)
    while day <= last_day:
        for index, slot in enumerate(slots):
            if slot.weekday == day.weekday():
                instant = slot_instant(day, slot.local_time, zone)
                if start < instant <= end:
                    found.append((instant, index, slot))
        day += dt.timedelta(days=1)
    found.sort(key=lambda item: (item[0], item[1]))
    return [(instant, slot) for instant, _index, slot in found]
