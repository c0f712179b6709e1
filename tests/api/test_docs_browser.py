"""Swagger UI at /api/docs/ in a real browser: it renders the API from CivicPost's own static files and
trips nothing in the site's Content Security Policy (no script, style or font blocked)."""

from __future__ import annotations

import pytest

from tests.accounts.test_csp_browser import LISTEN, sign_in, violations
from tests.browser.conftest import axe, browser_page  # noqa: F401 - the Chromium and axe fixtures
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


def test_a_person_creates_copies_and_revokes_a_token_on_an_accessible_page(live_server, browser_page, axe):  # noqa: F811
    from playwright.sync_api import expect

    from api.models import ApiToken

    page = browser_page
    page.add_init_script(LISTEN)
    personas = Personas()
    sign_in(page, live_server.url, personas.alice.email)
    page.goto(f"{live_server.url}/accounts/security/")
    page.get_by_role("link", name="Manage API tokens").click()
    axe.check(page, "api-tokens")
    page.get_by_label("Name").fill("Road closures (311)")
    page.get_by_text("Write and change drafts").click()  # the USWDS label: the native box is hidden
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("new-token").inner_text()
    assert secret.startswith("cpt_")
    axe.check(page, "api-token-created")
    assert sorted(ApiToken.objects.get(user=personas.alice).scopes) == ["draft", "read"]
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("revoked: it no longer works")).to_be_visible()
    assert ApiToken.objects.get(user=personas.alice).revoked_at is not None
    assert violations(page) == []
    assert axe.problems == [], axe.problems
