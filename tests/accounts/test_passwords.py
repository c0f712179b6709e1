"""Passwords: Django's validators (12 characters, not common, not like the user's name) and the optional
Have I Been Pwned check, faked with `responses` (only 5 characters of the SHA-1 are sent)."""

from __future__ import annotations

import hashlib
import logging

import pytest
import requests
import responses
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

from accounts.validators import PwnedPasswordValidator
from tests.factories import UserFactory

RANGE_URL = "https://api.pwnedpasswords.com/range/"
BREACHED = "Tr0ub4dor&3-horse"
FRESH = "a quiet lantern over Kessler Park 1987"


def sha1(password: str) -> str:
    return hashlib.sha1(password.encode(), usedforsecurity=False).hexdigest().upper()


def range_body(*, include: str | None = None, count: int = 3, padding: list[str] | None = None) -> str:
    lines = ["0018A45C4D1DEF81644B54AB7F969B88D65:1", "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2"]
    if include is not None:
        lines.append(f"{sha1(include)[5:]}:{count}")
    # With Add-Padding the service adds fake suffixes with a count of 0.
    lines += [f"{suffix}:0" for suffix in padding or []]
    return "\r\n".join(lines)


@pytest.fixture
def hibp():  # noqa: ANN201
    with responses.RequestsMock() as rsps:
        yield rsps


def test_a_breached_password_is_refused_and_only_the_hash_prefix_is_sent(hibp):
    hibp.get(RANGE_URL + sha1(BREACHED)[:5], body=range_body(include=BREACHED, count=4211))
    with pytest.raises(ValidationError) as error:
        PwnedPasswordValidator().validate(BREACHED)
    assert "appeared in 4211 data breaches" in error.value.messages[0]
    (call,) = hibp.calls
    assert call.request.url == RANGE_URL + sha1(BREACHED)[:5]
    assert call.request.headers["Add-Padding"] == "true"
    assert call.request.headers["User-Agent"].startswith("CivicPost/")
    assert BREACHED not in call.request.url
    assert sha1(BREACHED)[5:] not in call.request.url


def test_a_password_not_in_any_breach_passes(hibp):
    hibp.get(RANGE_URL + sha1(FRESH)[:5], body=range_body())
    PwnedPasswordValidator().validate(FRESH)


def test_padding_lines_with_a_zero_count_are_not_breaches(hibp):
    hibp.get(RANGE_URL + sha1(FRESH)[:5], body=range_body(padding=[sha1(FRESH)[5:]]))
    PwnedPasswordValidator().validate(FRESH)


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("Failed to establish a new connection"),
        requests.Timeout("Read timed out"),
    ],
)
def test_when_the_service_cannot_be_reached_the_password_passes_with_a_warning(hibp, caplog, failure):
    hibp.get(RANGE_URL + sha1(BREACHED)[:5], body=failure)
    with caplog.at_level(logging.WARNING, logger="accounts.validators"):
        PwnedPasswordValidator().validate(BREACHED)
    assert "Breached-password check unavailable" in caplog.text
    assert BREACHED not in caplog.text
    assert sha1(BREACHED) not in caplog.text


def test_a_server_error_also_passes_with_a_warning(hibp, caplog):
    hibp.get(RANGE_URL + sha1(BREACHED)[:5], status=503)
    with caplog.at_level(logging.WARNING, logger="accounts.validators"):
        PwnedPasswordValidator().validate(BREACHED)
    assert "HTTPError" in caplog.text


@pytest.mark.django_db
def test_the_check_runs_with_djangos_validators_when_switched_on(hibp):
    validators = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
        {"NAME": "accounts.validators.PwnedPasswordValidator"},
    ]
    hibp.get(RANGE_URL + sha1(BREACHED)[:5], body=range_body(include=BREACHED))
    with override_settings(AUTH_PASSWORD_VALIDATORS=validators), pytest.raises(ValidationError) as error:
        validate_password(BREACHED, user=UserFactory(username="pat"))
    assert any("data breach" in message for message in error.value.messages)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short pass", "at least 12 characters"),
        ("password1234", "too common"),
        ("123456789012345", "entirely numeric"),
    ],
)
def test_djangos_validators_refuse_short_common_and_numeric_passwords(password, problem):
    with pytest.raises(ValidationError) as error:
        validate_password(password, user=UserFactory(username="quinn"))
    assert any(problem in message for message in error.value.messages)


def test_the_breach_check_is_off_unless_the_environment_switches_it_on(settings):
    assert settings.CIVICPOST_PWNED_PASSWORDS_CHECK is False
    assert not any("Pwned" in v["NAME"] for v in settings.AUTH_PASSWORD_VALIDATORS)
