"""The whole loop in a real browser: Alice composes and submits, Bob approves, the post is published
to the Sandbox, and every page on the way passes an axe scan for WCAG 2.1 A and AA."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from scheduler.models import Delivery, Post, PostStatus, SandboxPost
from scheduler.publishing import dispatch_tick
from scheduler.tasks import enqueue_publish
from tests.browser.conftest import open_menu
from tests.conftest import Personas
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str, email: str, axe=None) -> None:
    page.goto(f"{base_url}/")
    assert "/accounts/login/" in page.url
    if axe is not None:
        axe.check(page, "sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base_url}/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("load")


def test_compose_approve_publish_walkthrough(live_server, browser_page, axe, settings):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    personas = Personas()
    page = browser_page
    base = live_server.url

    # Alice signs in and writes a post due a few minutes from now, in Chicago time.
    sign_in(page, base, personas.alice.email, axe)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    axe.check(page, "dashboard")

    open_menu(page, "Plan", "New post")
    expect(page.get_by_role("heading", level=1)).to_have_text("New post")
    axe.check(page, "compose")

    due = (timezone.now() + dt.timedelta(minutes=10)).astimezone(personas.parks.zone)
    page.get_by_label("Link (optional)").fill("https://www.example.gov/splash")
    # USWDS hides the real checkbox and draws its own; people click the label.
    page.locator("label", has_text="Parks on Sandbox (Sandbox)").click()
    page.get_by_label("Date").fill(due.strftime("%Y-%m-%d"))
    page.get_by_label("Time").fill(due.strftime("%H:%M"))
    # First without text: the form explains and keeps the rest.
    page.get_by_role("button", name="Save and submit for approval").click()
    expect(page.locator("#id_text-error")).to_have_text("Write the text of the post.")
    expect(page.get_by_label("Link (optional)")).to_have_value("https://www.example.gov/splash")
    expect(page.get_by_label("Parks on Sandbox (Sandbox)")).to_be_checked()
    axe.check(page, "compose-with-errors")

    text = "Splash pads open Saturday at 10 a.m. in every city park."
    page.get_by_label("Text of the post").fill(text)
    page.get_by_role("button", name="Save and submit for approval").click()
    expect(page.get_by_role("status").first).to_contain_text("sent for approval")
    expect(page.locator(".civic-post-status")).to_contain_text("Waiting for approval")
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    axe.check(page, "post-detail-submitted")
    sign_out(page)

    # Bob approves it from his queue.
    sign_in(page, base, personas.bob.email)
    open_menu(page, "Review", re.compile("Approvals queue"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Approvals queue")
    axe.check(page, "approvals-queue")
    page.get_by_role("link", name=re.compile("Splash pads open Saturday")).click()
    axe.check(page, "post-detail-review")
    page.get_by_label("Comment for the author").fill("Thanks, approved.")
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator(".civic-post-status")).to_contain_text("Approved and scheduled")
    expect(page.locator("#deliveries")).to_contain_text("Scheduled")
    axe.check(page, "post-detail-approved")

    # Time passes: the delivery becomes due and one dispatcher tick publishes it (eager tasks).
    past = timezone.now() - dt.timedelta(minutes=1)
    Delivery.objects.filter(post=post).update(due_at=past, next_attempt_at=past)
    report = dispatch_tick(enqueue=enqueue_publish)
    assert len(report.claimed) == 1

    # The open page notices by itself (htmx polls the delivery table while anything is pending).
    expect(page.locator("#deliveries")).to_contain_text("Published", timeout=15_000)
    link = page.get_by_role("link", name="View the post on Parks on Sandbox")
    expect(link).to_be_visible()
    page.reload()
    expect(page.locator(".civic-post-status")).to_contain_text("Finished publishing")
    axe.check(page, "post-detail-published")

    sandbox_post = SandboxPost.objects.get()
    assert sandbox_post.text == text
    page.get_by_role("link", name="View the post on Parks on Sandbox").click()
    page.wait_for_url(re.compile(rf"/sandbox/#sandbox-post-{sandbox_post.pk}$"))
    expect(page.locator(f"#sandbox-post-{sandbox_post.pk}")).to_contain_text(text)
    axe.check(page, "sandbox-timeline")

    open_menu(page, "Channels", "Channels")
    axe.check(page, "channels")
    page.get_by_role("link", name="CivicPost", exact=True).click()
    axe.check(page, "dashboard-approver")

    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
    assert len(axe.scanned) >= 10


def next_fall_back_sunday(after: dt.date) -> dt.date:
    """The first Sunday of November (when US clocks go back) that is still ahead."""
    for year in (after.year, after.year + 1):
        first = dt.date(year, 11, 1)
        sunday = first + dt.timedelta(days=(6 - first.weekday()) % 7)
        if sunday > after:
            return sunday
    raise AssertionError("unreachable")


def test_the_daylight_saving_question_is_accessible_and_works(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    sign_in(page, live_server.url, personas.alice.email)
    open_menu(page, "Plan", "New post")

    day = next_fall_back_sunday(timezone.now().date() + dt.timedelta(days=1))
    page.get_by_label("Text of the post").fill("Clocks go back tonight: enjoy the extra hour of sleep.")
    page.locator("label", has_text="Parks on Sandbox (Sandbox)").click()
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Time").fill("01:30")
    page.get_by_role("button", name="Save draft").click()

    expect(page.locator("#id_fold-error")).to_contain_text("1:30 AM happens twice")
    expect(page.get_by_label("Text of the post")).to_have_value(
        "Clocks go back tonight: enjoy the extra hour of sleep."
    )
    axe.check(page, "compose-daylight-saving-question")
    page.locator("label", has_text="Later (CST, UTC\N{MINUS SIGN}06:00)").click()
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Your draft was saved.")
    axe.check(page, "post-detail-draft")

    post = Post.objects.get()
    assert post.due_at == dt.datetime(day.year, day.month, day.day, 7, 30, tzinfo=dt.UTC)
    assert axe.problems == [], "\n".join(axe.problems)


def test_account_pages_share_the_layout_and_pass_axe(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    page = browser_page
    page.goto(f"{live_server.url}/accounts/password/reset/")
    expect(page.locator("main#main-content h1")).to_be_visible()
    axe.check(page, "password-reset")

    sign_in(page, live_server.url, personas.bob.email)
    for path, name in [
        ("/accounts/password/change/", "password-change"),
        ("/accounts/2fa/", "two-factor"),
        ("/accounts/email/", "email"),
        ("/accounts/logout/", "sign-out-confirmation"),
    ]:
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main#main-content h1")).to_be_visible()
        axe.check(page, name)
    assert axe.problems == [], "\n".join(axe.problems)
