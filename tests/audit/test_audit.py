import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from audit.models import AuditAction, AuditEvent
from scheduler import services
from tests.factories import PASSWORD


def _actions(**filters: object) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def test_each_step_of_a_post_lifecycle_is_recorded_with_who_and_what(personas) -> None:
    post = services.post_create(
        author=personas.alice,
        department=personas.parks,
        text="Pool opens Monday",
        channels=[personas.parks_channel],
        due_at=timezone.now() + dt.timedelta(days=1),
    )
    services.post_update(
        post=post,
        user=personas.alice,
        text="Pool opens Tuesday",
        link="",
        channels=[personas.parks_channel],
        due_at=post.due_at,
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_request_changes(post=post, user=personas.bob, comment="Add the opening hour")
    services.post_update(
        post=post,
        user=personas.alice,
        text="Pool opens Tuesday at 9",
        link="",
        channels=[personas.parks_channel],
        due_at=post.due_at,
    )
    services.post_submit(post=post, user=personas.alice)
    services.post_approve(post=post, user=personas.bob)
    services.post_cancel(post=post, user=personas.bob, comment="Pool repair")

    assert _actions(target_id=str(post.pk)) == [
        AuditAction.POST_CREATED,
        AuditAction.POST_EDITED,
        AuditAction.POST_SUBMITTED,
        AuditAction.POST_CHANGES_REQUESTED,
        AuditAction.POST_EDITED,
        AuditAction.POST_SUBMITTED,
        AuditAction.POST_APPROVED,
        AuditAction.POST_CANCELLED,
    ]
    first_edit = AuditEvent.objects.filter(action=AuditAction.POST_EDITED).order_by("id").first()
    assert first_edit.actor == personas.alice
    assert first_edit.department == personas.parks
    assert first_edit.changes == {"text": {"before": "Pool opens Monday", "after": "Pool opens Tuesday"}}
    approved = AuditEvent.objects.get(action=AuditAction.POST_APPROVED)
    assert approved.actor_label == personas.bob.email
    assert approved.changes["content_hash"] == post.approvals.get().content_hash


def test_sign_in_and_failed_sign_in_are_recorded_with_the_address_but_never_the_password(client, personas) -> None:
    client.post(
        "/accounts/login/",
        {"login": personas.alice.email, "password": "not the password"},
        REMOTE_ADDR="203.0.113.7",
    )
    client.post("/accounts/login/", {"login": personas.alice.email, "password": PASSWORD}, REMOTE_ADDR="203.0.113.7")

    failed = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failed.ip_address == "203.0.113.7"
    assert "not the password" not in str(failed.changes) + failed.message
    signed_in = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert signed_in.actor == personas.alice
    assert signed_in.ip_address == "203.0.113.7"


def test_the_app_refuses_to_change_or_delete_an_audit_event(personas) -> None:
    event = AuditEvent.objects.create(action=AuditAction.SIGN_IN, actor_label="x")
    event.message = "rewritten"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()


@pytest.mark.postgres
def test_postgresql_refuses_update_and_delete_of_audit_rows_even_in_raw_sql(personas) -> None:
    event = AuditEvent.objects.create(action=AuditAction.SIGN_IN, actor_label="x")
    for statement in (
        "UPDATE audit_auditevent SET message = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, message="").exists()
