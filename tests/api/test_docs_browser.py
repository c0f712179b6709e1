"""Swagger UI at /api/docs/ in a real browser: it renders the API from CivicPost's own static files and
trips nothing in the site's Content Security Policy (no script, style or font blocked)."""

from __future__ import annotations

import pytest

from tests.accounts.test_csp_browser import LISTEN, sign_in, violations
from tests.browser.conftest import browser_page  # noqa: F401 - the Chromium fixture
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_swagger_ui_renders_within_the_content_security_policy(live_server, browser_page):  # noqa: F811
    from playwright.sync_api import expect

    page = browser_page
    page.add_init_script(LISTEN)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    personas = Personas()
    sign_in(page, live_server.url, personas.alice.email)
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("CivicPost API").first).to_be_visible(timeout=15_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/posts/").first).to_be_visible()
    assert violations(page) == []
    assert all(url.startswith(live_server.url) for url in requests), [u for u in requests if live_server.url not in u]
