"""/api/v1/analytics/: the same figures as the pages, with sample sizes and nulls for what is not reported,
under the same permission rules (the matrix is in test_api_permissions.py)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tests.analytics.history import published_history
from tests.api.conftest import client_with, token_for

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)
IN_PERIOD = dt.datetime(2026, 11, 17, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def history(city):
    with time_machine.travel(NOW, tick=False):
        deliveries = published_history(
            city,
            city.parks_channel,
            [{"published_at": IN_PERIOD, "likes": 30, "shares": 3, "text": "Pools open"}] * 3,
            followers=2000,
        )
        yield city, deliveries


def test_a_departments_figures_for_a_period(history):
    city, _deliveries = history
    with time_machine.travel(NOW, tick=False):
        body = (
            client_with(token_for(city.alice, scopes=("read",)))
            .get(f"/api/v1/analytics/departments/{city.parks.pk}/", {"start": "2026-11-01", "end": "2026-11-20"})
            .json()
        )
    assert body["start"] == "2026-11-01" and body["end"] == "2026-11-20" and body["time_zone"] == "America/Chicago"
    channel = body["channels"][0]
    assert channel["label"] == "Parks on Sandbox" and channel["followers"] == 2000
    assert channel["engagement"] == 99 and channel["deliveries_with_follower_counts"] == 3
    assert channel["engagement_per_1000_followers"] == pytest.approx(16.5)
    assert channel["views"] is None and channel["deliveries_reporting_views"] == 0  # not reported, not 0
    assert body["minimum_sample"] == 10 and channel["enough_for_conclusions"] is False
    assert {f["key"] for f in body["factors"]} == {"image", "link", "language", "weekday", "hour"}
    assert body["top_posts"][0]["text"] == "Pools open"


def test_a_posts_figures_over_time_and_nulls_for_what_is_not_reported(history):
    city, deliveries = history
    with time_machine.travel(NOW, tick=False):
        body = client_with(token_for(city.alice)).get(f"/api/v1/analytics/posts/{deliveries[0].post_id}/").json()
    [channel] = body["channels"]
    [snapshot] = channel["snapshots"]
    assert snapshot["age"] == "24h" and snapshot["likes"] == 30 and snapshot["views"] is None
    assert set(snapshot["not_reported"]) == {"views", "quotes"}


def test_the_city_figures_are_for_the_city_wide_readers_and_a_bad_period_is_a_problem(history):
    city, _deliveries = history
    with time_machine.travel(NOW, tick=False):
        assert client_with(token_for(city.alice)).get("/api/v1/analytics/city/").status_code == 403
        manager = client_with(token_for(city.max))
        body = manager.get("/api/v1/analytics/city/").json()
        assert [d["label"] for d in body["departments"]] == ["Parks and Recreation"]
        bad = manager.get("/api/v1/analytics/city/", {"start": "2026-11-20", "end": "2026-11-01"})
    assert bad.status_code == 400 and bad["Content-Type"] == "application/problem+json"


def test_another_departments_figures_are_not_found(history):
    city, _deliveries = history
    response = client_with(token_for(city.carol)).get(f"/api/v1/analytics/departments/{city.parks.pk}/")
    assert response.status_code == 404
