import pytest
from tests.browser.test_walkthrough import sign_in
from tests.conftest import Personas
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_debug(live_server, browser_page, settings):
    settings.SITE_URL = live_server.url
    p = Personas()
    page = browser_page
    sign_in(page, live_server.url, p.alice.email)
    page.goto(f"{live_server.url}/posts/new/")
    page.locator("#id_text").focus()
    page.keyboard.type("Hello there")
    page.wait_for_timeout(1500)
    print(page.evaluate("document.activeElement.id"), page.evaluate("document.getElementById('id_upload').outerHTML"))
    page.locator("#id_upload").focus()
    for key in ("Space", "Enter"):
        try:
            with page.expect_file_chooser(timeout=3000) as fc:
                page.keyboard.press(key)
            print("chooser with", key)
            break
        except Exception as e:
            print("no chooser with", key, type(e).__name__)
    page.locator("#id_upload").focus()
    try:
        with page.expect_file_chooser(timeout=3000) as fc:
            page.locator("#id_upload").click()
        print("chooser with click")
    except Exception as e:
        print("no chooser with click", type(e).__name__)
