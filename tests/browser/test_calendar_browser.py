"""The shared calendar in a real browser (issue 5): the month, week and agenda views pass an axe scan
(WCAG 2.1 A and AA), filters narrow the calendar and the address says so, dragging a post to another
day reschedules it (an approved post moved by its editor goes back for approval), the keyboard way
works with Tab and Enter, and conflict and blackout hints are written out."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from scheduler import services
from scheduler.models import BlackoutPeriod, Post, PostStatus
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")


def sign_in_as(page, base_url: str, user) -> None:  # noqa: ANN001
    """Signs in by handing the browser a session made by Django's test client (the sign-in page itself
    is covered by test_walkthrough.py)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": base_url}])


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CHICAGO).astimezone(dt.UTC)


def days_in_one_month() -> tuple[dt.date, dt.date]:
    """Two future days of the same month (Chicago time): where a post is, and where it is moved to."""
    start = timezone.now().astimezone(CHICAGO).date() + dt.timedelta(days=3)
    other = start + dt.timedelta(days=2)
    if other.month != start.month:
        other = start - dt.timedelta(days=1)
    return start, other


def make(personas: Personas, *, author, day: dt.date, hour: int, text: str, status: str, link: str = "") -> Post:  # noqa: ANN001
    post = services.post_create(
        author=author,
        department=personas.parks if author != personas.carol else personas.library,
        text=text,
        link=link,
        channels=[personas.parks_channel if author != personas.carol else personas.library_channel],
        due_at=local(day, hour),
    )
    if status in (PostStatus.SUBMITTED, PostStatus.APPROVED):
        services.post_submit(post=post, user=author)
    if status == PostStatus.APPROVED:
        services.post_approve(post=post, user=personas.bob if author != personas.carol else personas.dana)
    post.refresh_from_db()
    return post


def tab_until(page, element_id: str, limit: int = 5) -> None:  # noqa: ANN001
    for _ in range(limit):
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")


def chip(page, post: Post):  # noqa: ANN001, ANN201
    return page.locator(f'#calendar-region [data-post-id="{post.pk}"]')


def test_three_views_filters_hints_and_accessibility(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    base = live_server.url
    day, other = days_in_one_month()
    month = f"{day:%Y-%m}"
    approved = make(personas, author=personas.alice, day=day, hour=9, text="Pools open at nine", status="approved")
    make(personas, author=personas.alice, day=day, hour=9, text="Lifeguards wanted", status="draft")
    library = make(
        personas,
        author=personas.carol,
        day=other,
        hour=11,
        text="Story hour moves online",
        status="approved",
        link="https://city.example/shared",
    )
    make(
        personas,
        author=personas.alice,
        day=other,
        hour=12,
        text="Same page, Parks view",
        status="draft",
        link="https://city.example/shared",
    )
    BlackoutPeriod.objects.create(
        starts_at=local(other, 0), ends_at=local(other + dt.timedelta(days=1), 0), reason="Day of mourning"
    )

    sign_in_as(page, base, personas.alice)
    page.goto(f"{base}/calendar/?month={month}&filtered=1")
    expect(page.get_by_role("heading", level=1)).to_have_text("Calendar")
    table = page.get_by_role("table")
    expect(table.locator("caption")).to_contain_text("4 posts")
    expect(table.locator("th[scope=col]").first).to_have_text("Sunday")
    first = chip(page, approved)
    expect(first).to_contain_text("Parks and Recreation")
    expect(first).to_contain_text("Approved and scheduled")
    expect(first.get_by_role("img", name="Sandbox")).to_be_visible()
    # One line per post: the time without the offset (the header says the zone once).
    expect(first.locator("time")).to_have_text("9:00 AM")
    expect(page.locator(".civic-cal-zone")).to_contain_text(re.compile(r"America/Chicago \(C[SD]T, UTC−0[56]:00"))
    # Hints are words on the page, not colours.
    expect(first).to_contain_text("Conflict: Less than 60 minutes from another post on Parks on Sandbox")
    library_chip = chip(page, library)
    expect(library_chip).to_contain_text("Conflict: Same link as a post of Parks and Recreation")
    expect(library_chip).to_contain_text("Warning: Inside a blackout: Day of mourning (whole city).")
    expect(page.locator(f'td[data-drop-date="{other.isoformat()}"]')).to_contain_text("Blackout: Day of mourning")
    # Alice cannot move the Library's post; she can move her own.
    expect(library_chip.get_by_role("button", name=re.compile("^Move"))).to_have_count(0)
    # The preview (and its Move button) shows on keyboard focus.
    first.locator(".civic-cal-chip__link").focus()
    expect(first.get_by_role("button", name=re.compile("^Move"))).to_be_visible()
    expect(page.locator(f"#cal-preview-{approved.pk}")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Quiet channels"))).to_be_visible()
    axe.check(page, "calendar-month")

    page.get_by_role("link", name="Week", exact=True).click()
    expect(page).to_have_url(re.compile(r"/calendar/week/\?week="))
    expect(page.get_by_role("table")).to_contain_text("by hour")
    axe.check(page, "calendar-week")

    page.get_by_role("link", name="Agenda (list)", exact=True).click()
    expect(page).to_have_url(re.compile(r"/calendar/agenda/\?start="))
    expect(page.locator("#calendar-region")).to_contain_text("Pools open at nine")
    axe.check(page, "calendar-agenda")

    # Filters: the address says what is shown, and comes back next time.
    page.goto(f"{base}/calendar/?month={month}&filtered=1")
    # The filter bar opens its panel only when asked.
    expect(page.get_by_label("Department")).to_be_hidden()
    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Department").select_option(label="Public Library")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"department={personas.library.pk}"))
    expect(chip(page, library)).to_be_visible()
    expect(chip(page, approved)).to_have_count(0)
    # USWDS draws its own checkbox; people click the label.
    expect(page.get_by_role("list", name="Filters that are on")).to_contain_text("Department: Public Library")
    page.locator("summary", has_text="Filters").click()
    page.locator('label[for="filter-status-draft"]').click()
    expect(page.get_by_role("checkbox", name="Draft")).to_be_checked()
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"status=draft"))
    expect(page.locator("#calendar-region [data-post-id]")).to_have_count(0)
    axe.check(page, "calendar-month-filtered")
    page.goto(f"{base}/calendar/")
    expect(page).to_have_url(re.compile(rf"department={personas.library.pk}.*status=draft|status=draft.*department="))
    page.get_by_role("link", name="Clear filters").click()
    expect(chip(page, approved)).to_be_visible()

    page.goto(f"{base}/calendar/blackouts/")
    axe.check(page, "calendar-blackouts")
    page.goto(f"{base}/calendar/feed/")
    axe.check(page, "calendar-feed")

    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)


def test_dragging_an_approved_post_to_another_day_sends_it_back_for_approval(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = days_in_one_month()
    post = make(personas, author=personas.alice, day=day, hour=10, text="Farmers market opens", status="approved")
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")
    expect(chip(page, post)).to_contain_text("Approved and scheduled")

    chip(page, post).drag_to(page.locator(f'td[data-drop-date="{other.isoformat()}"]'))
    expect(page.locator("#calendar-live")).to_contain_text("waiting for approval")
    moved = page.locator(f'td[data-drop-date="{other.isoformat()}"] [data-post-id="{post.pk}"]')
    expect(moved).to_contain_text("Waiting for approval")
    post.refresh_from_db()
    assert post.status == PostStatus.SUBMITTED
    assert post.due_at == local(other, 10)
    assert post.deliveries.exclude(status="cancelled").count() == 0


def test_an_approver_drags_into_a_blackout_only_with_a_reason_and_keeps_the_approval(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = days_in_one_month()
    post = make(personas, author=personas.alice, day=day, hour=10, text="Parade route", status="approved")
    BlackoutPeriod.objects.create(
        starts_at=local(other, 0), ends_at=local(other + dt.timedelta(days=1), 0), reason="Election quiet period"
    )
    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")
    chip(page, post).drag_to(page.locator(f'td[data-drop-date="{other.isoformat()}"]'))

    dialog = page.get_by_role("dialog", name="Move post")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("To schedule it anyway, give the reason.")
    reason = dialog.get_by_label("Reason for scheduling inside a blackout")
    expect(reason).to_be_focused()
    page.keyboard.type("Polling place changes must go out today")
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Move post")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#calendar-live")).to_contain_text("It stays approved and scheduled.")
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and post.due_at == local(other, 10)


def test_keyboard_reschedule_with_tab_and_enter(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = days_in_one_month()
    post = make(personas, author=personas.alice, day=day, hour=10, text="Leaf pickup starts", status="draft")
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")

    # From the post's link, Tab reaches its Move button; Enter opens the form on the date field.
    chip(page, post).get_by_role("link").focus()
    page.keyboard.press("Tab")
    move = chip(page, post).get_by_role("button", name=re.compile("^Move"))
    expect(move).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Move post")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("New date")).to_be_focused()
    page.keyboard.type(other.strftime("%m%d%Y"))
    # Chromium makes each part of a date or time field (month, day, year; hour, minute, AM/PM) a Tab
    # stop, so Tab until the next field has the focus, as a keyboard user does.
    tab_until(page, "move-time")
    expect(dialog.get_by_label("New time")).to_be_focused()
    page.keyboard.type("0245PM")
    tab_until(page, "move-submit")
    expect(dialog.get_by_role("button", name="Move post")).to_be_focused()
    page.keyboard.press("Enter")

    expect(dialog).to_be_hidden()
    expect(page.locator("#calendar-live")).to_contain_text("Moved to")
    expect(page.locator("#calendar-live")).to_contain_text("2:45 PM")
    # Focus lands on the moved post, in its new day.
    moved_link = page.locator(f'td[data-drop-date="{other.isoformat()}"] [data-post-id="{post.pk}"] a')
    expect(moved_link).to_be_focused()
    post.refresh_from_db()
    assert post.due_at == local(other, 14, 45)
    assert post.status == PostStatus.DRAFT

    # Escape closes the form and gives focus back to the Move button.
    move = chip(page, post).get_by_role("button", name=re.compile("^Move"))
    move.focus()
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(move).to_be_focused()
