from __future__ import annotations

from typing import Any

from django.db import models

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


def field_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Returns {"field": {"before": ..., "after": ...}} for the fields that differ."""
    return {
        key: {"before": before.get(key), "after": after.get(key)} for key in after if before.get(key) != after.get(key)
    }
