"""The weekly e-mail report: per department to its admins, city-wide to the communications managers, text and
HTML, once per week, a periodic job."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

from analytics.models import WeeklyReport
from analytics.weekly import report_week, weekly_reports_send
from civicpost.periodic import PERIODIC_JOBS
from departments.models import CityRole, CityRoleName, Role
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus
from tests.analytics.history import published_history
from tests.factories import ChannelFactory, UserFactory, member

pytestmark = pytest.mark.django_db

# Monday 2026-11-23, 14:00 UTC = 08:00 in Chicago: the report of the week of 16 November is due.
MONDAY = dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC)
IN_THE_WEEK = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def world(personas):
    personas.pat = member("pat", personas.parks, Role.ADMIN)
    personas.max = UserFactory(username="max")
    CityRole.objects.create(user=personas.max, role=CityRoleName.COMMUNICATIONS_MANAGER)
    deliveries = published_history(
        personas,
        personas.parks_channel,
        [
            {"published_at": IN_THE_WEEK, "likes": 40, "text": "Pools open Saturday"},
            {"published_at": IN_THE_WEEK, "likes": 2, "text": "Leaf pickup"},
        ],
    )
    Delivery.objects.filter(pk=deliveries[1].pk).update(
        status=DeliveryStatus.FAILED, failure_message="The platform refused the image."
    )
    ChannelFactory(department=personas.parks, status=ChannelStatus.NEEDS_RECONNECT, display_name="Parks Old Account")
    return personas


def test_the_week_is_the_last_full_week_in_the_zone_from_monday_morning(personas):
    zone = personas.parks.zone
    assert report_week(MONDAY, zone) == dt.date(2026, 11, 16)
    # Monday 06:00 in Chicago: the week before last is still the latest due.
    assert report_week(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), zone) == dt.date(2026, 11, 9)


def test_each_department_admin_and_the_communications_managers_get_their_report_once(world):
    with time_machine.travel(MONDAY, tick=False):
        assert weekly_reports_send() == 2
        assert weekly_reports_send() == 0
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    parks = by_recipient[(world.pat.email,)]
    # Dana approves for the communications team: a communications manager too.
    city = by_recipient[tuple(sorted([world.dana.email, world.max.email]))]
    assert parks.subject == "Week of 2026-11-16 in Parks and Recreation"
    assert "Pools open Saturday" in parks.body  # what worked
    assert "The platform refused the image." in parks.body  # what failed
    assert "Parks Old Account" in parks.body and "Reconnect" in parks.body  # needs attention
    html = parks.alternatives[0][0]
    assert parks.alternatives[0][1] == "text/html" and "<h2" in html and "Pools open Saturday" in html
    assert city.subject == "Week of 2026-11-16 in the city"
    assert "Parks and Recreation" in city.body
    assert WeeklyReport.objects.filter(department=world.parks, week_start=dt.date(2026, 11, 16)).count() == 1
    assert WeeklyReport.objects.filter(department__isnull=True).count() == 1


def test_a_report_that_could_not_be_sent_is_tried_again(world, monkeypatch):
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise OSError("SMTP down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    with time_machine.travel(MONDAY, tick=False):
        assert weekly_reports_send() == 0
    assert not WeeklyReport.objects.exists()
    monkeypatch.undo()
    with time_machine.travel(MONDAY, tick=False):
        assert weekly_reports_send() == 2


def test_the_report_is_a_periodic_job():
    assert "analytics.tasks.send_weekly_reports" in {job.task for job in PERIODIC_JOBS}


def test_the_command_sends_what_is_due_once(world, capsys):
    from django.core.management import call_command

    with time_machine.travel(MONDAY, tick=False):
        call_command("send_weekly_reports")
        call_command("send_weekly_reports")
    assert capsys.readouterr().out.splitlines() == ["Weekly reports sent: 2.", "Weekly reports sent: 0."]
    assert len(mail.outbox) == 2
