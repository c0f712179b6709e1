"""The outbox's look for subscriptions when a worker finishes a delivery: a statement compiled once per database
connection (issue 18) that gives the same subscriptions as the ORM's query, and never misses one saved after it
was compiled, by this worker's connection or by another process's."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from scheduler.models import DeliveryStatus
from tests.governance.city import City
from tests.scheduler import approved_post, make_due, tick
from webhooks import services as hooks
from webhooks.models import EventType, WebhookDelivery, WebhookSubscription


def subscribe(city: City, events: list[str], *, url: str, name: str = "City CMS") -> WebhookSubscription:
    return hooks.webhook_subscription_create(
        user=city.pat, department=city.parks, name=name, url=url, event_types=events
    ).subscription


def publish_one(city: City, text: str) -> None:
    post = approved_post(author=city.alice, approver=city.bob, channels=[city.parks_channel], text=text)
    make_due(post)
    tick()
    assert post.deliveries.get().status == DeliveryStatus.PUBLISHED


@pytest.mark.django_db
def test_the_compiled_statement_gives_what_the_orms_query_gives(httpserver):
    city = City()
    url = httpserver.url_for("/hook")
    second = subscribe(city, [EventType.POST_FAILED, EventType.POST_PUBLISHED], url=url, name="B second")
    first = subscribe(city, [EventType.POST_PUBLISHED], url=url, name="A first")
    switched_off = subscribe(city, [EventType.POST_PUBLISHED], url=url, name="C off")
    WebhookSubscription.objects.filter(pk=switched_off.pk).update(is_active=False)
    WebhookSubscription.objects.create(
        department=city.library, name="L", url=url, event_types=[EventType.POST_PUBLISHED], secret_encrypted="x"
    )

    expected = list(WebhookSubscription.objects.filter(is_active=True, department_id=city.parks.pk))
    for _ in range(2):  # compiled, then reused
        got = hooks.department_subscriptions_active(department_id=city.parks.pk)
        assert [row.pk for row in got] == [first.pk, second.pk] == [row.pk for row in expected]
        for row, orm_row in zip(got, expected, strict=True):
            assert row.__dict__.keys() == orm_row.__dict__.keys()
            fields = [field.attname for field in WebhookSubscription._meta.concrete_fields]
            assert [getattr(row, name) for name in fields] == [getattr(orm_row, name) for name in fields]
            assert row._state.adding is False and row._state.db == orm_row._state.db
        assert got[1].event_types == [EventType.POST_PUBLISHED, EventType.POST_FAILED]


@pytest.mark.django_db
def test_a_finished_delivery_without_subscriptions_costs_one_statement(django_assert_num_queries):
    City()
    with django_assert_num_queries(1):
        assert hooks.department_subscriptions_active(department_id=-1) == []


@pytest.mark.django_db
def test_a_subscription_saved_after_the_statement_was_compiled_gets_the_next_event(httpserver):
    city = City()
    publish_one(city, "Before anyone subscribed.")  # the worker's statement is compiled, and finds nothing
    assert not WebhookDelivery.objects.exists()

    subscription = subscribe(city, [EventType.POST_PUBLISHED], url=httpserver.url_for("/hook"))
    publish_one(city, "After the subscription was saved.")

    assert list(subscription.deliveries.values_list("event_type", flat=True)) == ["post.published"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections to one database")
def test_a_subscription_saved_by_another_process_gets_the_workers_next_event(httpserver):
    city = City()
    publish_one(city, "Before anyone subscribed.")  # this worker has compiled its statement and found nothing
    assert not WebhookDelivery.objects.exists()
    created: list[WebhookSubscription] = []

    def admin_saves_a_subscription() -> None:  # another process: its own connection, committed when it returns
        try:
            created.append(subscribe(city, [EventType.POST_PUBLISHED], url=httpserver.url_for("/hook")))
        finally:
            connections.close_all()

    other = threading.Thread(target=admin_saves_a_subscription)
    other.start()
    other.join()
    publish_one(city, "After the subscription was saved elsewhere.")

    (subscription,) = created
    assert list(subscription.deliveries.values_list("event_type", flat=True)) == ["post.published"]
