"""Best time to post: from the department's own history, else the city's (saying so), with sample sizes, in
the composer next to the time field."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from analytics.selectors import best_times_for_department
from tests.analytics.history import published_history

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC)


def at_hour_utc(hour: int, count: int, likes: int) -> list[dict]:
    return [
        {"published_at": dt.datetime(2026, 11, 1 + n % 18, hour, 0, tzinfo=dt.UTC), "likes": likes}
        for n in range(count)
    ]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_the_best_hour_comes_from_the_departments_own_history_in_its_zone(personas, frozen, settings):
    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 3
    # 15:00 UTC is 09:00 in Chicago; 23:00 UTC is 17:00.
    published_history(
        personas,
        personas.parks_channel,
        at_hour_utc(15, 3, likes=50) + at_hour_utc(23, 3, likes=5) + at_hour_utc(2, 2, likes=500),
    )
    best = best_times_for_department(department=personas.parks)
    assert best.source == "department"
    assert [(slot.label, slot.n) for slot in best.hours] == [("09:00", 3), ("17:00", 3)]  # 2 posts at 20:00: too few
    assert best.hours[0].rate == pytest.approx(50.0)
    assert best.sample == 6


def test_too_little_history_of_its_own_falls_back_to_the_city_and_says_so(personas, frozen, settings, client):
    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 3
    published_history(personas, personas.library_channel, at_hour_utc(14, 3, likes=30))
    published_history(personas, personas.parks_channel, at_hour_utc(15, 1, likes=30))
    best = best_times_for_department(department=personas.parks)
    assert best.source == "city"
    assert best.hours[0].label == "08:00"  # 14:00 UTC in Chicago
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:post_create")).content.decode()
    assert "has too little history of its own, so this comes from the whole city" in page
    assert 'aria-describedby="when-hint best-times"' in page or "best-times" in page


def test_without_history_nothing_is_suggested_and_the_composer_says_why(personas, frozen, client):
    assert best_times_for_department(department=personas.parks).suggested is None
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:post_create")).content.decode()
    assert "No best time to suggest for Parks and Recreation yet" in page


def test_the_composer_shows_the_departments_best_time_next_to_the_time_field(personas, frozen, settings, client):
    settings.CIVICPOST_ANALYTICS_MIN_SAMPLE = 2
    published_history(personas, personas.parks_channel, at_hour_utc(15, 2, likes=20))
    client.force_login(personas.alice)
    page = client.get(reverse("scheduler:post_create")).content.decode()
    assert "Best time for Parks and Recreation, from its own history (2 posts):" in page
    assert "<strong>09:00</strong>" in page
    assert page.index('id="best-times"') > page.index('name="publish_time"')
