"""Who may switch crisis holds on and off, release a held post, publish an emergency post and review one
afterwards: city roles (departments.selectors) and the authorised officials' permission."""

from __future__ import annotations

from departments.rules import AnyUser, signed_in
from departments.selectors import user_can_post_emergency, user_is_communications_manager, user_is_it_admin


def can_start_crisis_hold(user: AnyUser) -> bool:
    """The communications manager or an IT admin switches a crisis hold on (and off)."""
    return signed_in(user) and (user_is_communications_manager(user=user) or user_is_it_admin(user=user))


def can_end_crisis_hold(user: AnyUser) -> bool:
    return can_start_crisis_hold(user)


def can_release_post_hold(user: AnyUser) -> bool:
    return can_start_crisis_hold(user)


def can_post_emergency(user: AnyUser) -> bool:
    return signed_in(user) and user_can_post_emergency(user=user)


def can_review_emergency(user: AnyUser) -> bool:
    """The communications manager reviews every emergency post afterwards."""
    return signed_in(user) and user_is_communications_manager(user=user)


def can_view_emergency_alerts(user: AnyUser) -> bool:
    return can_review_emergency(user) or can_post_emergency(user) or (signed_in(user) and user_is_it_admin(user=user))
