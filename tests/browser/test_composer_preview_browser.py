"""The composer's preview in a real browser: it updates as one types (the text as sent, its length, the link
card from the page's Open Graph tags), a hashtag the department used before is added with one press and
announced, and the page passes axe at desktop (1280 px) and phone (390 px) widths. The test prints how many
user actions it takes from signing in to a submitted post (a figure, not a timed test)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone

from scheduler.models import Post, PostStatus
from tests.browser.conftest import open_menu
from tests.browser.test_walkthrough import PASSWORD
from tests.conftest import Personas
from tests.factories import ChannelFactory, PostFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OG_PAGE = """<!doctype html><html lang="en"><head><title>Splash pads</title>
<meta property="og:title" content="Splash pads open Saturday">
<meta property="og:description" content="Hours and locations of every splash pad in the city.">
<meta property="og:site_name" content="City Parks">
</head><body></body></html>"""


class Actions:
    """Counts what the person does: each click, fill, key press or typed text is one action."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, locator_action: object) -> object:
        self.count += 1
        return locator_action


def test_the_preview_follows_the_typing_and_the_page_passes_axe_on_desktop_and_phone(
    live_server, browser_page, axe, settings, httpserver
):
    from playwright.sync_api import expect

    cache.clear()
    settings.SITE_URL = live_server.url
    settings.CIVICPOST_ALLOW_LOOPBACK_PLATFORMS = True  # the page of the link is served on 127.0.0.1 here
    httpserver.expect_request("/splash-pads").respond_with_data(OG_PAGE, content_type="text/html")
    link = httpserver.url_for("/splash-pads")
    personas = Personas()
    facebook = ChannelFactory(department=personas.parks, platform="facebook", display_name="Parks on Facebook")
    PostFactory(department=personas.parks, text="Pools open #SplashPads", status=PostStatus.PUBLISHED)
    PostFactory(department=personas.library, text="Card drive #LibraryCard", status=PostStatus.PUBLISHED)
    page = browser_page
    act = Actions()

    # Sign in and open the composer from the menu.
    page.goto(f"{live_server.url}/")
    act(page.get_by_label("Email").fill(personas.alice.email))
    act(page.get_by_label("Password").fill(PASSWORD))
    act(page.get_by_role("button", name="Sign in").click())
    page.wait_for_url(f"{live_server.url}/")
    open_menu(page, "Plan", "New post")
    act.count += 2  # the menu button and the link
    expect(page.get_by_role("heading", level=1)).to_have_text("New post")

    # Choose the channels: the preview appears beside the text.
    for name in ("Parks on Sandbox (Sandbox)", "Parks on Facebook (Facebook Page)"):
        box = page.get_by_role("checkbox", name=name)
        act(page.locator(f"label[for='{box.get_attribute('id')}']").click())  # USWDS draws the box on the label
        expect(box).to_be_checked()
    sandbox = page.get_by_role("article", name="Preview on Parks on Sandbox")
    expect(page.get_by_role("article", name="Preview on Parks on Facebook")).to_be_visible()

    # The preview follows the typing, with the length as it grows.
    text = page.locator("#id_text")
    act(text.press_sequentially("Splash pads open", delay=20))
    expect(sandbox).to_contain_text("Splash pads open")
    expect(sandbox).to_contain_text("16 of 500 characters")
    act(text.press_sequentially(" Saturday at 10 a.m.", delay=20))
    expect(sandbox).to_contain_text("Splash pads open Saturday at 10 a.m.")
    expect(sandbox).to_contain_text("36 of 500 characters")
    assert page.locator("#composer-preview").bounding_box()["x"] > text.bounding_box()["x"] + 300  # beside it

    # The link: Facebook's preview shows the page's card (its Open Graph tags).
    act(page.get_by_label("Link (optional)").fill(link))
    card = page.get_by_role("article", name="Preview on Parks on Facebook").locator(".civic-preview__card")
    expect(card).to_contain_text("Splash pads open Saturday")
    expect(card).to_contain_text("Hours and locations of every splash pad in the city.")

    # A hashtag of Parks' earlier posts (never the Library's) is added with one press, and announced.
    hashtags = page.locator("#composer-hashtags")
    expect(hashtags.get_by_role("button", name="#SplashPads")).to_be_visible()
    expect(hashtags).not_to_contain_text("#LibraryCard")
    axe.check(page, "compose-preview-desktop")
    act(hashtags.get_by_role("button", name="#SplashPads").click())
    expect(text).to_have_value("Splash pads open Saturday at 10 a.m. #SplashPads")
    expect(text).to_be_focused()
    expect(page.locator("[data-hashtag-status]")).to_have_text("#SplashPads was added to the end of the text.")
    expect(sandbox).to_contain_text("Splash pads open Saturday at 10 a.m. #SplashPads")

    # On a phone the preview follows the form; the page passes axe there too.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(sandbox).to_be_visible()
    axe.check(page, "compose-preview-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    due = (timezone.now() + dt.timedelta(days=20)).astimezone(personas.parks.zone)
    act(page.locator("#id_publish_date").fill(due.strftime("%Y-%m-%d")))
    act(page.locator("#id_publish_time").fill("10:00"))
    act(page.get_by_role("button", name="Save and submit for approval").click())
    expect(page.locator(".civic-post-status")).to_contain_text("Waiting for approval")

    post = Post.objects.get(author=personas.alice)
    assert post.status == PostStatus.SUBMITTED
    assert post.text == "Splash pads open Saturday at 10 a.m. #SplashPads"
    assert set(post.channels.values_list("pk", flat=True)) == {personas.parks_channel.pk, facebook.pk}
    print(f"\nUser actions from sign-in to a submitted post (link and hashtag included): {act.count}")
    assert axe.problems == [], "\n".join(axe.problems)
