"""The compact calendar in a real browser (issue 19): a post started from a calendar day (keyboard and
pointer) has that date filled in; a draft dragged from the side panel onto a day, and the keyboard way to do
the same, moves it through the reschedule service and says so in the live region; the month, week and agenda
pass axe (WCAG 2.1 A/AA) at 1280 and 390 px, with a post's preview open; a phone opens on the agenda."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from civicpost.timelabels import long_date_label
from scheduler import services
from scheduler.models import Post, PostStatus
from tests.browser.test_calendar_browser import CHICAGO, local, sign_in_as
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


def two_days() -> tuple[dt.date, dt.date]:
    """Two future days of one month (Chicago time)."""
    start = timezone.now().astimezone(CHICAGO).date() + dt.timedelta(days=3)
    other = start + dt.timedelta(days=2)
    if other.month != start.month:
        other = start - dt.timedelta(days=1)
    return start, other


def draft_outside_the_month(personas: Personas, day: dt.date, text: str) -> Post:
    """A Parks draft two months after `day`: not on that month's page, so in the drafts panel."""
    later = (day.replace(day=1) + dt.timedelta(days=70)).replace(day=10)
    return services.post_create(
        author=personas.alice,
        department=personas.parks,
        text=text,
        link="",
        channels=[personas.parks_channel],
        due_at=local(later, 11),
    )


def test_composing_from_a_calendar_day_fills_in_its_date(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = two_days()
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")

    # Keyboard: the day's "+" link, then Enter.
    new_post = page.get_by_role("link", name=f"New post on {long_date_label(day)}")
    new_post.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/posts/new/\?date={day.isoformat()}$"))
    expect(page.get_by_label("Date")).to_have_value(day.isoformat())
    page.get_by_label("Text of the post").fill("Pool party at Lincoln Park, all ages welcome.")
    page.locator("label", has_text="Parks on Sandbox (Sandbox)").click()
    page.get_by_label("Time").fill("10:30")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    post = Post.objects.get(text__startswith="Pool party")
    assert post.due_at == local(day, 10, 30) and post.status == PostStatus.DRAFT

    # Pointer: a click on a day's free space starts a post on that day too.
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")
    cell = page.locator(f'td[data-drop-date="{other.isoformat()}"]')
    box = cell.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 6)
    expect(page).to_have_url(re.compile(rf"/posts/new/\?date={other.isoformat()}$"))
    expect(page.get_by_label("Date")).to_have_value(other.isoformat())


def test_dragging_a_draft_from_the_side_panel_onto_a_day(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, _ = two_days()
    draft = draft_outside_the_month(personas, day, "Volunteers wanted for the river cleanup")
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")
    panel = page.get_by_role("complementary", name="Drafts to place")
    item = panel.locator(f'[data-post-id="{draft.pk}"]')
    expect(item).to_contain_text("Volunteers wanted")

    item.drag_to(page.locator(f'td[data-drop-date="{day.isoformat()}"]'))
    expect(page.locator("#calendar-live")).to_contain_text("Moved to")
    expect(page.locator("#calendar-live")).to_have_attribute("role", "status")
    expect(page.locator(f'td[data-drop-date="{day.isoformat()}"] [data-post-id="{draft.pk}"]')).to_have_count(1)
    expect(
        page.get_by_role("complementary", name="Drafts to place").locator(f'[data-post-id="{draft.pk}"]')
    ).to_have_count(0)
    draft.refresh_from_db()
    assert draft.due_at == local(day, 11) and draft.status == PostStatus.DRAFT


def test_placing_a_draft_on_a_day_with_the_keyboard(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = two_days()
    draft = draft_outside_the_month(personas, day, "Snow routes are marked")
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/?month={day:%Y-%m}&filtered=1")
    panel = page.get_by_role("complementary", name="Drafts to place")
    panel.locator(f'[data-post-id="{draft.pk}"] a').focus()
    page.keyboard.press("Tab")
    place = panel.locator(f'[data-post-id="{draft.pk}"] [data-move]')
    expect(place).to_be_focused()
    expect(place).to_have_accessible_name(re.compile(r"^Place on a day\W+Snow routes are marked"))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Move post")
    expect(dialog.get_by_label("New date")).to_be_focused()
    page.keyboard.type(other.strftime("%m%d%Y"))
    for _ in range(6):
        if page.evaluate("document.activeElement && document.activeElement.id") == "move-time":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("0915AM")
    for _ in range(6):
        if page.evaluate("document.activeElement && document.activeElement.id") == "move-submit":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    # Announced in the live region; the focus lands on the post in its new day.
    expect(page.locator("#calendar-live")).to_contain_text("Moved to")
    expect(page.locator("#calendar-live")).to_contain_text("9:15 AM")
    moved = page.locator(f'td[data-drop-date="{other.isoformat()}"] [data-post-id="{draft.pk}"] a')
    expect(moved).to_be_focused()
    draft.refresh_from_db()
    assert draft.due_at == local(other, 9, 15)


def test_month_week_and_agenda_pass_axe_at_1280_and_390_px(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    day, other = two_days()
    for hour in range(8, 18):
        post = services.post_create(
            author=personas.alice,
            department=personas.parks,
            text=f"Parks news at {hour}: splash pads, trails and the summer concert series in every park.",
            link="",
            channels=[personas.parks_channel],
            due_at=local(day, hour),
        )
        if hour % 2:
            services.post_submit(post=post, user=personas.alice)
            services.post_approve(post=post, user=personas.bob)
    draft_outside_the_month(personas, day, "A draft for the panel")
    sign_in_as(page, live_server.url, personas.alice)
    base = live_server.url
    department = personas.parks.pk
    pages = {
        "month": f"{base}/calendar/?month={day:%Y-%m}&filtered=1",
        "month-filtered": f"{base}/calendar/?month={day:%Y-%m}&department={department}&filtered=1",
        "week": f"{base}/calendar/week/?week={day.isoformat()}&filtered=1",
        "agenda": f"{base}/calendar/agenda/?start={day.isoformat()}&days=14&filtered=1",
    }
    for width, viewport in (("1280", WIDE), ("390", PHONE)):
        page.set_viewport_size(viewport)
        for name, address in pages.items():
            page.goto(address)
            expect(page.locator("#calendar-region")).to_be_visible()
            axe.check(page, f"{name}-{width}")
        # A post's preview open (keyboard focus), and the filter panel open.
        page.goto(pages["month"])
        page.locator(f'td[data-drop-date="{day.isoformat()}"] .civic-cal-chip__link').first.focus()
        expect(page.locator(f'td[data-drop-date="{day.isoformat()}"] .civic-cal-preview').first).to_be_visible()
        axe.check(page, f"month-preview-{width}")
        page.keyboard.press("Escape")
        expect(page.locator(f'td[data-drop-date="{day.isoformat()}"] .civic-cal-preview').first).to_be_hidden()
        page.locator("summary", has_text="Filters").click()
        expect(page.get_by_label("Department")).to_be_visible()
        axe.check(page, f"month-filter-panel-{width}")

    # On a phone the calendar opens on the agenda.
    page.set_viewport_size(PHONE)
    page.goto(f"{base}/calendar/")
    expect(page).to_have_url(re.compile(r"/calendar/agenda/\?"))
    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
