"""Recurring posts: occurrences computed in local wall time, correct across both daylight-saving changes
of the department's zone (America/Chicago, Europe/Berlin, Lord Howe's half-hour change), approved once for
the series or per occurrence as the department chooses."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from civicpost.exceptions import ApplicationError
from composer.models import Adjustment, Frequency, SeriesPost
from composer.series import occurrences, series_approve, series_create, series_submit
from departments.models import SeriesApproval
from scheduler.models import Delivery, PostStatus

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
LORD_HOWE = zoneinfo.ZoneInfo("Australia/Lord_Howe")
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_weekly_at_6_pm_stays_6_pm_local_across_chicagos_spring_change():
    found = occurrences(
        start_date=dt.date(2026, 3, 2), local_time=dt.time(18, 0), zone=CHICAGO, frequency=Frequency.WEEKLY, count=3
    )
    assert [o.due_at for o in found] == [
        utc(2026, 3, 3, 0),
        utc(2026, 3, 10, 0) - dt.timedelta(hours=1),
        utc(2026, 3, 16, 23),
    ]
    assert [o.due_at.astimezone(CHICAGO).strftime("%a %H:%M %Z") for o in found] == [
        "Mon 18:00 CST",
        "Mon 18:00 CDT",
        "Mon 18:00 CDT",
    ]
    assert {o.adjustment for o in found} == {Adjustment.NONE}


def test_a_time_in_chicagos_spring_gap_moves_to_the_first_minute_after_it():
    found = occurrences(
        start_date=dt.date(2026, 3, 1), local_time=dt.time(2, 30), zone=CHICAGO, frequency=Frequency.WEEKLY, count=3
    )
    shown = [o.due_at.astimezone(CHICAGO) for o in found]
    assert [s.strftime("%m-%d %H:%M %Z") for s in shown] == ["03-01 02:30 CST", "03-08 03:00 CDT", "03-15 02:30 CDT"]
    assert found[1].due_at == utc(2026, 3, 8, 8, 0)
    assert [o.adjustment for o in found] == [Adjustment.NONE, Adjustment.MOVED_FORWARD, Adjustment.NONE]


def test_a_time_in_chicagos_fall_fold_takes_the_first_of_the_two():
    found = occurrences(
        start_date=dt.date(2026, 10, 25), local_time=dt.time(1, 30), zone=CHICAGO, frequency=Frequency.WEEKLY, count=3
    )
    assert [o.due_at for o in found] == [utc(2026, 10, 25, 6, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 8, 7, 30)]
    assert found[1].due_at.astimezone(CHICAGO).tzname() == "CDT"  # 1:30 AM before the clocks go back
    assert [o.adjustment for o in found] == [Adjustment.NONE, Adjustment.FIRST_OF_TWO, Adjustment.NONE]


def test_berlin_both_changes_keep_the_local_time():
    spring = occurrences(
        start_date=dt.date(2026, 3, 22), local_time=dt.time(2, 30), zone=BERLIN, frequency=Frequency.WEEKLY, count=2
    )
    assert [o.due_at.astimezone(BERLIN).strftime("%m-%d %H:%M %Z") for o in spring] == [
        "03-22 02:30 CET",
        "03-29 03:00 CEST",
    ]
    autumn = occurrences(
        start_date=dt.date(2026, 10, 18), local_time=dt.time(2, 30), zone=BERLIN, frequency=Frequency.WEEKLY, count=3
    )
    assert [o.due_at for o in autumn] == [utc(2026, 10, 18, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 11, 1, 1, 30)]
    assert autumn[1].adjustment == Adjustment.FIRST_OF_TWO


def test_lord_howes_half_hour_gap_moves_to_the_end_of_the_gap():
    found = occurrences(
        start_date=dt.date(2026, 10, 4), local_time=dt.time(2, 15), zone=LORD_HOWE, frequency=Frequency.WEEKLY, count=1
    )
    assert found[0].due_at.astimezone(LORD_HOWE).strftime("%H:%M") == "02:30"


def test_monthly_with_an_end_date_and_months_without_the_day():
    found = occurrences(
        start_date=dt.date(2026, 1, 31),
        local_time=dt.time(9, 0),
        zone=CHICAGO,
        frequency=Frequency.MONTHLY,
        until=dt.date(2026, 7, 31),
    )
    assert [o.local.date() for o in found] == [
        dt.date(2026, 1, 31),
        dt.date(2026, 3, 31),
        dt.date(2026, 5, 31),
        dt.date(2026, 7, 31),
    ]
    assert [o.due_at.astimezone(CHICAGO).hour for o in found] == [9, 9, 9, 9]


def test_a_series_needs_an_end():
    with pytest.raises(ApplicationError, match="Say when the series ends"):
        occurrences(start_date=dt.date(2026, 3, 1), local_time=dt.time(9), zone=CHICAGO, frequency="weekly")


def make_series(personas, *, count: int = 4, submit: bool = True):
    return series_create(
        user=personas.alice,
        department=personas.parks,
        text="City council meets tonight at 6 p.m. Watch live on the city website.",
        link="",
        channels=[personas.parks_channel],
        frequency=Frequency.WEEKLY,
        interval=1,
        start_date=dt.date(2026, 3, 2),
        local_time=dt.time(18, 0),
        until=None,
        count=count,
        submit=submit,
    )


def test_series_approved_once_approves_every_occurrence_through_the_normal_path(personas):
    personas.parks.series_approval = SeriesApproval.SERIES
    personas.parks.save()
    series = make_series(personas)
    links = list(series.occurrences.select_related("post"))
    assert [link.post.status for link in links] == [PostStatus.SUBMITTED] * 4
    assert [link.post.due_at.astimezone(CHICAGO).hour for link in links] == [18, 18, 18, 18]

    with pytest.raises(ApplicationError, match="You cannot approve"):
        series_approve(series=series, user=personas.carol)
    assert series_approve(series=series, user=personas.bob, comment="Weekly meeting: fine.") == 4
    for link in series.occurrences.select_related("post"):
        post = link.post
        assert post.status == PostStatus.APPROVED
        assert post.current_approval.approved_by == personas.bob
        assert post.current_approval.content["due_at"] == post.due_at.astimezone(dt.UTC).isoformat()
    assert Delivery.objects.count() == 4


def test_series_approved_per_occurrence_refuses_the_series_button(personas):
    series = make_series(personas, count=2)
    assert series.approval_mode == SeriesApproval.OCCURRENCE
    with pytest.raises(ApplicationError, match="approves each post of a series on its own"):
        series_approve(series=series, user=personas.bob)
    first = series.occurrences.get(sequence=1).post
    from scheduler.services import post_approve

    post_approve(post=first, user=personas.bob)
    assert series.occurrences.get(sequence=2).post.status == PostStatus.SUBMITTED


def test_a_series_is_made_all_or_nothing(personas):
    with pytest.raises(ApplicationError, match="Sandbox allows 500 characters"):
        series_create(
            user=personas.alice,
            department=personas.parks,
            text="x" * 501,
            link="",
            channels=[personas.parks_channel],
            frequency=Frequency.WEEKLY,
            interval=1,
            start_date=dt.date(2026, 3, 2),
            local_time=dt.time(18, 0),
            until=None,
            count=3,
            submit=True,
        )
    assert not SeriesPost.objects.exists()


def test_drafts_of_a_series_can_be_submitted_together(personas):
    series = make_series(personas, count=3, submit=False)
    assert series_submit(series=series, user=personas.alice) == 3
    assert set(series.occurrences.values_list("post__status", flat=True)) == {PostStatus.SUBMITTED}


def test_series_pages(personas):
    personas.parks.series_approval = SeriesApproval.SERIES
    personas.parks.save()
    alice = Client()
    alice.force_login(personas.alice)
    data = {
        "department": personas.parks.pk,
        "text": "Farmers market every Sunday morning at the park.",
        "channels": [personas.parks_channel.pk],
        "frequency": "weekly",
        "interval": 1,
        "start_date": "2026-03-01",
        "local_time": "02:30",
        "count": 3,
    }
    preview = alice.post(reverse("composer:series_new"), {**data, "preview": "1"}).content.decode()
    assert "3 posts" in preview
    assert "moved forward: the clocks jump that night" in preview
    response = alice.post(reverse("composer:series_new"), {**data, "submit": "submit"})
    assert response.status_code == 302
    detail = alice.get(response["Location"]).content.decode()
    assert "Moved forward" in detail and "Approve the whole series" not in detail  # Alice wrote it
    bob = Client()
    bob.force_login(personas.bob)
    page = bob.get(response["Location"]).content.decode()
    assert "Approve the whole series" in page
    bob.post(response["Location"] + "approve/")
    assert set(SeriesPost.objects.values_list("post__status", flat=True)) == {PostStatus.APPROVED}
    carol = Client()
    carol.force_login(personas.carol)
    assert carol.get(response["Location"]).status_code == 404
