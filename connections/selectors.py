"""Reads with permission checks for the connection pages.

Someone outside the department gets 404 (we do not reveal that a channel exists); a member of the
department who is not its admin gets 403 (they can see the channel list, but not change it)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404

from connections.rules import can_connect_channel, can_manage_channel
from departments.models import Department, Role
from departments.selectors import department_ids_for_user, memberships_for_user
from scheduler.models import Channel


def departments_user_admins(*, user: User | AnonymousUser) -> list[Department]:
    """Departments whose channels the user may connect (Membership role "admin")."""
    return [m.department for m in memberships_for_user(user=user) if m.role == Role.ADMIN]


def department_get_for_admin(*, user: User | AnonymousUser, department_id: int) -> Department:
    """Returns the department if the user is its admin. Raises Http404 (not a member) or PermissionDenied."""
    if department_id not in department_ids_for_user(user=user):
        raise Http404("No such department.")
    if not can_connect_channel(user, department_id):
        raise PermissionDenied("Only a department admin can connect channels.")
    return Department.objects.get(pk=department_id)


def channel_get_for_member(*, user: User | AnonymousUser, channel_id: int) -> Channel:
    """Returns a channel of one of the user's departments, or raises Http404."""
    channel = (
        Channel.objects.select_related("department", "connected_by")
        .filter(pk=channel_id, department_id__in=department_ids_for_user(user=user))
        .first()
    )
    if channel is None:
        raise Http404("No such channel.")
    return channel


def channel_get_for_admin(*, user: User | AnonymousUser, channel_id: int) -> Channel:
    """Returns a channel the user may change. Raises Http404 (not their department) or PermissionDenied."""
    channel = channel_get_for_member(user=user, channel_id=channel_id)
    if not can_manage_channel(user, channel):
        raise PermissionDenied("Only a department admin can change this channel.")
    return channel
