"""Idempotency-Key under concurrency, on PostgreSQL: eight threads (each with its own connection) send the
same create with the same key at the same moment; one post is created and all eight get its response."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from api.models import IdempotencyRecord
from scheduler.models import Post
from tests.api.conftest import client_with, token_for
from tests.governance.city import City

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 8


def test_concurrent_duplicates_with_one_key_create_one_post():
    city = City()
    secret = token_for(city.alice)
    body = {
        "department": city.parks.pk,
        "text": "Main Street closed for repairs until 6 p.m.",
        "due_at": (timezone.now() + dt.timedelta(hours=3)).isoformat(),
        "channels": [city.parks_channel.pk],
    }
    barrier = threading.Barrier(RACERS)
    results: list[tuple[int, dict, str]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def race() -> None:
        try:
            client = client_with(secret)
            barrier.wait(timeout=30)
            response = client.post("/api/v1/posts/", body, format="json", HTTP_IDEMPOTENCY_KEY="311-case-4411")
            with lock:
                results.append((response.status_code, response.json(), response["Idempotency-Replayed"]))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == RACERS
    assert Post.objects.filter(author=city.alice).count() == 1
    assert IdempotencyRecord.objects.count() == 1
    assert {status for status, _body, _replayed in results} == {201}
    assert len({body["id"] for _status, body, _replayed in results}) == 1
    assert sorted(replayed for _s, _b, replayed in results) == ["false"] + ["true"] * (RACERS - 1)
