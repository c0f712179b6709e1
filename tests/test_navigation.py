"""The main navigation lists each page a person may use, and only those (issue 11, item 33)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.governance.city import city  # noqa: F401 - the fixture

POSTING_PAGES = {
    "Media": "medialibrary:library",
    "Templates": "composer:template_list",
    "Import CSV": "composer:import_upload",
}


def main_navigation(user) -> dict[str, str]:  # noqa: ANN001
    """Returns {label: address} of the links in the header's main navigation."""
    client = Client()
    client.force_login(user)
    html = client.get(reverse("scheduler:dashboard")).content.decode()
    nav = re.search(r'<nav aria-label="Main" class="usa-nav">(.*?)</nav>', html, re.S)
    assert nav is not None
    links = re.findall(r'<a class="usa-nav-link[^"]*" href="([^"]+)"[^>]*><span>([^<]+)', nav.group(1))
    return {label.strip(): href for href, label in links}


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "pat"])
def test_people_who_post_find_media_templates_and_csv_import_in_the_navigation(city, persona):  # noqa: F811
    links = main_navigation(getattr(city, persona))
    for label, url_name in POSTING_PAGES.items():
        assert links.get(label) == reverse(url_name)


@pytest.mark.parametrize("persona", ["vera", "ivan", "olga", "max"])
def test_people_who_do_not_post_for_a_department_do_not_see_those_links(city, persona):  # noqa: F811
    links = main_navigation(getattr(city, persona))
    assert not set(POSTING_PAGES) & set(links)
    assert "Calendar" in links


def test_the_page_you_are_on_is_marked_current(city):  # noqa: F811
    client = Client()
    client.force_login(city.alice)
    html = client.get(reverse("composer:import_upload")).content.decode()
    assert re.search(r'usa-current" href="/composer/import/" aria-current="page"><span>Import CSV', html)
