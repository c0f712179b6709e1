"""Channel tokens are never in clear outside the process that uses them: not in a database dump, not in a
raw SELECT of the channel table, not in any other table, and not in the logs of a full publish (every
logger at DEBUG, SQL included) through the Sandbox and through the real Mastodon adapter against a fake
instance (`responses`), a refusal included."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import responses
from django.apps import apps
from django.core.management import call_command
from django.db import connection

from scheduler import publishing
from scheduler.models import Channel, Delivery, DeliveryStatus
from scheduler.tasks import enqueue_publish
from tests.accounts.conftest import give_totp
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due

pytestmark = pytest.mark.django_db

SANDBOX_TOKEN = "sbx-4f9c1d7e-SECRET-never-logged"
MASTODON_TOKEN = "mstdn-ZA9Yj3aBD8U8-SECRET-never-logged"
REFRESH_TOKEN = "refresh-77b1-SECRET-never-logged"
INSTANCE = "http://127.0.0.1:8401"
FIXTURES = Path(__file__).resolve().parents[1] / "scheduler" / "adapters" / "fixtures" / "mastodon"
SECRETS = (SANDBOX_TOKEN, MASTODON_TOKEN, REFRESH_TOKEN)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def channels(personas):  # noqa: ANN001, ANN201
    sandbox = ChannelFactory(
        department=personas.parks,
        display_name="Parks on Sandbox (secret)",
        credentials={"token": SANDBOX_TOKEN, "refresh_token": REFRESH_TOKEN},
    )
    mastodon = ChannelFactory(
        department=personas.parks,
        platform="mastodon",
        display_name="Parks on Mastodon",
        account_handle="@parks@social.city.example",
        credentials={"access_token": MASTODON_TOKEN},
        options={"instance_url": INSTANCE, "max_characters": 500},
    )
    return sandbox, mastodon


@pytest.fixture
def everything_at_debug():  # noqa: ANN201
    """Every logger, the client libraries' too, at DEBUG; SQL statements logged with their parameters."""
    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in logging.root.manager.loggerDict]
    levels = {logger: logger.level for logger in loggers}
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    for name in ("mastodon", "urllib3", "requests", "responses", "django.db.backends", "celery", "kombu"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger().addHandler(handler)
    debug_cursor = connection.force_debug_cursor
    connection.force_debug_cursor = True
    try:
        yield captured
    finally:
        connection.force_debug_cursor = debug_cursor
        logging.getLogger().removeHandler(handler)
        for logger, level in levels.items():
            logger.setLevel(level)


def test_a_database_dump_holds_no_token_in_clear(channels):
    sandbox, mastodon = channels
    give_totp(sandbox.department.memberships.first().user)
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert '"model": "scheduler.channel"' in dump
    for secret in SECRETS:
        assert secret not in dump
    # The ciphertext is what was dumped, and it still opens with the key.
    assert Channel.objects.get(pk=mastodon.pk).credentials["access_token"] == MASTODON_TOKEN


def test_a_raw_select_of_the_channel_table_and_of_every_other_table_finds_no_token(channels):
    table = Channel._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - our own table name
        rows = cursor.fetchall()
    assert len(rows) >= 2
    for secret in SECRETS:
        assert secret not in repr(rows)

    tables = {model._meta.db_table for model in apps.get_models()}
    with connection.cursor() as cursor:
        for name in sorted(tables & set(connection.introspection.table_names())):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(name)}")  # noqa: S608
            content = repr(cursor.fetchall())
            for secret in SECRETS:
                assert secret not in content, f"{secret[:8]}... found in {name}"


def test_the_logs_of_a_full_publish_hold_no_token(everything_at_debug, personas, channels):
    sandbox, mastodon = channels
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.get(f"{INSTANCE}/api/v2/instance", json=fixture("instance_v2.json"))
        fake.post(f"{INSTANCE}/api/v1/statuses", json=fixture("status.json"))
        ok = approved_post(
            author=personas.alice, approver=personas.bob, channels=[sandbox, mastodon], link="https://city.example"
        )
        make_due(ok)
        publishing.dispatch_tick(enqueue=enqueue_publish)
        publishing.dispatch_tick(enqueue=enqueue_publish)
        assert sorted(Delivery.objects.filter(post=ok).values_list("status", flat=True)) == [
            DeliveryStatus.PUBLISHED,
            DeliveryStatus.PUBLISHED,
        ]
        (status_call,) = [c for c in fake.calls if c.request.url.endswith("/api/v1/statuses")]
        assert status_call.request.headers["Authorization"] == f"Bearer {MASTODON_TOKEN}"

    # A refusal too: error paths are where clients like to print the request.
    with responses.RequestsMock(assert_all_requests_are_fired=False) as fake:
        fake.get(f"{INSTANCE}/api/v2/instance", json=fixture("instance_v2.json"))
        fake.post(f"{INSTANCE}/api/v1/statuses", status=401, json=fixture("error_401.json"))
        refused = approved_post(author=personas.alice, approver=personas.bob, channels=[mastodon])
        make_due(refused)
        publishing.dispatch_tick(enqueue=enqueue_publish)
        delivery = Delivery.objects.get(post=refused)
        assert delivery.status != DeliveryStatus.PUBLISHED

    logs = everything_at_debug.getvalue()
    # The capture saw it all: the channels written (credentials as ciphertext) and the deliveries updated.
    assert 'INSERT INTO "scheduler_channel"' in logs
    assert 'UPDATE "scheduler_delivery"' in logs
    for secret in SECRETS:
        assert secret not in logs
    # Nor did a token reach a row's messages.
    for message in Delivery.objects.values_list("failure_message", flat=True):
        for secret in SECRETS:
            assert secret not in (message or "")
