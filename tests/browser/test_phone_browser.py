"""At phone width (390 px) (issue 11, item 31): the cancel dialog does not scroll sideways, the calendar
opens on the agenda with its filters folded so the posts start within the first screen, a person's
choice of the month view is kept, wide screens keep the month grid with open filters, and axe finds
no WCAG 2.1 A/AA violation on any of these pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from scheduler import services
from tests.browser.test_calendar_browser import CHICAGO, local, sign_in_as
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_LINK = "https://www.example.gov/parks/summer/pools/opening-day-information-for-residents-and-visitors"


def sideways_scroll(page) -> int:  # noqa: ANN001
    """How many pixels the page scrolls sideways (0: it fits the screen)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def calendar_top(page) -> float:  # noqa: ANN001
    return page.evaluate("document.querySelector('#calendar-region').getBoundingClientRect().top + window.scrollY")


def test_at_phone_width_nothing_scrolls_sideways_and_the_calendar_comes_first(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    page.set_viewport_size(PHONE)
    base = live_server.url
    day = timezone.now().astimezone(CHICAGO).date() + dt.timedelta(days=3)
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Pools open at nine on Saturday. Bring a towel, water and sunscreen.",
        link=LONG_LINK,
        channels=[personas.parks_channel],
        due_at=local(day, 9),
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    sign_in_as(page, base, personas.alice)

    # The cancel dialog on the post page.
    page.goto(f"{base}/posts/{post.pk}/")
    page.get_by_text("Cancel this post…").click()
    expect(page.get_by_role("button", name="Yes, cancel this post")).to_be_visible()
    assert sideways_scroll(page) == 0
    axe.check(page, "phone-cancel-dialog")

    # The calendar from the menu: the agenda, filters folded, posts within the first screen.
    page.goto(f"{base}/calendar/")
    expect(page).to_have_url(re.compile(r"/calendar/agenda/\?"))
    expect(page.locator("#calendar-region")).to_contain_text("Pools open at nine")
    filters = page.locator("details[data-cal-filters]")
    expect(filters).not_to_have_attribute("open", "")
    expect(page.get_by_label("Department")).to_be_hidden()
    agenda_top = calendar_top(page)
    assert agenda_top < PHONE["height"]
    assert sideways_scroll(page) == 0
    axe.check(page, "phone-calendar-agenda")

    # The filters open with one tap and still work.
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Department").select_option(label="Parks and Recreation")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(rf"/calendar/agenda/\?.*department={personas.parks.pk}"))
    expect(page.locator("#calendar-region")).to_contain_text("Pools open at nine")

    # Choosing the month view is respected, now and the next time the calendar opens.
    page.get_by_role("link", name="Month", exact=True).click()
    expect(page).to_have_url(re.compile(r"/calendar/\?month="))
    expect(page.locator("details[data-cal-filters]")).not_to_have_attribute("open", "")
    month_top = calendar_top(page)
    assert month_top < PHONE["height"]
    assert sideways_scroll(page) == 0
    axe.check(page, "phone-calendar-month")
    page.goto(f"{base}/calendar/")
    expect(page).to_have_url(re.compile(r"/calendar/(\?|$)"))
    expect(page.get_by_role("table")).to_be_visible()

    print(f"\nAt 390 px the calendar starts {agenda_top:.0f} px down (agenda), {month_top:.0f} px (month)")  # noqa: T201
    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)


def test_on_a_wide_screen_the_calendar_opens_on_the_month_with_its_filters_one_click_away(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    sign_in_as(page, live_server.url, personas.alice)
    page.goto(f"{live_server.url}/calendar/")
    expect(page).to_have_url(re.compile(r"/calendar/(\?|$)"))
    expect(page.get_by_role("table")).to_be_visible()
    # Issue 19: the filters are a bar that opens its panel only when asked, on every screen.
    expect(page.get_by_label("Department")).to_be_hidden()
    page.get_by_text("Filters", exact=True).click()
    expect(page.get_by_label("Department")).to_be_visible()
