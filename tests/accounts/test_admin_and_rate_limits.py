"""Django admin sits behind allauth's sign-in (and so its rate limits and MFA); allauth refuses the sixth
failed sign-in in a row for one address, on whatever cache the settings give it."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from tests.accounts.conftest import give_totp, new_browser, sign_in, totp_code
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts. Try again later."


@pytest.fixture
def staff():  # noqa: ANN201
    return UserFactory(username="it-admin", is_staff=True, is_superuser=True)


# --- Django admin -----------------------------------------------------------------------------------------


def test_the_admin_sign_in_page_is_allauths(staff):
    browser = new_browser()
    response = browser.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    # Django's own admin form never shows, so its password check (without rate limit or MFA) is unused.
    assert browser.post("/admin/login/", {"username": staff.username, "password": PASSWORD}).status_code == 302
    assert "_auth_user_id" not in browser.session


def test_a_staff_user_with_totp_reaches_the_admin_only_after_the_code(staff, require_mfa):
    secret = give_totp(staff)
    browser = new_browser()
    browser.get("/admin/login/?next=/admin/")
    response = browser.post("/accounts/login/?next=%2Fadmin%2F", {"login": staff.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    # The password alone does not open the admin.
    assert browser.get("/admin/")["Location"].startswith("/admin/login/")

    response = browser.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert response["Location"] == "/admin/"
    assert browser.get("/admin/").status_code == 200


def test_a_staff_user_without_mfa_is_sent_to_set_it_up_before_the_admin(staff, require_mfa):
    browser = new_browser()
    sign_in(browser, staff)
    response = browser.get("/admin/")
    assert response["Location"].startswith("/accounts/security/two-step-required/")


def test_a_signed_in_non_staff_user_is_refused_the_admin(personas):
    browser = new_browser()
    browser.force_login(personas.bob)
    assert browser.get("/admin/login/").status_code == 403


# --- Rate limits --------------------------------------------------------------------------------------------


def fail_five_times(user) -> None:  # noqa: ANN001
    """Five wrong passwords for one account, each from its own address (so only the per-account limit counts)."""
    for _ in range(5):
        response = sign_in(new_browser(), user, password="not the password 123")
        assert response.status_code == 200
        assert "The email address and/or password you specified are not correct." in response.content.decode()


def test_the_sixth_failed_sign_in_in_a_row_for_one_account_is_refused():
    user = UserFactory(username="target")
    fail_five_times(user)

    sixth = sign_in(new_browser(), user, password="not the password 123")
    assert TOO_MANY in sixth.content.decode()
    # Even the right password is refused while the limit holds: guessing cannot go on.
    right = new_browser()
    response = sign_in(right, user)
    assert response.status_code == 200
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in right.session


def test_the_limit_is_per_account_so_colleagues_still_sign_in():
    user = UserFactory(username="target2")
    colleague = UserFactory(username="colleague")
    fail_five_times(user)
    browser = new_browser()
    assert sign_in(browser, colleague).status_code == 302
    assert browser.session["_auth_user_id"] == str(colleague.pk)


def test_ten_failures_a_minute_from_one_address_are_refused_whichever_account():
    browser = new_browser()
    users = [UserFactory(username=f"spray{n}") for n in range(11)]
    for user in users[:10]:
        assert TOO_MANY not in sign_in(browser, user, password="not the password 123").content.decode()
    assert TOO_MANY in sign_in(browser, users[10], password="not the password 123").content.decode()


def test_a_successful_sign_in_does_not_use_up_the_limit():
    user = UserFactory(username="steady")
    for _ in range(6):
        browser = new_browser()
        assert sign_in(browser, user).status_code == 302


@pytest.mark.redis
def test_the_limit_holds_on_redis_shared_by_every_web_process(settings):
    """With REDIS_URL (production, CI) the counts live in Redis, so every gunicorn worker sees them."""
    import os

    redis_cache = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            "KEY_PREFIX": "civicpost-test-ratelimit",
        }
    }
    with override_settings(CACHES=redis_cache):
        # Never cache.clear() here: on Redis that is FLUSHDB, and Celery shares the database.
        client = caches["default"]._cache.get_client()
        try:
            user = UserFactory(username=f"redis-target-{uuid.uuid4().hex[:8]}")
            fail_five_times(user)
            assert TOO_MANY in sign_in(new_browser(), user).content.decode()
            assert client.keys("civicpost-test-ratelimit:*")
        finally:
            for key in client.keys("civicpost-test-ratelimit:*"):
                client.delete(key)
