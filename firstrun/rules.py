from __future__ import annotations

from typing import Any

from departments.rules import signed_in
from departments.selectors import user_is_communications_manager, user_is_it_admin


def can_open_checklist(user: Any) -> bool:
    """The IT admin, the communications managers and Django superusers set a new installation up."""
    if not signed_in(user):
        return False
    return (
        user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
        or bool(getattr(user, "is_superuser", False))
    )
