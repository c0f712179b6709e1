"""Who may manage blackout periods.

This permission check is about scheduler's BlackoutPeriod and belongs in scheduler/rules.py, beside the other
checks on scheduler's objects (issue 12, item 3), once that module exists."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from departments.selectors import (
    user_approves_everywhere,
    user_is_department_admin,
)


def user_can_manage_blackouts(*, user: User | AnonymousUser, department_id: int | None) -> bool:
    """City-wide blackouts: communications-team approvers and admins. A department's: its admins (and the
    communications team)."""
    if user_approves_everywhere(user=user):
        return True
    if department_id is None:
        return False
    return user_is_department_admin(user=user, department_id=department_id)
