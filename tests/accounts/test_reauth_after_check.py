"""require_recent_auth(check=...) / (load=...): who may is decided before the password is asked. A person who
may not gets 404/403 and never the password prompt, even six minutes after signing in; a person who may is
asked for the password, and the interrupted POST is replayed through the check again; a fresh sign-in goes
straight through. Views of this module, mounted beside the site's own URLs."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from civicpost.http import AuthenticatedHttpRequest
from civicpost.reauth import require_recent_auth
from civicpost.urls import urlpatterns as site_urlpatterns
from tests.accounts.conftest import new_browser, sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LATER = 6 * 60
# Who may act, and how often the check ran: what each test sets up and reads.
MAY_ACT: set[str] = set()
CHECKS: list[str] = []
DONE: list[object] = []


def _may_act(request: AuthenticatedHttpRequest, *_url_args: object, **_url_kwargs: object) -> None:
    CHECKS.append(request.user.username)
    if request.user.username not in MAY_ACT:
        raise Http404("No such page.")


def _thing(request: AuthenticatedHttpRequest, thing_id: int) -> str:
    CHECKS.append(request.user.username)
    if request.user.username not in MAY_ACT:
        raise PermissionDenied("Not yours.")
    return f"thing {thing_id}"


@login_required
@require_POST
@require_recent_auth(check=_may_act)
def act(request: AuthenticatedHttpRequest, thing_id: int) -> HttpResponse:
    DONE.append(thing_id)
    return HttpResponse(f"done {thing_id}")


@login_required
@require_http_methods(["GET", "POST"])
@require_recent_auth(load=_thing, allow_get=True)
def edit(request: AuthenticatedHttpRequest, thing: str) -> HttpResponse:
    if request.method == "POST":
        DONE.append(thing)
    return HttpResponse(thing)


urlpatterns = [
    *site_urlpatterns,
    path("reauth-test/<int:thing_id>/act/", act, name="reauth_test_act"),
    path("reauth-test/<int:thing_id>/edit/", edit, name="reauth_test_edit"),
]


@pytest.fixture(autouse=True)
def _reauth_on_with_these_views(settings):  # noqa: ANN001
    settings.CIVICPOST_REQUIRE_REAUTH = True
    settings.ROOT_URLCONF = __name__
    MAY_ACT.clear()
    CHECKS.clear()
    DONE.clear()


def reauthenticate_url(url: str) -> str:
    return f"{reverse('account_reauthenticate')}?{urlencode({'next': url})}"


def signed_in(username: str):  # noqa: ANN201
    browser = new_browser()
    sign_in(browser, UserFactory(username=username))
    return browser


@pytest.fixture
def ada():  # noqa: ANN201
    """Signed in just now, and may act."""
    MAY_ACT.add("ada")
    return signed_in("ada")


def test_someone_who_may_not_is_refused_and_never_asked_for_the_password():
    browser = signed_in("mallory")
    act_url = reverse("reauth_test_act", args=[7])
    edit_url = reverse("reauth_test_edit", args=[7])
    with time_machine.travel(time.time() + LATER, tick=False):
        assert browser.post(act_url).status_code == 404
        assert browser.post(edit_url).status_code == 403
        assert browser.get(edit_url).status_code == 403
    assert CHECKS == ["mallory"] * 3
    assert DONE == []


def test_someone_who_may_and_signed_in_long_ago_is_asked_then_the_post_is_replayed_through_the_check(ada):  # noqa: ANN001
    url = reverse("reauth_test_act", args=[7])
    with time_machine.travel(time.time() + LATER, tick=False):
        response = ada.post(url, {"note": "kept"})
        assert response.status_code == 302
        assert response["Location"] == reauthenticate_url(url)
        assert DONE == []

        replayed = ada.post(response["Location"], {"password": PASSWORD})
    assert replayed.status_code == 200
    assert replayed.content == b"done 7"
    assert DONE == [7]
    assert CHECKS == ["ada", "ada"]  # before the prompt, and again when the POST is replayed


def test_the_replayed_post_is_refused_when_the_permission_went_while_the_password_was_asked(ada):  # noqa: ANN001
    url = reverse("reauth_test_edit", args=[7])
    with time_machine.travel(time.time() + LATER, tick=False):
        response = ada.post(url)
        assert response["Location"] == reauthenticate_url(url)
        MAY_ACT.clear()
        assert ada.post(response["Location"], {"password": PASSWORD}).status_code == 403
    assert DONE == []


def test_a_fresh_sign_in_goes_straight_to_the_view_with_what_load_returned(ada):  # noqa: ANN001
    response = ada.post(reverse("reauth_test_edit", args=[7]))
    assert response.status_code == 200
    assert response.content == b"thing 7"
    assert ada.post(reverse("reauth_test_act", args=[8])).content == b"done 8"
    assert DONE == ["thing 7", 8]


def test_allow_get_reads_without_the_password_but_a_post_asks_for_it(ada):  # noqa: ANN001
    url = reverse("reauth_test_edit", args=[7])
    with time_machine.travel(time.time() + LATER, tick=False):
        assert ada.get(url).content == b"thing 7"
        assert ada.post(url)["Location"] == reauthenticate_url(url)


def test_check_and_load_together_are_refused():
    with pytest.raises(TypeError):
        require_recent_auth(check=_may_act, load=_thing)
