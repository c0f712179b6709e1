"""The public-records archive in a real browser (issue 14): the records officer's archive, a record, the
records-request page and an export's progress page pass an axe scan (WCAG 2.1 A and AA); the export runs to
the download button from the keyboard."""

from __future__ import annotations

import re

import pytest

from archive.services import archive_capture
from departments.models import CityRole, CityRoleName
from tests.archive.helpers import publish
from tests.browser.conftest import open_menu
from tests.browser.test_calendar_browser import sign_in_as
from tests.factories import UserFactory
from tests.governance.city import City

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_clerk_browses_the_archive_and_exports_a_records_request(live_server, browser_page, axe) -> None:
    city = City()
    publish(city, text="Pool opens Monday")
    publish(city, text="Story time moves", channels=[city.library_channel], author=city.carol, approver=city.dana)
    archive_capture()
    clerk = UserFactory(username="clara")
    CityRole.objects.create(user=clerk, role=CityRoleName.RECORDS_OFFICER)
    page = browser_page
    sign_in_as(page, live_server.url, clerk)

    page.goto(f"{live_server.url}/")
    open_menu(page, "Records", "Archive")
    page.wait_for_url(re.compile(r"/records/$"))
    assert page.get_by_text("2 records").is_visible()
    axe.check(page, "archive-index")

    page.get_by_role("link", name="#1").click()
    page.wait_for_url(re.compile(r"/records/entries/1/$"))
    assert page.get_by_text("Pool opens Monday").is_visible()
    axe.check(page, "archive-entry")

    page.goto(f"{live_server.url}/records/exports/")
    axe.check(page, "archive-exports")
    page.get_by_label("Request reference").fill("PRR-2026-12")
    page.get_by_label("Keywords").fill("pool")
    page.get_by_label("Keywords").press("Enter")
    page.wait_for_url(re.compile(r"/records/exports/[0-9a-f-]{36}/$"))
    download = page.get_by_role("link", name="Download the bundle (ZIP)")
    download.wait_for()
    assert page.get_by_text("1 of 1 records").is_visible()
    axe.check(page, "archive-export-done")

    for name in ("Retention", "Legal holds", "Disposition"):
        page.get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state()
        axe.check(page, f"archive-{name.lower().replace(' ', '-')}")

    assert axe.problems == [], "\n".join(axe.problems)
