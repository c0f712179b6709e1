"""Every sensitive action asks for the password again after five minutes (civicpost.reauth.require_recent_auth):
the approval policy, a department's settings, disconnecting a channel, switching a crisis hold on and off and
releasing a held post — as connecting a channel, changing roles and an emergency post already did. Who may
is checked first (a stranger gets 404/403, never the password prompt), and the form is sent on afterwards."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse

from departments.models import ApprovalStep
from scheduler.models import ChannelStatus, CrisisHold, PostHold
from tests.accounts.conftest import new_browser, sign_in
from tests.factories import PASSWORD
from tests.governance.city import city  # noqa: F401 - the fixture
from tests.scheduler import approved_post

pytestmark = pytest.mark.django_db

LATER = 6 * 60


@pytest.fixture(autouse=True)
def _reauth_on(settings):  # noqa: ANN001
    settings.CIVICPOST_REQUIRE_REAUTH = True


def reauthenticate_url(url: str) -> str:
    return f"{reverse('account_reauthenticate')}?{urlencode({'next': url})}"


def asks_again(user, url: str, data: dict) -> None:  # noqa: ANN001
    """Signs `user` in, then six minutes later posts `data` to `url`: the password is asked for."""
    browser = new_browser()
    sign_in(browser, user)
    with time_machine.travel(time.time() + LATER, tick=False):
        response = browser.post(url, data)
    assert response.status_code == 302, url
    assert response["Location"] == reauthenticate_url(url)


def test_adding_removing_and_moving_an_approval_step_ask_for_the_password(city):  # noqa: F811
    parks = city.parks
    first = ApprovalStep.objects.create(department=parks, name="Review", position=1)
    second = ApprovalStep.objects.create(department=parks, name="Legal", position=2)
    asks_again(
        city.pat,
        reverse("departments:policy_step_add", args=[parks.pk]),
        {"name": "Mayor", "mode": "any", "user_emails": "carol@city.example"},
    )
    asks_again(city.pat, reverse("departments:policy_step_delete", args=[parks.pk, first.pk]), {})
    asks_again(city.max, reverse("departments:policy_step_up", args=[parks.pk, second.pk]), {})
    assert list(ApprovalStep.objects.filter(department=parks).order_by("position").values_list("name", flat=True)) == [
        "Review",
        "Legal",
    ]


def test_a_named_approver_is_added_after_the_password_and_not_before(city):  # noqa: F811
    url = reverse("departments:policy_step_add", args=[city.parks.pk])
    browser = new_browser()
    sign_in(browser, city.pat)
    with time_machine.travel(time.time() + LATER, tick=False):
        response = browser.post(url, {"name": "Library check", "mode": "any", "user_emails": "carol@city.example"})
        assert response["Location"] == reauthenticate_url(url)
        assert not ApprovalStep.objects.filter(department=city.parks).exists()
        done = browser.post(response["Location"], {"password": PASSWORD})
        assert done.status_code == 302
    step = ApprovalStep.objects.get(department=city.parks)
    assert list(step.users.all()) == [city.carol]


def test_saving_a_departments_settings_asks_for_the_password(city):  # noqa: F811
    asks_again(city.pat, reverse("departments:settings", args=[city.parks.pk]), {"series_approval": "series"})
    city.parks.refresh_from_db()
    assert city.parks.series_approval == "occurrence"


def test_disconnecting_a_channel_asks_for_the_password(city):  # noqa: F811
    asks_again(city.pat, reverse("connections:disconnect", args=[city.parks_channel.pk]), {})
    city.parks_channel.refresh_from_db()
    assert city.parks_channel.status != ChannelStatus.DISABLED


def test_switching_a_crisis_hold_on_asks_for_the_password_then_switches_it_on(city):  # noqa: F811
    url = reverse("governance:crisis_start")
    browser = new_browser()
    sign_in(browser, city.max)
    with time_machine.travel(time.time() + LATER, tick=False):
        response = browser.post(url, {"reason": "Storm downtown"})
        assert response["Location"] == reauthenticate_url(url)
        assert not CrisisHold.objects.exists()
        browser.post(response["Location"], {"password": PASSWORD})
    assert CrisisHold.objects.get().reason == "Storm downtown"


def test_switching_a_crisis_hold_off_and_releasing_a_held_post_ask_for_the_password(city):  # noqa: F811
    hold = CrisisHold.objects.create(reason="Storm", started_by=city.max)
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text="Pool open")
    post_hold = PostHold.objects.create(post=post, reason="Kept", created_by=city.max)
    browser = new_browser()
    sign_in(browser, city.ivan)
    end_url = reverse("governance:crisis_end", args=[hold.pk])
    assert browser.get(end_url).status_code == 200  # reading what it holds needs no password
    asks_again(city.ivan, end_url, {"choice": "release"})
    asks_again(city.ivan, reverse("governance:post_hold_release", args=[post_hold.pk]), {"choice": "release"})
    hold.refresh_from_db()
    assert hold.ended_at is None
    assert PostHold.objects.filter(pk=post_hold.pk, released_at__isnull=True).exists()


def test_people_who_may_not_are_refused_before_any_password_prompt(city):  # noqa: F811
    step = ApprovalStep.objects.create(department=city.parks, name="Review")
    browser = new_browser()
    sign_in(browser, city.alice)
    with time_machine.travel(time.time() + LATER, tick=False):
        for url in (
            reverse("departments:policy_step_add", args=[city.parks.pk]),
            reverse("departments:policy_step_delete", args=[city.parks.pk, step.pk]),
            reverse("departments:settings", args=[city.parks.pk]),
            reverse("connections:disconnect", args=[city.parks_channel.pk]),
            reverse("governance:crisis_start"),
        ):
            assert browser.post(url, {}).status_code in (403, 404), url
        for url in (
            reverse("connections:platform", args=[city.parks.pk, "feed"]),
            reverse("connections:platform", args=[city.parks.pk, "no-such-platform"]),
            reverse("connections:reconnect", args=[city.parks_channel.pk]),
        ):
            assert browser.get(url).status_code in (403, 404), url
            assert browser.post(url, {}).status_code in (403, 404), url
