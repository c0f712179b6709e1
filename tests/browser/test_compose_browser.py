"""The composer in a real browser, with the keyboard only: write, see the length per channel, add an image
and its alt text, submit; every page passes an axe scan for WCAG 2.1 A and AA. Then the safety nets:
autosave makes the draft without leaving the page, and text typed before a session expired comes back."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from medialibrary.models import MediaAsset
from scheduler.models import Post, PostStatus
from tests.browser.test_walkthrough import sign_in
from tests.conftest import Personas
from tests.medialibrary.helpers import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = "Splash pads open Saturday at 10 a.m. in every city park. Bring sunscreen and water."
ALT = "Two children running through the water jets of a splash pad on a sunny day."


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def tab_to(page, selector: str, *, limit: int = 120, backwards: bool = False) -> None:  # noqa: ANN001
    """Presses Tab (or Shift+Tab) until the element matching `selector` has the focus, as a keyboard user
    does; fails if it is never reached (so it must be reachable by keyboard)."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def choose_file_with_the_keyboard(page, path: str) -> None:  # noqa: ANN001
    """Opens the focused file field's chooser with Space (or Enter, the other key browsers accept) and
    picks the file there, as a keyboard user does in the system dialog."""
    for key in ("Space", "Enter", "Space"):
        try:
            with page.expect_file_chooser(timeout=4000) as chooser:
                page.keyboard.press(key)
        except Exception:  # noqa: BLE001, S112 - Playwright's TimeoutError: try the next key
            continue
        chooser.value.set_files(path)
        return
    raise AssertionError("The file field does not open its chooser from the keyboard")


def future_local(personas: Personas, days: int = 20) -> dt.datetime:
    return (timezone.now() + dt.timedelta(days=days)).astimezone(personas.parks.zone)


def test_compose_with_an_image_and_alt_text_using_only_the_keyboard(live_server, browser_page, axe, settings, tmp_path):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    personas = Personas()
    page = browser_page
    picture = tmp_path / "splash-pad.jpg"
    picture.write_bytes(image_bytes("JPEG", size=(800, 600), gps=True))

    sign_in(page, live_server.url, personas.alice.email)
    page.goto(f"{live_server.url}/posts/new/")
    expect(page.get_by_role("heading", level=1)).to_have_text("New post")
    axe.check(page, "compose-empty")

    # From the top of the page, Tab to the text, type it.
    page.locator("body").focus()
    tab_to(page, "#id_text")
    page.keyboard.type(TEXT)
    # Tab on to the channel and tick it with the space bar.
    tab_to(page, 'input[name="channels"]')
    page.keyboard.press("Space")
    expect(page.locator('input[name="channels"]')).to_be_checked()
    # The live check (htmx, after a short pause) shows the length on the channel and a preview.
    expect(page.locator("#composer-counts")).to_contain_text(f"Parks on Sandbox: {len(TEXT)} / 500")
    expect(page.locator("#composer-preview")).to_contain_text("Splash pads open Saturday")

    # The file field opens the file chooser from the keyboard; then Tab to the upload button.
    tab_to(page, "#id_upload")
    choose_file_with_the_keyboard(page, str(picture))
    tab_to(page, 'button[value="upload"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")

    # Back on the form, with everything kept and the focus on the new image's alt text.
    asset = MediaAsset.objects.get()
    expect(page.locator(".civic-composer__notice")).to_contain_text("splash-pad.jpg was added.")
    expect(page.locator(f"#id_alt_{asset.pk}")).to_be_focused()
    expect(page.locator("#id_text")).to_have_value(TEXT)
    expect(page.locator('input[name="channels"]')).to_be_checked()
    expect(page.locator("#composer-counts")).to_contain_text(
        "Every image needs alt text, so residents who use screen readers get the message."
    )
    axe.check(page, "compose-image-without-alt-text")
    page.keyboard.type(ALT)
    expect(page.locator("#composer-preview img")).to_have_attribute("alt", ALT)

    # The date and time: each part of the fields is its own Tab stop in Chromium.
    due = future_local(personas)
    tab_to(page, "#id_publish_date")
    page.keyboard.type(due.strftime("%m%d%Y"))
    tab_to(page, "#id_publish_time")
    page.keyboard.type("1000AM")
    tab_to(page, 'button[name="submit"]')
    axe.check(page, "compose-ready")
    page.keyboard.press("Enter")

    expect(page.locator(".civic-post-status")).to_contain_text("Waiting for approval")
    post = Post.objects.get()
    assert post.status == PostStatus.SUBMITTED
    assert post.text == TEXT
    assert [(m.asset_id, m.alt_text) for m in post.media_items.all()] == [(asset.pk, ALT)]
    assert post.due_at.astimezone(personas.parks.zone).strftime("%Y-%m-%d %H:%M") == due.strftime("%Y-%m-%d 10:00")
    expect(page.locator(".civic-media-item img")).to_have_attribute("alt", ALT)
    axe.check(page, "post-detail-with-image")

    page.goto(f"{live_server.url}/posts/{post.pk}/versions/")
    axe.check(page, "versions")
    page.goto(f"{live_server.url}/media-library/")
    axe.check(page, "media-library")

    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)


def test_autosave_makes_the_draft_and_a_copy_survives_an_expired_session(live_server, browser_page, axe, settings):
    from playwright.sync_api import expect

    settings.SITE_URL = live_server.url
    personas = Personas()
    page = browser_page
    sign_in(page, live_server.url, personas.alice.email)
    page.goto(f"{live_server.url}/posts/new/")
    due = future_local(personas)

    page.get_by_label("Text of the post").fill("Library story time moves to the park this week.")
    page.locator("label", has_text="Parks on Sandbox (Sandbox)").click()
    page.get_by_label("Date").fill(due.strftime("%Y-%m-%d"))
    page.get_by_label("Time").fill("09:30")
    expect(page.locator("#composer-counts")).to_contain_text("Parks on Sandbox: 47 / 500")
    # Autosave runs every 10 seconds when something changed; ask for it now instead of waiting.
    page.evaluate("document.querySelector('form[data-composer]').dispatchEvent(new Event('civic:autosave-now'))")
    expect(page.locator("#autosave-status")).to_contain_text("Draft saved automatically at")
    post = Post.objects.get()
    assert post.status == PostStatus.DRAFT
    expect(page).to_have_url(re.compile(rf"/posts/{post.pk}/edit/$"))
    assert page.evaluate("document.querySelector('form[data-composer]').action").endswith(f"/posts/{post.pk}/edit/")

    # More typing, then the session ends before it is saved.
    page.get_by_label("Text of the post").fill("Library story time moves to Lincoln Park this week, 10 a.m.")
    page.context.clear_cookies()
    page.reload()
    assert "/accounts/login/" in page.url
    page.get_by_label("Email").fill(personas.alice.email)
    page.get_by_label("Password").fill("correct horse battery staple 42")
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/posts/{post.pk}/edit/")

    # The browser kept a copy: the page offers it back.
    restore = page.locator("[data-composer-restore]")
    expect(restore).to_be_visible()
    expect(restore.get_by_role("heading")).to_be_focused()
    axe.check(page, "compose-restore-offer")
    page.keyboard.press("Tab")
    expect(restore.get_by_role("button", name="Bring back what I typed")).to_be_focused()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_label("Text of the post")).to_have_value(
        "Library story time moves to Lincoln Park this week, 10 a.m."
    )
    expect(page.locator(".civic-composer__notice")).to_contain_text("What you typed earlier is back in the form.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_role("status").first).to_contain_text("Your changes were saved.")
    post.refresh_from_db()
    assert post.text == "Library story time moves to Lincoln Park this week, 10 a.m."
    # Saved: the copy is dropped, so opening the page again offers nothing.
    page.goto(f"{live_server.url}/posts/{post.pk}/edit/")
    expect(page.locator("[data-composer-restore]")).to_be_hidden()
    assert axe.problems == [], "\n".join(axe.problems)
