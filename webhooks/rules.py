"""Who may manage a department's webhook subscriptions: its department admins (as for connecting its
channels: a subscription sends the department's post data to an outside system). Communications managers and
the IT admin see no subscription of a department they do not administer."""

from __future__ import annotations

from departments.rules import AnyUser, can_administer_department


def can_manage_webhooks(user: AnyUser, department_id: int) -> bool:
    return can_administer_department(user, department_id)
