"""Posting slots across daylight-saving changes (America/Chicago, 2026): the wall-clock time stays, the
spring-forward gap moves to the first instant after it, the fall-back fold is used once."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from postqueue.occurrences import slot_instant, slot_instants

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
UTC = dt.UTC


@dataclass
class Slot:
    weekday: int
    local_time: dt.time


def test_a_tuesday_ten_oclock_slot_stays_at_ten_on_the_clock_across_the_spring_change() -> None:
    found = slot_instants(
        [Slot(1, dt.time(10, 0))],
        zone=CHICAGO,
        start=dt.datetime(2026, 3, 1, tzinfo=UTC),
        end=dt.datetime(2026, 3, 15, tzinfo=UTC),
    )
    assert [instant for instant, _slot in found] == [
        dt.datetime(2026, 3, 3, 16, 0, tzinfo=UTC),  # 10:00 CST (UTC-6)
        dt.datetime(2026, 3, 10, 15, 0, tzinfo=UTC),  # 10:00 CDT (UTC-5)
    ]


def test_a_slot_in_the_spring_forward_gap_goes_out_at_the_first_instant_after_it() -> None:
    # 2:30 AM on Sunday 2026-03-08 does not exist in Chicago: 3:00 AM CDT = 08:00 UTC.
    assert slot_instant(dt.date(2026, 3, 8), dt.time(2, 30), CHICAGO) == dt.datetime(2026, 3, 8, 8, 0, tzinfo=UTC)


def test_a_slot_in_the_fall_back_fold_is_used_once_the_first_time() -> None:
    found = slot_instants(
        [Slot(6, dt.time(1, 30))],
        zone=CHICAGO,
        start=dt.datetime(2026, 10, 31, tzinfo=UTC),
        end=dt.datetime(2026, 11, 2, tzinfo=UTC),
    )
    # 1:30 AM happens twice on 2026-11-01; only the first (CDT, UTC-5) is a slot.
    assert [instant for instant, _slot in found] == [dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)]


def test_slots_after_the_autumn_change_follow_standard_time() -> None:
    found = slot_instants(
        [Slot(3, dt.time(10, 0))],
        zone=CHICAGO,
        start=dt.datetime(2026, 10, 27, tzinfo=UTC),
        end=dt.datetime(2026, 11, 7, tzinfo=UTC),
    )
    assert [instant for instant, _slot in found] == [
        dt.datetime(2026, 10, 29, 15, 0, tzinfo=UTC),  # 10:00 CDT
        dt.datetime(2026, 11, 5, 16, 0, tzinfo=UTC),  # 10:00 CST
    ]


def test_instants_are_in_time_order_across_slots_and_bounded() -> None:
    tuesday, thursday = Slot(1, dt.time(10, 0)), Slot(3, dt.time(9, 0))
    found = slot_instants(
        [thursday, tuesday],
        zone=CHICAGO,
        start=dt.datetime(2026, 6, 2, 15, 0, tzinfo=UTC),  # exactly Tue 10:00 CDT: excluded
        end=dt.datetime(2026, 6, 9, 15, 0, tzinfo=UTC),  # exactly the next Tue 10:00: included
    )
    assert [(instant, slot) for instant, slot in found] == [
        (dt.datetime(2026, 6, 4, 14, 0, tzinfo=UTC), thursday),
        (dt.datetime(2026, 6, 9, 15, 0, tzinfo=UTC), tuesday),
    ]
