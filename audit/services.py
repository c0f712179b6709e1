from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connections, models

from audit.context import current_origin
from audit.models import AuditEvent
from audit.references import stored_label


def audit_record(
    *,
    action: str,
    actor: Any = None,
    department_id: int | None = None,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> AuditEvent:
    """Appends one event to the audit trail and returns it. `actor` None means the system."""
    return AuditEvent.objects.create(
        **audit_event_values(
            action=action, actor=actor, department_id=department_id, target=target, changes=changes, message=message
        )
    )


def audit_event_values(
    *,
    action: str,
    actor: Any = None,
    department_id: int | None = None,
    target: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    message: str = "",
) -> dict[str, Any]:
    """The field values of the event `audit_record` appends ({field name: value}, `occurred_at` left to the
    writer), for a writer that inserts it in the same statement as the change it records (the worker)."""
    origin = current_origin.get()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    return {
        "actor": actor if is_user else None,
        "actor_label": (getattr(actor, "email", "") or str(actor)) if is_user else "system",
        "action": action,
        "department_id": department_id,
        "target_type": stored_label(target._meta.label_lower) if target is not None else "",
        "target_id": str(target.pk) if target is not None else "",
        "ip_address": origin.ip_address if origin else None,
        "user_agent": origin.user_agent if origin else "",
        "changes": changes or {},
        "message": message,
    }


def audit_insert_after(*, step: str, occurred_at: Any, **event: Any) -> tuple[str, list[Any]]:
    """One audit event (`audit_record`'s arguments) as an `INSERT ... SELECT ... FROM <step>` with its parameters,
    for a writer that records a change and its event in one statement (the worker's outcome, issue 18): the
    event is written once per row the statement's part `step` returned, so only when the change happened.
    PostgreSQL (a data-modifying WITH); the values go through the fields as `AuditEvent.objects.create` sends
    them."""
    values = {**audit_event_values(**event), "occurred_at": occurred_at}
    connection = connections[AuditEvent.objects.db]
    params = [_field(name).get_db_prep_save(value, connection) for name, value in values.items()]
    return _audit_insert_sql(tuple(values), step), params


def _field(name: str) -> models.Field[Any, Any]:
    """AuditEvent's concrete field by its name or attname ("department_id")."""
    field = AuditEvent._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise LookupError(f"AuditEvent.{name} is not a column")
    return field


@cache
def _audit_insert_sql(names: tuple[str, ...], step: str) -> str:
    quote = connections[AuditEvent.objects.db].ops.quote_name
    columns = ", ".join(quote(str(_field(name).column)) for name in names)
    placeholders = ", ".join(["%s"] * len(names))
    table = quote(AuditEvent._meta.db_table)
    return f"INSERT INTO {table} ({columns}) SELECT {placeholders} FROM {step}"  # noqa: S608  # nosec B608 - names from _meta, values as parameters


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Returns {"field": {"before": ..., "after": ...}} for the fields that differ."""
    return {
        key: {"before": before.get(key), "after": after.get(key)} for key in after if before.get(key) != after.get(key)
    }
