"""Who may do what in the inbox. Department members work their department's inbox; communications managers work
every department's; department admins and communications managers change a department's inbox settings; only
communications managers write the city's social media policy clauses. Each predicate takes the user first and
never raises."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from departments.rules import can_manage_department_settings, signed_in
from departments.selectors import department_ids_for_user, user_is_communications_manager

AnyUser = User | AnonymousUser


def inbox_department_ids(user: AnyUser) -> set[int] | None:
    """The departments whose inbox the user works (None: every department); empty for everyone else."""
    if not signed_in(user):
        return set()
    if user_is_communications_manager(user=user):
        return None
    return department_ids_for_user(user=user)


def can_work_inbox(user: AnyUser, department_id: int) -> bool:
    ids = inbox_department_ids(user)
    return ids is None or department_id in ids


def can_open_inbox(user: AnyUser) -> bool:
    ids = inbox_department_ids(user)
    return ids is None or bool(ids)


def can_manage_inbox_settings(user: AnyUser, department_id: int) -> bool:
    return can_manage_department_settings(user, department_id)


def can_manage_policy(user: AnyUser) -> bool:
    return signed_in(user) and user_is_communications_manager(user=user)
