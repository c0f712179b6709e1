"""The main navigation, grouped by task (Plan · Review · Channels · Records · Admin), lists each page a person
may use and only those (issue 11, item 33; issue 19): every persona's menu, built on the server."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.archive.helpers import records_officer
from tests.governance.city import city  # noqa: F401 - the fixture

POSTING_PAGES = {
    "Media library": "medialibrary:library",
    "Templates": "composer:template_list",
    "Import CSV": "composer:import_upload",
}


def main_navigation(user, path: str | None = None) -> dict[str, list[str]]:  # noqa: ANN001
    """Returns {group label: [link labels]} of the header's main navigation ("" for the top-level links)."""
    client = Client()
    client.force_login(user)
    html = client.get(path or reverse("scheduler:dashboard")).content.decode()
    nav = re.search(r'<nav aria-label="Main" class="usa-nav">(.*?)</nav>', html, re.S)
    assert nav is not None
    groups: dict[str, list[str]] = {"": []}
    for item in re.findall(r'<li class="usa-nav__primary-item"[^>]*>(.*?)\n</li>', nav.group(1), re.S):
        button = re.search(r"<button[^>]*aria-controls=\"nav-\w+\"><span>([^<]+)</span>", item)
        labels = [label.strip() for label in re.findall(r"<a [^>]*href=\"[^\"]+\"[^>]*><span>([^<]+)", item)]
        if button:
            groups[button.group(1)] = labels
        else:
            groups[""] += labels
    return groups


def links(user) -> dict[str, str]:  # noqa: ANN001
    """Returns {link label: address} of every link of the main navigation."""
    client = Client()
    client.force_login(user)
    html = client.get(reverse("scheduler:dashboard")).content.decode()
    nav = re.search(r'<nav aria-label="Main" class="usa-nav">(.*?)</nav>', html, re.S)
    assert nav is not None
    return {
        label.strip(): href for href, label in re.findall(r'<a [^>]*href="([^"]+)"[^>]*><span>([^<]+)', nav.group(1))
    }


def test_an_editor_plans_and_sees_channels_but_reviews_nothing(city):  # noqa: F811
    menu = main_navigation(city.alice)
    assert menu[""] == ["Dashboard", "Account & security"]
    assert menu["Plan"] == ["Calendar", "New post", "Drafts", "Templates", "Import CSV", "Media library", "Queue"]
    assert menu["Channels"] == ["Channels", "Sandbox timeline"]
    assert "Approvals queue" not in menu.get("Review", [])
    assert "Admin" not in menu


def test_an_approver_also_reviews(city):  # noqa: F811
    menu = main_navigation(city.bob)
    assert menu["Review"][0] == "Approvals queue"
    assert "Admin" not in menu


def test_a_department_admin_also_administers_and_reads_the_records(city):  # noqa: F811
    menu = main_navigation(city.pat)
    assert menu["Admin"] == ["People and policies"]
    assert menu["Records"][0] == "Audit trail"


def test_the_communications_manager_may_hold_everything_and_review_emergencies(city):  # noqa: F811
    menu = main_navigation(city.max)
    assert "Crisis hold" in menu["Admin"]
    assert "Emergency posts" in menu["Review"]


def test_an_authorised_official_may_publish_an_emergency_post_but_not_plan_posts(city):  # noqa: F811
    menu = main_navigation(city.olga)
    assert menu["Plan"] == ["Calendar", "Emergency post"]


def test_the_it_admin_manages_people_and_reads_the_audit_trail_but_writes_no_post(city):  # noqa: F811
    menu = main_navigation(city.ivan)
    assert "People and policies" in menu["Admin"]
    assert menu["Records"] == ["Audit trail"]
    assert menu["Plan"] == ["Calendar"]


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "pat"])
def test_people_who_post_find_media_templates_and_csv_import_in_the_navigation(city, persona):  # noqa: F811
    found = links(getattr(city, persona))
    for label, url_name in POSTING_PAGES.items():
        assert found.get(label) == reverse(url_name)


@pytest.mark.parametrize("persona", ["vera", "ivan", "olga", "max"])
def test_people_who_do_not_post_for_a_department_do_not_see_those_links(city, persona):  # noqa: F811
    found = links(getattr(city, persona))
    assert not set(POSTING_PAGES) & set(found)
    assert "Calendar" in found


def test_each_link_is_a_page_the_person_may_open(city):  # noqa: F811
    for persona in ("alice", "bob", "carol", "pat", "vera", "ivan", "olga", "max", "dana"):
        client = Client()
        client.force_login(getattr(city, persona))
        for label, href in links(getattr(city, persona)).items():
            response = client.get(href.split("#")[0])
            assert response.status_code == 200, f"{persona}: {label} ({href}) answers {response.status_code}"


def test_the_page_you_are_on_and_its_group_are_marked_current(city):  # noqa: F811
    client = Client()
    client.force_login(city.alice)
    html = client.get(reverse("composer:import_upload")).content.decode()
    assert re.search(r'class="usa-accordion__button usa-nav__link usa-current" aria-expanded="false" '
                     r'aria-controls="nav-plan"><span>Plan</span>', html)  # fmt: skip
    assert re.search(r'href="/composer/import/" class="usa-current" aria-current="page"><span>Import CSV', html)
    nav = html[html.index('<nav aria-label="Main"') : html.index("</nav>")]
    assert nav.count('aria-current="page"') == 1


def test_the_inbox_shows_for_department_members_and_the_archive_for_records_officers(city):  # noqa: F811
    assert links(city.bob)["Inbox"] == reverse("inbox:city")
    assert "Inbox" not in links(city.vera)  # the viewer belongs to no department
    assert "Archive" not in links(city.bob) and "Archive" not in links(city.vera)
    assert links(records_officer())["Archive"] == reverse("archive:index")


def test_the_groups_are_in_spanish_for_a_spanish_reader(city):  # noqa: F811
    client = Client()
    client.force_login(city.pat)
    html = client.get(reverse("scheduler:dashboard"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    for label in ("Planificación", "Revisión", "Canales", "Registros", "Administración"):
        assert f"<span>{label}</span></button>" in html


def test_getting_started_shows_for_the_it_admin_and_communications_manager_until_the_city_is_set_up(city):  # noqa: F811
    from django.core.cache import cache

    from departments.models import ApprovalStep, Department
    from tests.factories import ChannelFactory
    from tests.scheduler import approved_post, make_due, tick

    cache.clear()
    assert "Getting started" in main_navigation(city.ivan)["Admin"]
    assert "Getting started" in main_navigation(city.max)["Admin"]
    assert "Getting started" not in main_navigation(city.pat).get("Admin", [])
    assert "Getting started" not in str(main_navigation(city.alice))

    # Set the city up for real: every department with a member, a connected channel, a policy, and a post out.
    for department in Department.objects.filter(is_communications_team=False):
        if not department.channels.exists():
            ChannelFactory(department=department)
        ApprovalStep.objects.create(department=department, name="Review", department_approvers=True)
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    make_due(post)
    tick()
    assert "Getting started" not in main_navigation(city.ivan).get("Admin", [])
