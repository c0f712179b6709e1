"""The first-run checklist ticks itself from the installation's real state, for the IT admin and the
communications managers; the main list pages say what to do next when they are empty."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from departments.models import ApprovalStep, Department
from firstrun.selectors import checklist, checklist_complete
from tests.factories import ChannelFactory, DepartmentFactory, UserFactory, member
from tests.governance.city import City, city  # noqa: F401 - the fixture
from tests.scheduler import approved_post, make_due, tick


def _states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-done="(\w+)"', html))


def test_a_new_installation_starts_with_everything_to_do(db) -> None:
    assert not checklist_complete()
    steps = {item.key: item.done for item in checklist(user=None)}
    assert steps == {
        "departments": False,
        "members": False,
        "sso": False,
        "channels": False,
        "policies": False,
        "first_post": False,
    }


def test_each_step_ticks_itself_as_the_city_is_set_up(city: City) -> None:  # noqa: F811
    client = Client()
    client.force_login(city.ivan)
    url = reverse("firstrun:checklist")
    states = _states(client.get(url).content.decode())
    # The personas' departments have members and channels, but no policy and nothing published yet.
    assert states == {
        "departments": "true",
        "members": "true",
        "sso": "false",
        "channels": "true",
        "policies": "false",
        "first_post": "false",
    }
    works = DepartmentFactory(name="Public Works", slug="works")
    html = client.get(url).content.decode()
    assert _states(html)["members"] == "false" and "Without members: Public Works." in html
    # The members step links to both ways of adding them: one by e-mail, many from a CSV file.
    assert f'href="{reverse("departments:members", args=[works.pk])}"' in html
    assert f'href="{reverse("departments:member_import", args=[works.pk])}">Add members from a CSV file' in html
    assert _states(html)["channels"] == "false"
    assert not checklist_complete()
    member("wes", works, "editor")
    ChannelFactory(department=works)
    for department in Department.objects.filter(is_communications_team=False):
        ApprovalStep.objects.create(department=department, name="Review", department_approvers=True)
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel])
    assert not checklist_complete()  # everything but a first published post
    make_due(post)
    tick()
    assert checklist_complete()
    states = _states(client.get(url).content.decode())
    assert states == {
        "departments": "true",
        "members": "true",
        "sso": "false",  # optional: the checklist is complete without it
        "channels": "true",
        "policies": "true",
        "first_post": "true",
    }


def test_only_the_it_admin_and_communications_managers_open_it(city: City) -> None:  # noqa: F811
    for person, status in ((city.ivan, 200), (city.max, 200), (city.pat, 403), (city.alice, 403)):
        client = Client()
        client.force_login(person)
        assert client.get(reverse("firstrun:checklist")).status_code == status
    superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(superuser)
    html = client.get(reverse("firstrun:checklist")).content.decode()
    assert "Add a department" not in html  # departments exist: the step is done


def test_empty_list_pages_say_what_to_do_next(db) -> None:
    department = DepartmentFactory(name="Parks and Recreation", slug="parks")
    editor = member("eve", department, "editor")
    client = Client()
    client.force_login(editor)
    assert "No drafts. Write a new post" in client.get(reverse("scheduler:dashboard")).content.decode()
    assert "No posts this month." in client.get(reverse("scheduler:calendar_month")).content.decode()
    assert "Your departments have no channels yet" in client.get(reverse("scheduler:channel_list")).content.decode()
    assert "No files yet. Upload" in client.get(reverse("medialibrary:library")).content.decode()
    assert "No templates yet. Save" in client.get(reverse("composer:template_list")).content.decode()
