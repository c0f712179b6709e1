"""The worker's writes in one statement (PostgreSQL: claimed -> sending with its attempt; the outcome, its
attempt, the post's status and the audit event) leave exactly the rows the ORM's path leaves (SQLite, and
what the statements replaced): each scenario runs both ways and the rows are compared."""

from typing import Any

import pytest
from django.db import connection, transaction

from audit.models import AuditEvent
from scheduler import publishing
from scheduler.models import Delivery, DeliveryAttempt, DeliveryStatus, Post
from tests.factories import ChannelFactory
from tests.scheduler import approved_post, make_due, set_mode

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's"),
]

DELIVERY_FIELDS = ("status", "attempts", "failure_message", "lease_expires_at")
ATTEMPT_FIELDS = ("number", "outcome", "message")
AUDIT_FIELDS = ("actor_id", "actor_label", "action", "target_type", "ip_address", "user_agent", "message")


def _rows(post: Post) -> dict[str, Any]:
    """What the worker left, without ids, instants and the platform's ids (they differ between two runs)."""
    post.refresh_from_db()
    deliveries = list(post.deliveries.order_by("pk"))
    attempts = (
        DeliveryAttempt.objects.filter(delivery__post=post).select_related("delivery").order_by("delivery_id", "number")
    )
    events = AuditEvent.objects.filter(
        target_id=str(post.pk), action__in=list(publishing.AUDITED_OUTCOMES.values())
    ).order_by("pk")
    return {
        "post": post.status,
        "deliveries": [
            (
                *(getattr(d, name) for name in DELIVERY_FIELDS),
                bool(d.remote_id),
                bool(d.permalink),
                d.published_at is not None,
                d.next_attempt_at > d.due_at,
            )
            for d in deliveries
        ],
        "attempts": [
            (
                *(getattr(a, name) for name in ATTEMPT_FIELDS),
                a.remote_id == (a.delivery.remote_id if a.outcome == "published" else a.remote_id),
                bool(a.remote_id),
                sorted(a.response) if isinstance(a.response, dict) else a.response,
                a.started_at is not None,
                a.finished_at is not None,
            )
            for a in attempts
        ],
        "audit": [
            (
                *(getattr(e, name) for name in AUDIT_FIELDS),
                e.department_id == post.department_id,
                {**e.changes, "delivery": "", "channel": "", "remote_id": bool(e.changes.get("remote_id"))},
            )
            for e in events
        ],
    }


def _run(personas, monkeypatch, *, one_statement: bool, modes: list[str]) -> dict[str, Any]:  # noqa: ANN001
    monkeypatch.setattr(publishing, "_writes_in_one_statement", lambda: one_statement)
    channels = [personas.parks_channel, *(ChannelFactory(department=personas.parks) for _ in modes[1:])]
    for channel, mode in zip(channels, modes, strict=True):
        set_mode(channel, mode)
    post = approved_post(author=personas.alice, approver=personas.bob, channels=channels)
    make_due(post)
    for delivery_id in publishing.deliveries_claim_due():
        publishing.delivery_publish(delivery_id=delivery_id)
    rows = _rows(post)
    # Clean slate for the other run: the personas' channel is shared.
    set_mode(personas.parks_channel, "ok")
    return rows


@pytest.mark.parametrize(
    "modes",
    [
        ["ok"],  # published, and the post with it
        ["ok", "ok", "ok"],  # the post finishes with its last delivery only
        ["ok", "fail"],  # a permanent failure: failed, audited, the post not finished
        ["fail"],  # the post's only delivery failed: the post is finished (published with failures)
        ["down", "ok"],  # retry_wait: not audited, the post waits
        ["timeout"],  # unknown
        ["rate_limit"],  # retry_wait with the platform's wait
    ],
)
def test_the_one_statement_path_leaves_the_rows_the_orm_path_leaves(personas, monkeypatch, modes):
    through_orm = _run(personas, monkeypatch, one_statement=False, modes=modes)
    in_one_statement = _run(personas, monkeypatch, one_statement=True, modes=modes)
    assert in_one_statement == through_orm
    assert in_one_statement["attempts"]  # the scenario did publish something
    assert bool(in_one_statement["audit"]) == any(mode in ("ok", "fail") for mode in modes)


def test_an_attempt_that_no_longer_owns_its_delivery_changes_nothing_but_its_own_row(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    [delivery_id] = publishing.deliveries_claim_due()
    started = publishing._start_sending(delivery_id)
    assert started is not None
    delivery, attempt = started
    assert DeliveryAttempt.objects.get(pk=attempt.pk).outcome == "sending"
    assert Delivery.objects.get(pk=delivery_id).lease_expires_at is not None
    # A newer attempt started meanwhile (the sweeper gave up on this one and the delivery was sent again).
    Delivery.objects.filter(pk=delivery_id).update(attempts=2)

    assert not publishing._finish(delivery, attempt, status=DeliveryStatus.PUBLISHED)
    stored = Delivery.objects.get(pk=delivery_id)
    assert (stored.status, stored.remote_id) == (DeliveryStatus.SENDING, "")
    assert DeliveryAttempt.objects.get(pk=attempt.pk).outcome == "superseded"
    assert not AuditEvent.objects.filter(action="post_published").exists()
    post.refresh_from_db()
    assert post.status == "approved"


def _loaded(instance: Any) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_the_prepared_delivery_statement_builds_what_the_orm_builds(personas):
    post = approved_post(author=personas.alice, approver=personas.bob, channels=[personas.parks_channel])
    make_due(post)
    [delivery_id] = publishing.deliveries_claim_due()
    with transaction.atomic():
        assert publishing._locked_delivery(delivery_id + 1000) is None
        prepared = publishing._locked_delivery(delivery_id)
        again = publishing._locked_delivery(delivery_id)  # the statement compiled once, used twice
        through_orm = publishing._locked_delivery_queryset(delivery_id).get()
    for delivery in (prepared, again):
        assert delivery is not None
        assert _loaded(delivery) == _loaded(through_orm)
        for related in ("post", "approval", "channel"):
            assert _loaded(getattr(delivery, related)) == _loaded(getattr(through_orm, related))
        assert _loaded(delivery.post.department) == _loaded(through_orm.post.department)
        assert delivery.channel.credentials == through_orm.channel.credentials  # decrypted
        assert isinstance(delivery.approval.content, dict)
        assert not delivery._state.adding


def test_the_posts_lock_is_the_statement_the_orm_compiles():
    with transaction.atomic():
        query = Post.objects.select_for_update().filter(pk=7).order_by().values_list("pk", flat=True).query
        sql_text, params = query.get_compiler(connection=connection).as_sql()
    # The same statement, but for the column alias values_list gives ("pk"), which nothing reads.
    assert (publishing._sql_lock_post(), list(params)) == (sql_text.replace(' AS "pk"', ""), [7])
