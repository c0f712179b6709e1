"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CIVICPOST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WCAG_TAGS = {"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}
SCREENSHOT_DIR = Path(os.environ.get("CIVICPOST_SCREENSHOT_DIR", "/tmp/civicpost-screenshots"))  # noqa: S108


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A Chromium page. Skips without Chromium on a laptop; fails in CI, where it must run."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run the browser test: {CHROMIUM} is missing (apt install chromium).")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt install chromium, or set CIVICPOST_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test thread; the ORM calls the test makes between
    # page actions are still plain synchronous code. Set only for this test: a process-wide setting would
    # leak into `manage.py check --deploy` run by other tests.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
            # Inside Playwright's sync API the test's ORM calls run in their own context (asgiref's
            # Local follows contextvars), so they hold a database connection of their own: close it,
            # or PostgreSQL refuses to drop the test database at the end of the run.
            from django.db import connections

            connections.close_all()


class AxeChecker:
    """Runs axe-core on a page and collects WCAG 2.1 A/AA violations (the test asserts none)."""

    def __init__(self, prefix: str) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.prefix = prefix
        self.axe = Axe()
        self.scanned: list[str] = []
        self.problems: list[str] = []
        self.advice: list[str] = []  # best-practice findings outside WCAG A/AA, reported but not failed

    def check(self, page: object, name: str) -> None:
        page.wait_for_load_state("load")
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / f"{self.prefix}-{len(self.scanned):02d}-{name}.png"), full_page=True)
        results = self.axe.run(page)
        self.scanned.append(name)
        for violation in results.response["violations"]:
            targets = [", ".join(node["target"]) for node in violation["nodes"]]
            finding = f"{name}: {violation['id']} ({violation['help']}) at {targets}"
            if WCAG_TAGS & set(violation["tags"]):
                self.problems.append(finding)
            else:
                self.advice.append(finding)


@pytest.fixture
def axe(request: pytest.FixtureRequest) -> AxeChecker:
    """Scans pages with axe-core; screenshots of each scanned page go to SCREENSHOT_DIR."""
    return AxeChecker(prefix=request.node.name.removeprefix("test_")[:40])


def open_menu(page: object, group: str, link: object) -> None:
    """Follows a link of the main navigation: opens its group's menu (Plan, Review, ...), then the link. A
    group's name may end with what waits in it ("Review 3 waiting")."""
    name = re.compile(rf"^{re.escape(group)}( \d+ waiting)?$")
    page.get_by_role("navigation", name="Main").get_by_role("button", name=name).click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name=link, exact=isinstance(link, str)).click()
    page.wait_for_load_state("load")
