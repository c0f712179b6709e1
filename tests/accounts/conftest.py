"""Sign-in tests: real allauth pages, a browser-like client per test with its own address (allauth's rate
limits count per address in the shared cache), TOTP codes computed like an authenticator app."""

from __future__ import annotations

import itertools
import random

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client

from tests.factories import PASSWORD

_addresses = itertools.count(random.randrange(1, 200) * 1000)  # noqa: S311 - unique per run, not a secret


def fresh_address() -> str:
    """An address no other test used, so rate limits counted per address never leak between tests."""
    n = next(_addresses)
    return f"10.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256 or 1}"


@pytest.fixture
def browser() -> Client:
    return Client(REMOTE_ADDR=fresh_address(), HTTP_USER_AGENT="Mozilla/5.0 (CivicPost tests)")


def new_browser() -> Client:
    return Client(REMOTE_ADDR=fresh_address(), HTTP_USER_AGENT="Mozilla/5.0 (CivicPost tests)")


def totp_code(secret: str, *, offset: int = 0) -> str:
    """The code an authenticator app shows now (offset: periods later)."""
    import time

    from allauth.mfa import app_settings

    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD + offset))


def give_totp(user) -> str:  # noqa: ANN001
    """Activates an authenticator app for `user` and returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def sign_in(client: Client, user, password: str = PASSWORD):  # noqa: ANN001, ANN201
    """Signs in through allauth's sign-in form, as a person does."""
    return client.post("/accounts/login/", {"login": user.email, "password": password})


@pytest.fixture
def require_mfa(settings):  # noqa: ANN001, ANN201
    settings.CIVICPOST_REQUIRE_MFA = True
    return settings
