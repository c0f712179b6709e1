"""The audit trail in a real browser (issue 6): the page passes an axe scan (WCAG 2.1 A and AA) with its
filters, table and pages; the filters work from the keyboard and the address keeps them; the CSV link
downloads the filtered events."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record
from departments.models import Role
from scheduler import services
from tests.browser.conftest import open_menu
from tests.browser.test_calendar_browser import sign_in_as
from tests.factories import member
from tests.governance.city import City

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_history(city: City) -> None:
    """A Parks post written and edited, a Library post, sign-ins, and enough token refreshes for 2 pages."""
    post = services.post_create(
        author=city.alice,
        department=city.parks,
        text="Pool opens Monday",
        channels=[city.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    services.post_update(
        post=post,
        user=city.alice,
        text="Pool opens Tuesday",
        link="",
        channels=[city.parks_channel],
        due_at=post.due_at,
    )
    services.post_create(
        author=city.carol,
        department=city.library,
        text="Story time moves to the annex",
        channels=[city.library_channel],
        due_at=timezone.now() + dt.timedelta(days=2),
    )
    audit_record(action=AuditAction.SIGN_IN, actor=city.ivan)
    for number in range(55):
        audit_record(
            action=AuditAction.CHANNEL_TOKEN_REFRESHED, department_id=city.parks.pk, message=f"refresh {number}"
        )


def test_a_department_admin_filters_the_trail_by_keyboard_and_downloads_it(live_server, browser_page, axe) -> None:
    city = City()
    a_history(city)
    page = browser_page
    sign_in_as(page, live_server.url, city.pat)

    page.goto(f"{live_server.url}/")
    open_menu(page, "Records", "Audit trail")
    page.wait_for_url(re.compile(r"/audit/$"))
    assert page.get_by_role("heading", name="Audit trail", level=1).is_visible()
    assert page.get_by_text("57 events").is_visible()  # Parks only: the post created and edited, 55 refreshes
    axe.check(page, "audit-trail")

    page.get_by_label("What happened").select_option(label="Post edited")
    page.get_by_label("Who").fill("alice")
    page.get_by_label("Who").press("Enter")
    page.wait_for_url(re.compile(r"actor=alice"))
    assert page.get_by_text("1 event").is_visible()
    row = page.locator("tbody tr")
    assert row.count() == 1
    assert "Before: Pool opens Monday" in row.inner_text()
    assert "After: Pool opens Tuesday" in row.inner_text()
    assert "Story time" not in page.content()
    axe.check(page, "audit-trail-filtered")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these events (CSV)").click()
    download = download_info.value
    assert re.fullmatch(r"civicpost-audit-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))  # noqa: SIM115
    assert [row[3] for row in rows[1:]] == ["post.edited"]

    # The object reads as the post's words and opens the post's page.
    row.get_by_role("link", name=re.compile(r"^Post “Pool opens Tuesday” #\d+$")).focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/posts/\d+/$"))

    assert axe.problems == [], "\n".join(axe.problems)


def test_the_it_admin_pages_through_every_event(live_server, browser_page, axe) -> None:
    city = City()
    a_history(city)
    member("libby", city.library, Role.ADMIN)
    page = browser_page
    sign_in_as(page, live_server.url, city.ivan)

    page.goto(f"{live_server.url}/audit/")
    assert page.get_by_text("page 1 of 2").is_visible()
    assert page.get_by_role("cell", name="City-wide").first.is_visible()
    axe.check(page, "audit-trail-it-admin")

    page.get_by_role("link", name="Older").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"page=2"))
    assert page.get_by_text("page 2 of 2").is_visible()
    assert page.get_by_role("link", name="Page 2").get_attribute("aria-current") == "page"
    axe.check(page, "audit-trail-page-2")

    assert axe.problems == [], "\n".join(axe.problems)
