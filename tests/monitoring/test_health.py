"""/health/ reports progress (last tick, overdue deliveries) and answers 503 when publishing stalls."""

import datetime as dt
from unittest import mock

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from civicpost import health
from departments.models import CityRole, CityRoleName, Role
from scheduler.models import ChannelStatus, Delivery, DeliveryStatus, PublisherHeartbeat
from tests.factories import UserFactory, member

pytestmark = pytest.mark.django_db


def tick(seconds_ago: float = 0.0, name: str = "publish_due") -> None:
    PublisherHeartbeat.objects.update_or_create(
        name=name, defaults={"last_tick_at": timezone.now() - dt.timedelta(seconds=seconds_ago)}
    )


def get_health(client) -> tuple[int, dict]:  # noqa: ANN001
    response = client.get(reverse("monitoring:health"))
    return response.status_code, response.json()


def test_health_is_200_without_login_when_nothing_is_due(client, personas) -> None:  # noqa: ANN001
    status, body = get_health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "embedded"
    assert body["due_count"] == 0
    assert body["last_tick_at"] is None
    assert body["problems"] == []


def test_due_deliveries_without_any_publisher_round_are_a_stall(client, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=0.5)

    status, body = get_health(client)

    assert status == 503
    assert body["status"] == "stalled"
    assert body["due_count"] == 1
    assert "no publisher has ever run" in body["problems"][0]


@override_settings(CIVICPOST_DISPATCH_INTERVAL_SECONDS=10)
def test_no_tick_for_more_than_three_intervals_while_due_is_a_stall(client, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=0.2)
    tick(seconds_ago=31)

    status, body = get_health(client)

    assert status == 503
    assert body["seconds_since_last_tick"] >= 31
    assert "No publisher round for 31 s" in body["problems"][0]


@override_settings(CIVICPOST_DISPATCH_INTERVAL_SECONDS=10)
def test_an_old_tick_is_fine_while_nothing_is_due(client, personas) -> None:  # noqa: ANN001
    tick(seconds_ago=3600)

    status, body = get_health(client)

    assert status == 200
    assert body["loops"][0]["name"] == "publish_due"


@override_settings(CIVICPOST_DISPATCH_INTERVAL_SECONDS=10, CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_recent_ticks_and_a_slightly_late_delivery_are_healthy(client, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=2)
    tick(seconds_ago=1)

    status, body = get_health(client)

    assert status == 200
    assert body["overdue_count"] == 1
    assert 110 < body["oldest_overdue_seconds"] < 130


@override_settings(CIVICPOST_DISPATCH_INTERVAL_SECONDS=10, CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_a_delivery_overdue_past_the_alert_minutes_is_a_stall_even_while_ticking(client, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=11)
    tick(seconds_ago=1)

    status, body = get_health(client)

    assert status == 503
    assert "11 minutes late" in body["problems"][0]


def test_health_reveals_no_post_content_or_ids(client, approved_delivery) -> None:  # noqa: ANN001
    delivery = approved_delivery(minutes_ago=30, text="Secret draft about the budget")

    response = client.get(reverse("monitoring:health"))

    assert b"Secret draft" not in response.content
    assert b"budget" not in response.content
    assert delivery.pk
    assert not [key for key in response.json() if key == "id" or key.endswith("_id")]


def test_counts_needs_attention_and_unknown(client, approved_delivery) -> None:  # noqa: ANN001
    first, second = approved_delivery(), approved_delivery(text="Another post")
    Delivery.objects.filter(pk=first.pk).update(status=DeliveryStatus.NEEDS_ATTENTION)
    Delivery.objects.filter(pk=second.pk).update(status=DeliveryStatus.UNKNOWN)

    status, body = get_health(client)

    assert status == 200
    assert (body["needs_attention_count"], body["unknown_count"]) == (1, 1)
    assert body["status"] == "degraded"


def test_deliveries_held_for_a_reconnect_are_not_a_stall(client, personas, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=60)
    personas.parks_channel.status = ChannelStatus.NEEDS_RECONNECT
    personas.parks_channel.save()

    status, body = get_health(client)

    assert status == 200
    assert body["waiting_for_reconnect_count"] == 1
    assert body["overdue_count"] == 0


def test_unreachable_database_is_a_503(client) -> None:  # noqa: ANN001
    with mock.patch.object(health, "database_ok", return_value=False):
        status, body = get_health(client)
    assert status == 503
    assert body["database"] == "unreachable"


@override_settings(REDIS_URL="redis://127.0.0.1:1/0", CELERY_TASK_ALWAYS_EAGER=False)
def test_unreachable_broker_is_reported_as_degraded() -> None:
    report = health.health_report()
    assert report.broker == "unreachable"
    assert report.status == "degraded"
    assert not report.stalled


@pytest.mark.redis
def test_reachable_broker_is_ok(settings) -> None:  # noqa: ANN001
    import os

    # Both through the fixture: an @override_settings decorator mixed with the `settings` fixture is
    # unwound in the wrong order and leaves CELERY_TASK_ALWAYS_EAGER=False for the rest of the session.
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = os.environ["REDIS_URL"]
    assert health.broker_state() == "ok"


# --- The admin page -------------------------------------------------------------------------------


def test_status_page_needs_login(client) -> None:  # noqa: ANN001
    response = client.get(reverse("monitoring:status"))
    assert response.status_code == 302


def test_status_page_is_refused_to_editors_and_department_approvers_with_a_page_that_says_so(client, personas) -> None:  # noqa: ANN001
    for user in (personas.alice, personas.bob, member("parks-admin", personas.parks, Role.ADMIN)):
        client.force_login(user)
        response = client.get(reverse("monitoring:status"))
        assert response.status_code == 403
        html = response.content.decode()
        # The site's own page, in its layout (the navigation), not a bare "403 Forbidden".
        assert "You cannot open this page" in html
        assert 'class="usa-nav"' in html
        assert "Publishing status" not in html


def test_status_page_is_for_the_it_admin_and_the_communications_managers(client, personas) -> None:  # noqa: ANN001
    it_admin = UserFactory(username="ivan")
    CityRole.objects.create(user=it_admin, role=CityRoleName.IT_ADMIN)
    manager = UserFactory(username="max")
    CityRole.objects.create(user=manager, role=CityRoleName.COMMUNICATIONS_MANAGER)
    for user in (it_admin, manager, personas.dana):  # Dana approves for the communications team
        client.force_login(user)
        response = client.get(reverse("monitoring:status"))
        assert response.status_code == 200
        # ...and the navigation leads there.
        assert f'href="{reverse("monitoring:status")}"' in client.get(reverse("scheduler:dashboard")).content.decode()


def test_status_page_shows_the_report_to_communications_admins(client, personas, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=20)
    admin = member("erin", personas.communications, Role.ADMIN)
    client.force_login(admin)

    response = client.get(reverse("monitoring:status"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Publishing has stalled" in html
    assert "no publisher has ever run" in html
    assert 'data-testid="overdue">1' in html


def test_status_page_shows_the_report_to_staff(client, personas) -> None:  # noqa: ANN001
    personas.carol.is_staff = True
    personas.carol.save()
    client.force_login(personas.carol)

    response = client.get(reverse("monitoring:status"))

    assert response.status_code == 200
    assert "Publishing is running normally." in response.content.decode()
