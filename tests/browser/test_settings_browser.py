"""Department settings and a channel's language in a real browser (issue 4): the department admin finds the
settings from "People and policies", ticks a language and fixes a refused grade with the keyboard (what
was typed stays), sets a channel's language, and every page passes an axe scan for WCAG 2.1 A and AA."""

from __future__ import annotations

import re

import pytest

from departments.models import Department, Role
from tests.browser.conftest import open_menu
from tests.browser.test_compose_browser import tab_to
from tests.browser.test_walkthrough import sign_in
from tests.conftest import Personas
from tests.factories import ChannelFactory, member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_department_admin_sets_languages_grade_zone_and_a_channels_language(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    personas.parks.languages = ["en", "es"]
    personas.parks.save()
    pat = member("pat", personas.parks, Role.ADMIN)
    spanish_channel = ChannelFactory(department=personas.parks, display_name="Parques en Sandbox")
    page = browser_page
    sign_in(page, live_server.url, pat.email)

    open_menu(page, "Admin", "People and policies")
    axe.check(page, "people-and-policies")
    page.get_by_role("link", name="Languages, time zone and plain language").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings of Parks and Recreation")
    expect(page.get_by_label("Spanish")).to_be_checked()
    axe.check(page, "department-settings")

    # Keyboard only: tick Vietnamese, type a grade that is not a number, send with Enter.
    tab_to(page, "input[name=languages][value=vi]")
    page.keyboard.press("Space")
    tab_to(page, "#id_plain_language_grade")
    page.keyboard.press("Control+A")
    page.keyboard.type("eight")
    page.keyboard.press("Enter")
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Give the grade as a whole number, such as 8.")
    expect(summary).to_be_focused()
    expect(page.get_by_label("Vietnamese")).to_be_checked()
    expect(page.get_by_label("Spanish")).to_be_checked()
    expect(page.locator("#id_plain_language_grade")).to_have_value("eight")
    axe.check(page, "department-settings-refused")

    page.locator("#id_plain_language_grade").fill("6")
    page.get_by_label("Time zone").select_option("America/Denver")
    page.get_by_text("Each language on the channels set to that language", exact=True).click()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".usa-alert--success, .usa-alert--info").first).to_contain_text(
        "The settings of Parks and Recreation were saved."
    )
    parks = Department.objects.get(pk=personas.parks.pk)
    assert (parks.languages, parks.plain_language_grade, parks.time_zone, parks.language_publishing) == (
        ["en", "es", "vi"],
        6,
        "America/Denver",
        "language_channels",
    )

    # The channel's language, from the list of channels on the settings page.
    page.get_by_role("link", name="Parques en Sandbox").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Parques en Sandbox")
    axe.check(page, "channel-language")
    page.get_by_label("Language of this channel").select_option("es")
    page.get_by_role("button", name="Save language").click()
    expect(page.get_by_text("The language of Parques en Sandbox was saved.")).to_be_visible()
    expect(page.locator("dl.civic-facts").first).to_contain_text(re.compile(r"Language\s*Spanish"))
    axe.check(page, "channel-language-saved")
    spanish_channel.refresh_from_db()
    assert spanish_channel.options["language"] == "es"

    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
