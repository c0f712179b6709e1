"""Ending a crisis hold with a new time inside a blackout, in a real browser: the refusal is shown on the
form with the new time and the choice still there, the approver's labelled reason field takes the reason,
and both crisis pages pass an axe scan (WCAG 2.1 A and AA)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from governance.services import crisis_hold_end, crisis_hold_start
from scheduler.calendar import viewer_zone
from scheduler.models import BlackoutOverride, BlackoutPeriod, CrisisHold, Post, PostHold, PostStatus, ReleaseChoice
from tests.browser.test_calendar_browser import sign_in_as
from tests.governance.city import City
from tests.scheduler import approved_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REASON_LABEL = "Reason for scheduling inside a blackout (approvers only)"


def election_tomorrow() -> dt.datetime:
    """A city-wide blackout all of tomorrow (UTC); returns a time in its middle."""
    start = (timezone.now() + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    BlackoutPeriod.objects.create(starts_at=start, ends_at=start + dt.timedelta(days=1), reason="Election day")
    return start + dt.timedelta(hours=12)


def test_held_posts_move_into_a_blackout_only_with_the_approver_s_reason(live_server, browser_page, axe):
    from playwright.sync_api import expect

    city = City()
    page = browser_page
    kept = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Pool party")
    first = crisis_hold_start(user=city.dana, reason="Storm")
    crisis_hold_end(hold=first, user=city.dana, choice=ReleaseChoice.KEEP)
    held = approved_post(author=city.carol, approver=city.dana, channels=[city.library_channel], text="Story hour")
    second = crisis_hold_start(user=city.dana, reason="Water main break")
    inside = election_tomorrow().astimezone(viewer_zone(user=city.dana))
    day, clock = inside.date().isoformat(), inside.strftime("%H:%M")
    hold = PostHold.objects.get(post=kept)
    sign_in_as(page, live_server.url, city.dana)

    # A post kept on hold, on the crisis page.
    page.goto(f"{live_server.url}/governance/crisis/")
    row = page.locator("tr", has_text="Pool party")
    # USWDS hides the real radio button and draws its own; people click the label.
    row.locator("label", has_text=str(ReleaseChoice.RESCHEDULE.label)).click()
    expect(row.get_by_label(str(ReleaseChoice.RESCHEDULE.label))).to_be_checked()
    row.get_by_label("New date", exact=True).fill(day)
    row.get_by_label("New time", exact=True).fill(clock)
    row.get_by_role("button", name="Release").click()

    row = page.locator("tr", has_text="Pool party")
    expect(page.locator(".civic-error-summary")).to_contain_text("is inside a blackout: Election day")
    expect(row.get_by_label(REASON_LABEL)).to_be_visible()
    expect(row.get_by_label("New date", exact=True)).to_have_value(day)
    expect(row.get_by_label("New time", exact=True)).to_have_value(clock)
    expect(row.get_by_label(str(ReleaseChoice.RESCHEDULE.label))).to_be_checked()
    axe.check(page, "crisis-release-refused")
    row.get_by_label(REASON_LABEL).fill("Polling places moved")
    row.get_by_role("button", name="Release").click()
    expect(page.locator(".usa-alert--success")).to_contain_text("The post was released.")
    assert Post.objects.get(pk=kept.pk).status == PostStatus.APPROVED
    assert BlackoutOverride.objects.get(post=kept).reason == "Polling places moved"
    hold.refresh_from_db()
    assert hold.released_at is not None

    # Switching a hold off, every post moved at once.
    page.goto(f"{live_server.url}/governance/crisis/{second.pk}/end/")
    page.locator("label", has_text=str(ReleaseChoice.RESCHEDULE.label)).click()
    page.get_by_label("New date", exact=True).fill(day)
    page.get_by_label("New time", exact=True).fill(clock)
    page.get_by_role("button", name="Switch the crisis hold off").click()
    expect(page.locator(".civic-error-summary")).to_contain_text("To schedule it anyway, give the reason.")
    expect(page.get_by_label("New date", exact=True)).to_have_value(day)
    axe.check(page, "crisis-end-refused")
    page.get_by_label(REASON_LABEL).fill("Polling places moved")
    page.get_by_role("button", name="Switch the crisis hold off").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crisis hold")
    assert not CrisisHold.objects.get(pk=second.pk).is_active
    assert Post.objects.get(pk=held.pk).due_at == inside
    assert axe.problems == [], "\n".join(axe.problems)
