"""The Content Security Policy in a real browser: Chromium reports every violation (a
`securitypolicyviolation` event, listened to before any page script runs) while people use the pages
that run scripts: USWDS's menu, htmx polling and its form posts, the calendar, allauth's TOTP QR code
(a data: image) and its security-key page. None may be blocked."""

from __future__ import annotations

import pytest

from scheduler.models import Delivery, DeliveryStatus
from tests.accounts.conftest import give_totp, totp_code
from tests.browser.conftest import browser_page  # noqa: F401 - the Chromium fixture
from tests.conftest import Personas
from tests.factories import PASSWORD, ChannelFactory, member
from tests.scheduler import approved_post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} `
    + `at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


def violations(page) -> list[str]:  # noqa: ANN001
    return page.evaluate("window.__cspViolations || []")


def sign_in(page, base: str, email: str) -> None:  # noqa: ANN001
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def test_no_page_trips_the_content_security_policy(live_server, browser_page, settings):  # noqa: F811
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    settings.CIVICPOST_REQUIRE_MFA = True
    page = browser_page
    page.add_init_script(LISTEN)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    base = live_server.url
    personas = Personas()
    admin = member("ada", personas.parks, "admin")
    secret = give_totp(admin)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    assert Delivery.objects.get(post=post).status == DeliveryStatus.SCHEDULED
    feed = ChannelFactory(department=personas.parks, platform="feed", display_name="Parks news")
    seen: dict[str, list[str]] = {}

    def visit(path: str) -> None:
        page.goto(f"{base}{path}")
        page.wait_for_load_state("load")
        seen[path] = violations(page)

    visit("/accounts/login/")
    # Bob approves, so he is sent to set up MFA: the QR code (a data: image) must show.
    sign_in(page, base, personas.bob.email)
    visit("/accounts/2fa/totp/activate/")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(f"{base}/accounts/2fa/totp/activate/")
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())
    seen["totp-activate"] = violations(page)
    visit("/accounts/2fa/webauthn/add/")
    # allauth's script took over the "Add" button (it is a plain button otherwise).
    expect(page.locator("#mfa_webauthn_add")).to_be_visible()
    seen["webauthn-add"] = violations(page)
    assert page.evaluate("typeof window.allauth === 'object' && typeof window.allauth.webauthn === 'object'")

    # An admin with MFA: the app's pages, htmx polling on the post page, an htmx form post.
    page.context.clear_cookies()
    sign_in(page, base, admin.email)
    assert page.url == f"{base}/accounts/2fa/authenticate/"
    seen["mfa-authenticate"] = violations(page)
    page.locator("input[name=code]").fill(totp_code(secret))
    page.locator("input[name=code]").press("Enter")
    page.wait_for_url(f"{base}/")
    for path in (
        "/",
        "/calendar/",
        "/calendar/week/",
        "/calendar/agenda/",
        f"/posts/{post.pk}/",
        "/channels/",
        "/accounts/security/",
        "/accounts/sessions/",
    ):
        visit(path)
    # The scheduled delivery makes the table poll every 5 s through htmx.
    requests_seen: list[str] = []
    page.on("request", lambda request: requests_seen.append(request.url))
    page.goto(f"{base}/posts/{post.pk}/")
    page.wait_for_timeout(11_000)
    assert any("/deliveries/" in url for url in requests_seen), requests_seen
    seen["htmx-poll"] = violations(page)
    page.goto(f"{base}/channels/connect/channel/{feed.pk}/")
    with page.expect_response(lambda response: "/test/" in response.url) as answer:
        page.get_by_role("button", name="Test connection").click()
    assert answer.value.request.headers.get("hx-request") == "true"
    seen["htmx-post"] = violations(page)
    # USWDS's mobile menu (its JavaScript toggles classes and styles).
    page.set_viewport_size({"width": 400, "height": 800})
    page.goto(f"{base}/")
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Account & security")).to_be_visible()
    seen["uswds-menu"] = violations(page)

    blocked = {where: found for where, found in seen.items() if found}
    assert blocked == {}
    assert not [line for line in console if "Content Security Policy" in line], console
