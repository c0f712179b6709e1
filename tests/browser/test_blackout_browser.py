"""Blackouts in the edit form and the review panel, in a real browser: the refusal is written at the time
fields with everything typed still there, approvers get a labelled reason field, and both pages pass an
axe scan (WCAG 2.1 A and AA)."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone

from scheduler import services
from scheduler.models import BlackoutOverride, BlackoutPeriod, Post, PostStatus
from tests.browser.test_calendar_browser import sign_in_as
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def local(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CHICAGO).astimezone(dt.UTC)


def submitted(personas: Personas, *, day: dt.date, text: str) -> Post:
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=text,
        channels=[personas.parks_channel],
        due_at=local(day, 10),
    )
    return services.post_submit(post=post, user=personas.alice)


def test_an_approver_moves_a_post_into_a_blackout_with_a_reason_and_approves_one_there(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    today = timezone.now().astimezone(CHICAGO).date()
    day, blackout_day = today + dt.timedelta(days=3), today + dt.timedelta(days=5)
    post = submitted(personas, day=day, text="Pools close early on Friday.")
    inside = submitted(personas, day=blackout_day, text="Flags fly at half-staff.")
    # Added once both wait for approval.
    BlackoutPeriod.objects.create(
        starts_at=local(blackout_day, 0),
        ends_at=local(blackout_day + dt.timedelta(days=1), 0),
        reason="Day of mourning",
    )

    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/posts/{post.pk}/edit/")
    page.get_by_label("Text of the post").fill("Pools close early on Friday, at 4 p.m.")
    page.get_by_label("Date", exact=True).fill(blackout_day.isoformat())
    page.get_by_role("button", name="Save changes").click()

    time_field = page.get_by_label("Time", exact=True)
    expect(page.locator(".usa-form-group--error")).to_contain_text("is inside a blackout: Day of mourning")
    expect(page.get_by_label("Text of the post")).to_have_value("Pools close early on Friday, at 4 p.m.")
    expect(page.get_by_label("Date", exact=True)).to_have_value(blackout_day.isoformat())
    expect(time_field).to_have_value("10:00")
    axe.check(page, "edit-refused-in-blackout")

    page.get_by_label("Reason for scheduling inside a blackout (approvers only)").fill("Pool staff attend the service")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Post for Parks and Recreation")
    assert BlackoutOverride.objects.get(post=post).reason == "Pool staff attend the service"

    page.goto(f"{live_server.url}/posts/{inside.pk}/")
    expect(page.locator(".civic-blackout-alert")).to_contain_text("Inside a blackout: Day of mourning (whole city)")
    reason = page.get_by_label("Reason for scheduling inside a blackout (approvers only)")
    expect(reason).to_be_visible()
    axe.check(page, "review-in-blackout")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".civic-error-summary")).to_contain_text("To approve it anyway, give the reason.")
    page.get_by_label("Reason for scheduling inside a blackout (approvers only)").fill("The mayor's statement")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".civic-post-status")).to_contain_text("Approved and scheduled")
    inside.refresh_from_db()
    assert inside.status == PostStatus.APPROVED
    assert axe.problems == [], "\n".join(axe.problems)
