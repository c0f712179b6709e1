"""Sessions: an idle limit renewed by every request, an absolute limit, a list of one's own sessions with a
way to end the others, and deactivation that signs the person out everywhere and leaves the city's
channels and posts where they are."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts.receivers import SIGNED_IN_AT_SESSION_KEY
from accounts.services import user_sessions_end_all
from scheduler.models import Channel, ChannelStatus, Delivery, Post
from tests.accounts.conftest import new_browser, sign_in
from tests.scheduler import approved_post, draft_post

pytestmark = pytest.mark.django_db


def sessions_of(user) -> list[Session]:  # noqa: ANN001
    return [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]


# --- Idle and absolute limits ----------------------------------------------------------------------------


def test_a_sign_in_lasts_thirty_idle_minutes_renewed_by_every_request():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_half_an_hour_without_a_request_signs_the_user_out(personas):
    browser = new_browser()
    sign_in(browser, personas.alice)
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=25), tick=False):
        assert browser.get("/").status_code == 200  # renews the idle limit
    with time_machine.travel(start + dt.timedelta(minutes=50), tick=False):
        assert browser.get("/").status_code == 200  # 25 minutes after the last request: still signed in
    with time_machine.travel(start + dt.timedelta(minutes=81), tick=False):
        response = browser.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_however_active_a_sign_in_ends_after_the_absolute_limit(personas, settings):
    settings.CIVICPOST_SESSION_MAX_SECONDS = 12 * 3600
    browser = new_browser()
    sign_in(browser, personas.alice)
    assert browser.session[SIGNED_IN_AT_SESSION_KEY] == pytest.approx(time.time(), abs=5)
    session = browser.session
    session[SIGNED_IN_AT_SESSION_KEY] = int(time.time()) - 12 * 3600 - 1
    session.save()

    response = browser.get("/calendar/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fcalendar%2F"
    assert "_auth_user_id" not in browser.session
    page = browser.get(response["Location"])
    assert "a sign-in lasts at most 12 hours" in page.content.decode()


def test_the_absolute_limit_can_be_switched_off(personas, settings):
    settings.CIVICPOST_SESSION_MAX_SECONDS = 0
    browser = new_browser()
    sign_in(browser, personas.alice)
    session = browser.session
    session[SIGNED_IN_AT_SESSION_KEY] = 0
    session.save()
    assert browser.get("/").status_code == 200


# --- Seeing and ending one's sessions ----------------------------------------------------------------------


def test_the_account_page_links_mfa_sessions_and_password(personas):
    browser = new_browser()
    sign_in(browser, personas.alice)
    sign_in(new_browser(), personas.alice)
    page = browser.get(reverse("accounts:security"))
    assert page.status_code == 200
    body = page.content.decode()
    assert reverse("mfa_index") in body
    assert reverse("usersessions_list") in body
    assert reverse("account_change_password") in body
    assert "You are signed in on 2 devices or browsers." in body
    # And every page's menu leads there.
    assert reverse("accounts:security") in browser.get("/").content.decode()


def test_a_user_sees_their_sessions_and_signs_the_others_out(personas):
    laptop, phone = new_browser(), new_browser()
    sign_in(laptop, personas.alice)
    sign_in(phone, personas.alice)
    sign_in(new_browser(), personas.carol)

    page = laptop.get(reverse("usersessions_list"))
    assert page.status_code == 200
    assert len(page.context["sessions"]) == 2
    assert "Mozilla/5.0 (CivicPost tests)" in page.content.decode()

    laptop.post(reverse("usersessions_list"))
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    assert UserSession.objects.filter(user=personas.alice).count() == 1
    assert UserSession.objects.filter(user=personas.carol).count() == 1


# --- Deactivation -------------------------------------------------------------------------------------------


def test_deactivating_a_user_ends_all_their_sessions(personas):
    tracked, untracked = new_browser(), new_browser()
    sign_in(tracked, personas.bob)
    untracked.force_login(personas.bob)  # a session allauth never saw: found in the session table
    other = new_browser()
    sign_in(other, personas.alice)
    assert len(sessions_of(personas.bob)) == 2

    personas.bob.is_active = False
    personas.bob.save()

    assert sessions_of(personas.bob) == []
    assert not UserSession.objects.filter(user=personas.bob).exists()
    for browser in (tracked, untracked):
        assert browser.get("/").status_code == 302
    assert other.get("/").status_code == 200


def test_deactivation_leaves_the_departments_channels_and_posts_in_place(personas):
    published_channel = personas.parks_channel
    draft = draft_post(author=personas.bob, channels=[published_channel])
    approved = approved_post(author=personas.alice, approver=personas.bob, channels=[published_channel])
    before = {
        "channels": list(Channel.objects.values_list("pk", "department_id", "status", "credentials")),
        "posts": list(Post.objects.order_by("pk").values_list("pk", "author_id", "status")),
        "deliveries": list(Delivery.objects.order_by("pk").values_list("pk", "status")),
    }

    personas.bob.is_active = False
    personas.bob.save()

    after = {
        "channels": list(Channel.objects.values_list("pk", "department_id", "status", "credentials")),
        "posts": list(Post.objects.order_by("pk").values_list("pk", "author_id", "status")),
        "deliveries": list(Delivery.objects.order_by("pk").values_list("pk", "status")),
    }
    assert after == before
    assert Post.objects.filter(pk__in=[draft.pk, approved.pk]).count() == 2
    assert Channel.objects.get(pk=published_channel.pk).status == ChannelStatus.CONNECTED


def test_saving_an_active_user_or_reactivating_one_ends_nothing(personas):
    browser = new_browser()
    sign_in(browser, personas.bob)
    personas.bob.first_name = "Robert"
    personas.bob.save()
    personas.bob.save(update_fields=["last_login"])
    assert browser.get("/").status_code == 200


def test_the_service_reports_how_many_sessions_it_ended(personas):
    for _ in range(3):
        sign_in(new_browser(), personas.carol)
    assert user_sessions_end_all(user=personas.carol) == 3
    assert user_sessions_end_all(user=personas.carol) == 0
