"""Channel credentials are encrypted at rest and never leave the process in clear (not even in logs)."""

import json
import logging

import pytest
from cryptography.fernet import Fernet
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from civicpost import crypto
from scheduler.models import Channel, SandboxPost
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, tick

SECRET = "EAAB-very-secret-page-token-7c1d"

NEW_KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()


def _raw_credentials(channel_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM scheduler_channel WHERE id = %s", [channel_id])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_credentials_are_never_stored_in_clear():
    channel = ChannelFactory(credentials={"access_token": SECRET, "refresh_token": SECRET + "-refresh"})
    raw = _raw_credentials(channel.pk)
    assert SECRET not in raw
    assert "access_token" not in raw
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert json.loads(crypto.decrypt_text(raw)) == {"access_token": SECRET, "refresh_token": SECRET + "-refresh"}


@pytest.mark.django_db
def test_credentials_read_back_as_the_same_dict():
    channel = ChannelFactory(credentials={"access_token": SECRET, "expires_in": 3600, "scopes": ["a", "b"]})
    assert Channel.objects.get(pk=channel.pk).credentials == {
        "access_token": SECRET,
        "expires_in": 3600,
        "scopes": ["a", "b"],
    }
    channel.credentials = {}
    channel.save()
    assert Channel.objects.get(pk=channel.pk).credentials == {}
    assert SECRET not in _raw_credentials(channel.pk)


@pytest.mark.django_db
def test_each_save_uses_a_fresh_ciphertext():
    channel = ChannelFactory(credentials={"access_token": SECRET})
    first = _raw_credentials(channel.pk)
    channel.save()
    assert _raw_credentials(channel.pk) != first  # Fernet's random IV: equal secrets do not look equal


@pytest.mark.django_db
def test_serialised_channels_keep_the_ciphertext():
    channel = ChannelFactory(credentials={"access_token": SECRET})
    dumped = serializers.serialize("json", [channel])
    assert SECRET not in dumped
    stored = json.loads(dumped)[0]["fields"]["credentials"]
    assert json.loads(crypto.decrypt_text(stored)) == {"access_token": SECRET}


def test_encrypt_decrypt_round_trip_and_unicode():
    for plain in ("", "token", "ñandú — 東京 🔑"):
        token = crypto.encrypt_text(plain)
        assert plain not in token or plain == ""
        assert crypto.decrypt_text(token) == plain


def test_old_keys_still_decrypt_and_rotation_moves_to_the_newest():
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[OLD_KEY]):
        old_token = crypto.encrypt_text(SECRET)
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        assert crypto.decrypt_text(old_token) == SECRET
        rotated = crypto.rotate_token(old_token)
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[NEW_KEY]):
        assert crypto.decrypt_text(rotated) == SECRET
        with pytest.raises(ImproperlyConfigured, match="cannot be decrypted with CIVICPOST_ENCRYPTION_KEYS"):
            crypto.decrypt_text(old_token)


def test_missing_keys_are_a_configuration_error_with_instructions():
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[]):
        with pytest.raises(ImproperlyConfigured, match="CIVICPOST_ENCRYPTION_KEYS is empty. Generate a key with"):
            crypto.encrypt_text(SECRET)
        with pytest.raises(ImproperlyConfigured, match="CIVICPOST_ENCRYPTION_KEYS is empty"):
            crypto.decrypt_text("gAAAAAanything")


@pytest.mark.parametrize("bad_key", ["not-a-key", "c2hvcnQ=", " "])
def test_a_malformed_key_is_a_configuration_error_that_does_not_echo_the_key(bad_key):
    with (
        override_settings(CIVICPOST_ENCRYPTION_KEYS=[NEW_KEY, bad_key]),
        pytest.raises(ImproperlyConfigured, match="Key 2 of CIVICPOST_ENCRYPTION_KEYS is not a valid") as excinfo,
    ):
        crypto.encrypt_text(SECRET)
    assert bad_key.strip() == "" or bad_key not in str(excinfo.value)


def test_keys_with_surrounding_spaces_are_accepted():
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[f" {NEW_KEY}\n"]):
        token = crypto.encrypt_text(SECRET)
    with override_settings(CIVICPOST_ENCRYPTION_KEYS=[NEW_KEY]):
        assert crypto.decrypt_text(token) == SECRET


@pytest.mark.django_db
def test_a_full_publish_logs_no_token(personas, caplog):
    """Everything at DEBUG, SQL included: the channel's token appears nowhere, not even in query params."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own default config holds it at INFO
    with CaptureQueriesContext(connection) as queries:  # also turns on django.db.backends DEBUG logging
        channel = ChannelFactory(department=personas.parks, credentials={"access_token": SECRET})
        post = approved_post(author=personas.alice, approver=personas.bob, channels=[channel])
        make_due(post)
        tick()
    assert SandboxPost.objects.filter(channel=channel).count() == 1
    assert any("scheduler_channel" in q["sql"] for q in queries.captured_queries)
    assert any(record.name == "django.db.backends" for record in caplog.records)
    assert SECRET not in caplog.text
    assert all(SECRET not in q["sql"] for q in queries.captured_queries)
