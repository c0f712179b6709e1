"""The analytics pages in a real browser (issue 13): a department admin opens the figures from the main
navigation (SVG charts with their data tables), the channel health on the channels page (loaded by htmx), the
composer's best time; a communications manager opens the city's figures. Every page passes an axe scan for
WCAG 2.1 A and AA."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from departments.models import CityRole, CityRoleName, Role
from scheduler.models import ChannelStatus
from tests.analytics.history import published_history
from tests.browser.conftest import open_menu
from tests.browser.test_walkthrough import sign_in
from tests.conftest import Personas
from tests.factories import ChannelFactory, UserFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_figures_channel_health_and_best_time_pass_axe(live_server, browser_page, axe, settings):
    from playwright.sync_api import expect

    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 3
    personas = Personas()
    pat = member("pat", personas.parks, Role.ADMIN)
    manager = UserFactory(username="max")
    CityRole.objects.create(user=manager, role=CityRoleName.COMMUNICATIONS_MANAGER)
    now = timezone.now()
    second = ChannelFactory(department=personas.parks, display_name="Parks Events on Sandbox")
    ChannelFactory(department=personas.parks, display_name="Parks old account", status=ChannelStatus.NEEDS_RECONNECT)
    published_history(
        personas,
        personas.parks_channel,
        [
            {
                "published_at": now - dt.timedelta(days=n, hours=n % 5),
                "likes": 10 + n,
                "link": "https://city.example" if n % 2 else "",
            }
            for n in range(1, 12)
        ],
        followers=4000,
    )
    published_history(
        personas,
        second,
        [{"published_at": now - dt.timedelta(days=n), "likes": 3 + n} for n in range(1, 6)],
        followers=300,
    )

    page = browser_page
    sign_in(page, live_server.url, pat.email)
    open_menu(page, "Records", "Figures")
    expect(page.get_by_role("heading", level=1)).to_have_text("Figures of Parks and Recreation")
    expect(page.get_by_role("img", name="Engagement per 1,000 followers, by channel")).to_be_visible()
    expect(
        page.get_by_role("table", name="Data of the chart: Engagement per 1,000 followers, by channel")
    ).to_be_visible()
    axe.check(page, "department-figures")

    open_menu(page, "Channels", "Channels")
    expect(page.get_by_role("heading", name="Channel health")).to_be_visible()
    expect(page.get_by_role("link", name="Reconnect — Parks old account")).to_be_visible()
    axe.check(page, "channels-with-health")

    open_menu(page, "Plan", "New post")
    expect(page.locator("#best-times")).to_contain_text("Best time for Parks and Recreation, from its own history")
    axe.check(page, "composer-best-time")

    page.context.clear_cookies()
    sign_in(page, live_server.url, manager.email)
    open_menu(page, "Records", "Figures")
    expect(page.get_by_role("heading", level=1)).to_have_text("Figures of the city")
    axe.check(page, "city-figures")

    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
