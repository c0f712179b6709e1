"""Re-authentication before sensitive actions (civicpost.reauth.require_recent_auth), applied to connecting
and reconnecting a channel: a sign-in within five minutes is enough, otherwise the password again, and a
form that was interrupted is sent on afterwards."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
import time_machine
from django.urls import reverse

from departments.models import Role
from scheduler.models import Channel
from tests.accounts.conftest import new_browser, sign_in
from tests.accounts.fake_oidc import follow_authorize, path_and_query
from tests.accounts.test_sso import LOGIN_URL, idp, sso_sign_in  # noqa: F401 - the fake provider fixture
from tests.factories import PASSWORD, ChannelFactory, member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reauth_on(settings):  # noqa: ANN001
    settings.CIVICPOST_REQUIRE_REAUTH = True


@pytest.fixture
def ada(personas):  # noqa: ANN001, ANN201
    """Parks department admin."""
    return member("ada", personas.parks, Role.ADMIN)


def feed_url(department) -> str:  # noqa: ANN001
    return reverse("connections:platform", kwargs={"department_id": department.pk, "platform": "feed"})


def test_a_fresh_sign_in_is_enough_to_connect_a_channel(personas, ada):
    browser = new_browser()
    sign_in(browser, ada)
    assert browser.get(feed_url(personas.parks)).status_code == 200


def test_after_five_minutes_the_password_is_asked_again_and_the_form_goes_through(personas, ada):
    browser = new_browser()
    sign_in(browser, ada)
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = browser.post(feed_url(personas.parks), {"display_name": "Parks news"})
        assert response.status_code == 302
        reauthenticate = f"{reverse('account_reauthenticate')}?{urlencode({'next': feed_url(personas.parks)})}"
        assert response["Location"] == reauthenticate
        assert not Channel.objects.filter(platform="feed").exists()

        wrong = browser.post(response["Location"], {"password": "not my password at all"})
        assert wrong.status_code == 200
        assert not Channel.objects.filter(platform="feed").exists()

        # The right password replays the interrupted form: the channel is connected once.
        done = browser.post(response["Location"], {"password": PASSWORD})
        assert done.status_code == 302
        assert Channel.objects.filter(platform="feed", department=personas.parks).count() == 1


def test_a_session_that_never_proved_its_password_is_asked_for_it(personas, ada):
    browser = new_browser()
    browser.force_login(ada)
    response = browser.get(feed_url(personas.parks))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    browser.post(response["Location"], {"password": PASSWORD})
    assert browser.get(feed_url(personas.parks)).status_code == 200


def test_reconnecting_a_channel_asks_too(personas, ada):
    channel = ChannelFactory(department=personas.parks, platform="feed", display_name="Parks news")
    browser = new_browser()
    browser.force_login(ada)
    response = browser.get(reverse("connections:reconnect", kwargs={"channel_id": channel.pk}))
    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_looking_at_channels_needs_no_new_password(personas, ada):
    browser = new_browser()
    browser.force_login(ada)
    assert browser.get(reverse("connections:start")).status_code == 200


def test_an_sso_only_account_is_sent_back_through_its_identity_provider(personas, idp):  # noqa: F811
    sso_user = member("sso-admin", personas.parks, Role.ADMIN)
    sso_user.set_unusable_password()
    sso_user.save()
    browser = new_browser()
    sso_sign_in(browser, idp, email=sso_user.email, sub="oid-sso-admin")
    assert browser.get(feed_url(personas.parks)).status_code == 200

    with time_machine.travel(time.time() + 6 * 60, tick=False):
        response = browser.get(feed_url(personas.parks))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL + "?")
    assert "auth_params=prompt%3Dlogin" in response["Location"]

    # Signing in at the provider again (it is asked to prompt) brings them back to the page.
    with time_machine.travel(time.time() + 6 * 60, tick=False):
        start = browser.post(response["Location"])
        assert idp.issuer in start["Location"]
        callback = follow_authorize(start["Location"])
        back = browser.get(path_and_query(callback))
        assert back["Location"] == feed_url(personas.parks)
        assert browser.get(feed_url(personas.parks)).status_code == 200
    assert idp.authorize_requests[-1]["prompt"] == "login"
