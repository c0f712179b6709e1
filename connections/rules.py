"""What a person may do to a channel: department admins connect, reconnect and disconnect their department's
channels. (The Channel model is scheduler's this round; its pages and these checks are connections'.)"""

from __future__ import annotations

from departments.rules import AnyUser, can_administer_department
from scheduler.models import Channel


def can_connect_channel(user: AnyUser, department_id: int) -> bool:
    """Department admins connect, reconnect and disconnect their department's channels."""
    return can_administer_department(user, department_id)


def can_manage_channel(user: AnyUser, channel: Channel) -> bool:
    return can_connect_channel(user, channel.department_id)
