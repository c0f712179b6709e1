"""Department admins and communications admins are emailed once per overdue delivery."""

import pytest
from django.core import mail
from django.test import override_settings

from departments.models import Role
from monitoring import services
from monitoring.models import OverdueAlert
from monitoring.tasks import alert_overdue_deliveries as alert_task
from people.services import user_language_set
from scheduler.models import ChannelStatus
from tests.factories import member

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("admins")]


@pytest.fixture
def admins(personas):  # noqa: ANN001, ANN201
    return {
        "parks_admin": member("pat", personas.parks, Role.ADMIN),
        "library_admin": member("lee", personas.library, Role.ADMIN),
        "comms_admin": member("erin", personas.communications, Role.ADMIN),
    }


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_an_overdue_delivery_emails_its_department_admins_and_the_communications_admins(approved_delivery) -> None:  # noqa: ANN001
    delivery = approved_delivery(minutes_ago=12)

    assert services.alert_overdue_deliveries() == 1

    [email] = mail.outbox
    assert sorted(email.to) == ["erin@city.example", "pat@city.example"]
    assert "Parks and Recreation" in email.subject
    assert "12 minutes late" in email.subject
    assert "/health/status/" in email.body
    assert f"/posts/{delivery.post_id}/" in email.body
    assert "Splash pads" not in email.body
    alert = OverdueAlert.objects.get(delivery=delivery)
    assert alert.recipient_count == 2


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_each_overdue_delivery_is_alerted_only_once(approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=15)

    assert services.alert_overdue_deliveries() == 1
    assert services.alert_overdue_deliveries() == 0
    assert alert_task() == 0
    assert len(mail.outbox) == 1


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_deliveries_not_yet_past_the_alert_time_send_nothing(approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=9)

    assert services.alert_overdue_deliveries() == 0
    assert mail.outbox == []


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_a_channel_waiting_for_reconnect_does_not_raise_overdue_alerts(personas, approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=60)
    personas.parks_channel.status = ChannelStatus.NEEDS_RECONNECT
    personas.parks_channel.save()

    assert services.alert_overdue_deliveries() == 0


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_a_failed_email_is_not_remembered_so_the_next_round_tries_again(approved_delivery, monkeypatch) -> None:  # noqa: ANN001
    delivery = approved_delivery(minutes_ago=30)

    def broken(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        raise OSError("mail server down")

    monkeypatch.setattr(services, "send_mail", broken)
    assert services.alert_overdue_deliveries() == 0
    assert not OverdueAlert.objects.filter(delivery=delivery).exists()

    monkeypatch.undo()
    assert services.alert_overdue_deliveries() == 1


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_the_celery_task_runs_the_service(approved_delivery) -> None:  # noqa: ANN001
    approved_delivery(minutes_ago=11)
    assert alert_task() == 1


@override_settings(CIVICPOST_OVERDUE_ALERT_MINUTES=10)
def test_the_alert_goes_out_once_per_language_each_in_its_readers_own(approved_delivery, admins) -> None:  # noqa: ANN001
    user_language_set(user=admins["parks_admin"], language="es")
    approved_delivery(minutes_ago=12)

    assert services.alert_overdue_deliveries() == 1

    by_reader = {tuple(email.to): email for email in mail.outbox}
    assert set(by_reader) == {("erin@city.example",), ("pat@city.example",)}
    assert "12 minutes late" in by_reader[("erin@city.example",)].subject
    spanish = by_reader[("pat@city.example",)]
    assert "12 minutos de atraso" in spanish.subject
    assert "Revise la página del estado de publicación" in spanish.body
