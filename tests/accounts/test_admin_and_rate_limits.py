"""Django admin sits behind allauth's sign-in (and so its rate limits and MFA); allauth refuses the sixth
failed sign-in in a row for one address, on whatever cache the settings give it."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import caches
from django.test import Client, override_settings
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from tests.accounts.conftest import fresh_address, give_totp, new_browser, sign_in, totp_code
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


# --- Behind the HTTPS proxy every request comes from the proxy's address -----------------------------------

# The proxy container as gunicorn sees it: one address per test module run (the limits count in the cache).
PROXY = fresh_address()


WRONG_PASSWORD = "not the password 123"  # noqa: S105 - a wrong guess, on purpose


def through_proxy(client_address: str, user, *, password: str = WRONG_PASSWORD, header: dict | None = None):  # noqa: ANN001, ANN201
    """Signs in through the proxy: the connection is the proxy's; it appends the client's address to
    X-Forwarded-For (after whatever the client sent itself), or sets `header` when given."""
    browser = Client(REMOTE_ADDR=PROXY)
    extra = header if header is not None else {"HTTP_X_FORWARDED_FOR": f"203.0.113.66, {client_address}"}
    return browser, browser.post("/accounts/login/", {"login": user.email, "password": password}, **extra)


def test_behind_the_proxy_one_client_guessing_passwords_does_not_lock_out_everybody_else(settings):  # noqa: ANN001
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    attacker, colleague_address = fresh_address(), fresh_address()
    victims = [UserFactory(username=f"proxied{n}") for n in range(11)]
    for victim in victims[:10]:
        assert TOO_MANY not in through_proxy(attacker, victim)[1].content.decode()
    # The eleventh guess from that client is refused: the limit still counts it...
    assert TOO_MANY in through_proxy(attacker, victims[10])[1].content.decode()
    # ...and typing another address in front of the proxy's entry does not get round it.
    _browser, spoofed = through_proxy(attacker, victims[10], header={"HTTP_X_FORWARDED_FOR": f"1.2.3.4, {attacker}"})
    assert TOO_MANY in spoofed.content.decode()
    # A colleague behind the same proxy signs in with the right password.
    colleague = UserFactory(username="proxied-colleague")
    browser, response = through_proxy(colleague_address, colleague, password=PASSWORD)
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(colleague.pk)
    # The audit trail names the real client, not the proxy.
    failed = AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).order_by("id").first()
    assert failed.ip_address == attacker
    assert AuditEvent.objects.get(action=AuditAction.SIGN_IN, actor=colleague).ip_address == colleague_address


def test_a_proxy_header_with_the_client_address_can_be_trusted_instead(settings):  # noqa: ANN001
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    attacker, colleague_address = fresh_address(), fresh_address()
    victims = [UserFactory(username=f"realip{n}") for n in range(11)]
    for victim in victims[:10]:
        through_proxy(attacker, victim, header={"HTTP_X_REAL_IP": attacker})
    assert TOO_MANY in through_proxy(attacker, victims[10], header={"HTTP_X_REAL_IP": attacker})[1].content.decode()
    colleague = UserFactory(username="realip-colleague")
    _browser, response = through_proxy(
        colleague_address, colleague, password=PASSWORD, header={"HTTP_X_REAL_IP": colleague_address}
    )
    assert response.status_code == 302


def test_without_trusted_proxies_a_forwarded_address_is_ignored():
    """The default (no DJANGO_BEHIND_PROXY): anyone could type X-Forwarded-For, so the connection counts
    (which is how one client locked everybody out behind the proxy)."""
    proxy_clients = [fresh_address() for _ in range(11)]
    victims = [UserFactory(username=f"direct{n}") for n in range(11)]
    for address, victim in zip(proxy_clients[:10], victims[:10], strict=True):
        through_proxy(address, victim)
    assert TOO_MANY in through_proxy(proxy_clients[10], victims[10])[1].content.decode()


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
