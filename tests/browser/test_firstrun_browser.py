"""The first run of a new city in a real browser (issue 19): the IT admin follows the checklist from the
navigation, adds the first member from it; the communications manager finds the approval policy from it;
the department admin sets posting slots; a post goes out on the Sandbox (published in-process, as the other
browser tests do) and the checklist is complete, so its link leaves the navigation. Every page passes axe
(WCAG 2.1 A/AA) at 1280 px and 390 px."""

from __future__ import annotations

import datetime as dt

import pytest

from departments.models import ApprovalStep, CityRole, CityRoleName, Role
from tests.browser.conftest import open_menu
from tests.browser.test_walkthrough import sign_in, sign_out
from tests.factories import ChannelFactory, DepartmentFactory, UserFactory, member
from tests.scheduler import approved_post, make_due, tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _check_both_widths(page, axe, name: str) -> None:  # noqa: ANN001
    axe.check(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    axe.check(page, f"{name}-390")
    page.set_viewport_size(DESKTOP)


def _step(page, key: str):  # noqa: ANN001, ANN202
    return page.locator(f'[data-step="{key}"]')


def test_the_first_run_checklist_leads_to_a_first_published_sandbox_post(live_server, browser_page, axe):
    from django.core.cache import cache
    from playwright.sync_api import expect

    cache.clear()
    parks = DepartmentFactory(name="Parks and Recreation", slug="parks")
    ivan = UserFactory(username="ivan", email="ivan@city.example")
    CityRole.objects.create(user=ivan, role=CityRoleName.IT_ADMIN)
    dana = UserFactory(username="dana", email="dana@city.example")
    CityRole.objects.create(user=dana, role=CityRoleName.COMMUNICATIONS_MANAGER)
    pat = UserFactory(username="pat", email="pat@city.example")
    page = browser_page

    # The IT admin: the checklist is in the navigation while the city is not set up.
    sign_in(page, live_server.url, ivan.email)
    open_menu(page, "Admin", "Getting started")
    expect(page.get_by_role("heading", level=1)).to_have_text("Getting started")
    expect(page.locator("#firstrun-progress")).to_have_text("1 of 5 steps done.")
    expect(_step(page, "departments")).to_have_attribute("data-done", "true")
    expect(_step(page, "members")).to_contain_text("Without members: Parks and Recreation.")
    _check_both_widths(page, axe, "checklist")

    # Step 2 from the checklist: add the department's admin by e-mail.
    _step(page, "members").get_by_role("link", name="Add members", exact=True).click()
    page.get_by_label("Email address of their account").fill(pat.email)
    page.get_by_label("Role").select_option(Role.ADMIN)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator(".usa-alert--success")).to_contain_text("pat@city.example was added.")
    open_menu(page, "Admin", "Getting started")
    expect(_step(page, "members")).to_have_attribute("data-done", "true")
    sign_out(page)

    # The department admin connects a Sandbox channel (as the connect page does) and sets posting slots.
    channel = ChannelFactory(department=parks, display_name="Parks on Sandbox")
    alice = member("alice", parks, Role.EDITOR)
    bob = member("bob", parks, Role.APPROVER)
    sign_in(page, live_server.url, pat.email)
    page.goto(f"{live_server.url}/queue/")
    expect(page.get_by_text("Nothing is waiting in the queue.")).to_be_visible()
    _check_both_widths(page, axe, "queue-empty")
    page.get_by_role("link", name="Posting slots of this department").click()
    page.get_by_label("Channel").select_option(label="Parks on Sandbox")
    page.get_by_label("Day of the week").select_option(label="Tuesday")
    page.get_by_label("Time").fill("10:00")
    page.get_by_role("button", name="Add slot").click()
    expect(page.locator(".usa-alert--success")).to_contain_text("Posting slot added.")
    expect(page.get_by_role("table")).to_contain_text("Tuesday")
    _check_both_widths(page, axe, "slots")
    sign_out(page)

    # The communications manager finds the department's policy from the checklist.
    sign_in(page, live_server.url, dana.email)
    open_menu(page, "Admin", "Getting started")
    expect(_step(page, "channels")).to_have_attribute("data-done", "true")
    _step(page, "policies").get_by_role("link", name="Set a policy").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Parks and Recreation")
    ApprovalStep.objects.create(department=parks, name="Review", department_approvers=True)

    # A first post: written and approved through the services, published on the Sandbox in-process.
    post = approved_post(author=alice, approver=bob, channels=[channel], text="Splash pads open Saturday.")
    make_due(post)
    tick()
    post.refresh_from_db()
    assert post.status == "published"
    page.goto(f"{live_server.url}/getting-started/")
    expect(page.locator("#firstrun-progress")).to_have_text("5 of 5 steps done.")
    expect(_step(page, "first_post")).to_have_attribute("data-done", "true")
    _check_both_widths(page, axe, "checklist-done")
    cache.clear()
    page.goto(f"{live_server.url}/")
    main = page.get_by_role("navigation", name="Main")
    expect(main.get_by_role("link", name="Getting started")).to_have_count(0)
    open_menu(page, "Channels", "Sandbox timeline")
    expect(page.get_by_text("Splash pads open Saturday.")).to_be_visible()

    assert not axe.problems, "\n".join(axe.problems)


def test_the_queue_is_reordered_with_the_keyboard_and_the_move_is_announced(live_server, browser_page, axe):
    from playwright.sync_api import expect

    from postqueue.models import PostingSlot, QueueEntry
    from postqueue.services import queue_add
    from scheduler.models import Post
    from tests.browser.test_compose_browser import tab_to
    from tests.conftest import Personas

    personas = Personas()
    quinn = member("quinn", personas.parks, Role.APPROVER)
    for day in (1, 3):
        PostingSlot.objects.create(
            department=personas.parks, channel=personas.parks_channel, weekday=day, local_time=dt.time(10)
        )
    first, second = (
        approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel], text=text)
        for text in ("Pools open at noon.", "Library card week starts Monday.")
    )
    for post in (first, second):
        queue_add(post=post, user=quinn)
    second_entry = QueueEntry.objects.get(post=second)
    page = browser_page
    sign_in(page, live_server.url, quinn.email)

    page.goto(f"{live_server.url}/posts/{first.pk}/")
    expect(page.get_by_role("button", name="Add to queue")).to_be_visible()
    _check_both_widths(page, axe, "post-queue-panel")

    open_menu(page, "Plan", "Queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")
    _check_both_widths(page, axe, "queue")
    # Keyboard only: Tab to "Move up" of the second post and press Enter.
    tab_to(page, f"#entry-{second_entry.pk} button")
    page.keyboard.press("Enter")
    status = page.locator('.civic-messages [role="status"]')
    expect(status).to_contain_text("Moved to position 1")
    expect(page.locator(f"#entry-{second_entry.pk}")).to_be_focused()
    items = page.locator(".civic-queue__item")
    expect(items.first).to_contain_text("Library card week starts Monday.")
    assert Post.objects.get(pk=second.pk).due_at < Post.objects.get(pk=first.pk).due_at
    _check_both_widths(page, axe, "queue-moved")

    assert not axe.problems, "\n".join(axe.problems)


def test_members_are_added_from_a_csv_file_from_the_checklist(live_server, browser_page, axe, tmp_path):
    """The IT admin follows the checklist's CSV link, uploads a file with one bad row, sees the row's problem
    with its line number, adds the good rows and reads the summary; every page passes axe at both widths."""
    from django.core.cache import cache
    from playwright.sync_api import expect

    from departments.models import Membership

    cache.clear()
    parks = DepartmentFactory(name="Parks and Recreation", slug="parks")
    ivan = UserFactory(username="ivan", email="ivan@city.example")
    CityRole.objects.create(user=ivan, role=CityRoleName.IT_ADMIN)
    UserFactory(username="pat", email="pat@city.example")
    UserFactory(username="alice", email="alice@city.example")
    people = tmp_path / "people.csv"
    people.write_bytes("\ufeffemail,role\npat@city.example,admin\nalice@city.example,editor\nnobody,editor\n".encode())
    page = browser_page

    sign_in(page, live_server.url, ivan.email)
    page.goto(f"{live_server.url}/getting-started/")
    _step(page, "members").get_by_role("link", name="Add members from a CSV file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add members to Parks and Recreation from a CSV file")
    _check_both_widths(page, axe, "member-import")

    # A file that is not the expected CSV: the form comes back with the problem, linked to the field.
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(b"name;role\n")
    page.get_by_label("CSV file").set_input_files(str(wrong))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("alert")).to_contain_text("The first line must be the header “email,role”.")
    _check_both_widths(page, axe, "member-import-error")

    page.get_by_label("CSV file").set_input_files(str(people))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#member-import-summary")).to_contain_text("3 rows, 2 ready to add to Parks and Recreation")
    problems = page.get_by_role("table", name="Rows with problems")
    expect(problems).to_contain_text("“nobody” is not an e-mail address.")
    expect(problems.get_by_role("rowheader")).to_have_text("4")
    assert not Membership.objects.filter(department=parks).exists()
    _check_both_widths(page, axe, "member-import-preview")

    page.get_by_role("button", name="Add the 2 people ready").click()
    expect(page.get_by_role("status")).to_contain_text("2 added to Parks and Recreation, 0 skipped.")
    _check_both_widths(page, axe, "member-import-done")
    roles = dict(Membership.objects.filter(department=parks).values_list("user__username", "role"))
    assert roles == {"pat": Role.ADMIN, "alice": Role.EDITOR}

    assert not axe.problems, "\n".join(axe.problems)
