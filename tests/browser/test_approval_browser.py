"""The approval queue in a browser (issue 19): three posts approved from the queue at once (by pointer and by
keyboard, with the count of user actions printed), approving at phone width (390 px) from the queue and from
the post page, and axe finding no WCAG 2.1 A/AA violation at 1280 px and 390 px."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from scheduler import services
from scheduler.models import Post, PostStatus
from tests.browser.test_calendar_browser import sign_in_as
from tests.conftest import Personas

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TEXTS = [
    "Pools open at nine on Saturday. Bring a towel, water and sunscreen.",
    "The Riverside trail is closed Tuesday for repairs; use the Oak Street path.",
    "Free tree saplings at the Parks office this Friday while supplies last.",
    "Summer camp sign-up opens Monday at 8 a.m. on the city website.",
]


def waiting_posts(personas: Personas, texts: list[str] = TEXTS) -> list[Post]:
    posts = []
    for hours, text in enumerate(texts, start=1):
        post = services.post_create(
            author=personas.alice,
            department=personas.parks,
            text=text,
            link="",
            channels=[personas.parks_channel],
            due_at=timezone.now() + dt.timedelta(days=2, hours=3 * hours),
        )
        posts.append(services.post_submit(post=post, user=personas.alice))
    return posts


def sideways_scroll(page) -> int:  # noqa: ANN001
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def item(page, post: Post):  # noqa: ANN001, ANN201
    return page.locator(f'[data-queue-item][data-post-id="{post.pk}"]')


def test_three_posts_approved_from_the_queue_at_once(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    posts = waiting_posts(personas)
    page = browser_page
    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/approvals/")
    expect(page.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    axe.check(page, "queue-1280")

    actions = 0
    for post in posts[:3]:
        item(page, post).locator(".usa-checkbox__label").click()  # USWDS draws the box on the label
        actions += 1
    page.get_by_role("button", name="Approve selected").click()
    actions += 1
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Approve 3 posts?")
    axe.check(page, "queue-confirm-dialog")
    dialog.get_by_role("button", name="Yes, approve").click()
    actions += 1
    expect(page.locator("[data-queue-result]")).to_contain_text("3 posts approved and scheduled.")
    expect(page.locator("#approval-live")).to_contain_text("3 posts approved and scheduled.")
    assert [Post.objects.get(pk=p.pk).status for p in posts] == [PostStatus.APPROVED] * 3 + [PostStatus.SUBMITTED]
    expect(page.locator("[data-queue-item]")).to_have_count(1)
    axe.check(page, "queue-after-approval")
    print(f"\nFrom the queue to three approved posts: {actions} user actions (pointer)")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)


def test_three_posts_approved_with_the_keyboard_shortcuts_and_announced(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    posts = waiting_posts(personas)
    page = browser_page
    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/approvals/")
    live = page.locator("#approval-live")
    keys = 0
    for number in range(1, 4):
        page.keyboard.press("j")
        expect(live).to_contain_text(f"Post {number} of 4:")
        page.keyboard.press("x")
        expect(live).to_contain_text(f"{number} selected.")
        keys += 2
    page.keyboard.press("Shift+A")
    keys += 1
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Enter")  # the confirm button has the focus
    keys += 1
    expect(live).to_contain_text("3 posts approved and scheduled.")
    assert [Post.objects.get(pk=p.pk).status for p in posts] == [PostStatus.APPROVED] * 3 + [PostStatus.SUBMITTED]

    # Request changes by keyboard: a comment is required, then the post goes back.
    page.keyboard.press("j")
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Yes, send back").click()
    expect(dialog.locator("[data-dialog-error]")).to_have_text(
        "Say what should change, so the author knows what to fix."
    )
    page.keyboard.type("Add the camp's age range.")
    dialog.get_by_role("button", name="Yes, send back").click()
    expect(live).to_contain_text("1 post sent back to its author.")
    assert Post.objects.get(pk=posts[3].pk).status == PostStatus.CHANGES_REQUESTED

    # Shortcuts can be switched off (WCAG 2.1.4).
    page.goto(f"{live_server.url}/approvals/")
    page.locator("label[for=queue-shortcuts-on]").click()
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(live).to_have_text("")
    print(f"\nFrom the queue to three approved posts: {keys} key presses (keyboard shortcuts)")  # noqa: T201


def test_without_javascript_the_queue_approves_through_a_confirmation_page(live_server, browser_page):
    from playwright.sync_api import expect

    personas = Personas()
    posts = waiting_posts(personas, TEXTS[:2])
    page = browser_page
    page.context.set_extra_http_headers({})
    page.route("**/*.js", lambda route: route.abort())
    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/approvals/")
    item(page, posts[0]).get_by_role("button", name="Approve").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Approve this post?")
    assert Post.objects.get(pk=posts[0].pk).status == PostStatus.SUBMITTED
    page.get_by_role("button", name="Yes, approve").click()
    expect(page.get_by_role("status").first).to_contain_text("1 post approved and scheduled.")
    assert Post.objects.get(pk=posts[0].pk).status == PostStatus.APPROVED


def test_approving_at_phone_width_from_the_queue_and_from_the_post_page(live_server, browser_page, axe):
    from playwright.sync_api import expect

    personas = Personas()
    posts = waiting_posts(personas, TEXTS[:3])
    page = browser_page
    page.set_viewport_size(PHONE)
    sign_in_as(page, live_server.url, personas.bob)
    page.goto(f"{live_server.url}/approvals/")
    assert sideways_scroll(page) == 0
    axe.check(page, "queue-390")
    approve = item(page, posts[0]).get_by_role("button", name="Approve")
    box = approve.bounding_box()
    assert box["width"] >= 300 and box["height"] >= 44  # a full-width button, easy to hit
    approve.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    assert dialog.bounding_box()["width"] <= PHONE["width"]
    axe.check(page, "queue-390-dialog")
    dialog.get_by_role("button", name="Yes, approve").click()
    expect(page.locator("[data-queue-result]")).to_contain_text("1 post approved and scheduled.")
    assert Post.objects.get(pk=posts[0].pk).status == PostStatus.APPROVED
    assert sideways_scroll(page) == 0

    # The post page: a button at the top leads straight to the decision.
    page.goto(f"{live_server.url}/posts/{posts[1].pk}/")
    jump = page.get_by_role("link", name="Go to approve or request changes")
    expect(jump).to_be_visible()
    assert jump.bounding_box()["y"] < PHONE["height"]
    axe.check(page, "post-390")
    jump.click()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("The post is approved and scheduled.")).to_be_visible()
    assert Post.objects.get(pk=posts[1].pk).status == PostStatus.APPROVED
    assert sideways_scroll(page) == 0
    print("axe best-practice advice:", *axe.advice, sep="\n  ")  # noqa: T201
    assert axe.problems == [], "\n".join(axe.problems)
