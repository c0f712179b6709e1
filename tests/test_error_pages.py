"""Refusals and unknown addresses answer with CivicPost's own pages in the site's layout (templates/403.html,
404.html, 403_csrf.html), also in the DEBUG demo of `make run`, whose technical 404 page would list every
URL pattern of the site to anyone."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from departments.models import CityRole, CityRoleName
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

UNKNOWN = "/no-such-page-here/"


@pytest.fixture
def it_admin():  # noqa: ANN201
    user = UserFactory(username="ivan")
    CityRole.objects.create(user=user, role=CityRoleName.IT_ADMIN)
    return user


def test_the_it_admin_is_told_why_the_django_admin_is_not_for_them(client, it_admin):  # noqa: ANN001
    client.force_login(it_admin)
    response = client.get("/admin/")
    assert response.status_code == 302  # the admin sends a non-staff user to its sign-in page...
    response = client.get(response["Location"])
    assert response.status_code == 403  # ...which refuses a signed-in non-staff account
    html = response.content.decode()
    assert "You cannot open this page" in html
    assert "The administration site is for the technical staff who run CivicPost." in html
    assert 'class="usa-nav"' in html  # the site's layout: the person can go on from here


def test_a_refusal_gives_its_reason(client, personas):  # noqa: ANN001
    client.force_login(personas.alice)
    response = client.get(reverse("connections:start"))
    assert response.status_code == 403
    assert "Only department admins can connect channels." in response.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_address_gets_the_sites_own_page_never_the_list_of_url_patterns(settings, debug):  # noqa: ANN001
    settings.DEBUG = debug
    for client in (Client(), signed_in_client()):
        response = client.get(UNKNOWN)
        assert response.status_code == 404
        html = response.content.decode()
        assert "Page not found" in html
        assert "<title>Page not found | CivicPost</title>" in html
        assert "URLconf" not in html
        assert "URL patterns" not in html
        assert "&lt;int:" not in html  # such as departments/&lt;int:department_id&gt;/members/


@pytest.mark.parametrize("debug", [False, True])
def test_a_page_that_raises_not_found_gets_the_sites_own_page(settings, personas, debug):  # noqa: ANN001
    settings.DEBUG = debug
    client = Client()
    client.force_login(personas.alice)
    response = client.get(reverse("scheduler:post_detail", args=[999999]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no page at this address" in html
    assert "Raised by" not in html  # Django's technical page names the view


def test_with_debug_on_a_missing_slash_is_still_added(settings):  # noqa: ANN001
    settings.DEBUG = True
    response = Client().get("/feeds")
    assert response.status_code == 301
    assert response["Location"] == "/feeds/"


def test_a_form_without_its_security_token_is_explained(personas):  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("account_login"), {"login": personas.alice.email, "password": PASSWORD})
    assert response.status_code == 403
    html = response.content.decode()
    assert "The form could not be sent" in html
    assert "CivicPost" in html


def signed_in_client() -> Client:
    client = Client()
    client.force_login(UserFactory(username="somebody"))
    return client
