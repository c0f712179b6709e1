"""Department, membership and city-role permissions. Checks about an object live beside it: posts in
scheduler.rules, channels in connections.rules, crisis holds and emergency posts in governance.rules, media
in medialibrary.rules (tests/test_permission_matrix.py tests them as one matrix).

Roles (departments.models):
- per department (Membership.role): editor (writes, submits), approver (also approves), department admin
  (also members, channels and the approval policy of that department);
- city-wide (CityRole.role): communications manager (sees and approves every department's posts, crisis
  holds, reviews emergency posts; so is an approver or admin of the communications team), viewer (reads
  every department's posts except drafts, does nothing), IT admin (people and roles, sign-in and security,
  the audit trail, crisis holds; no post access beyond their own memberships);
- per person: CityRole.can_post_emergency (an authorised official publishes emergency posts at once).

Who may *see* a row is decided by the scoping selectors (scheduler.selectors.posts_visible_to and
friends, which answer 404 for the rest); who may *do* something to a row they see is decided here (the
views answer 403 or show no button). Each predicate takes the user first and never raises.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User

from departments.selectors import (
    department_ids_for_user,
    user_is_communications_manager,
    user_is_department_admin,
    user_is_it_admin,
)

AnyUser = User | AnonymousUser


def signed_in(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


# --- Departments ---------------------------------------------------------------------------------


def can_administer_department(user: AnyUser, department_id: int) -> bool:
    """A department admin of this department (they also connect its channels: connections.rules)."""
    return signed_in(user) and user_is_department_admin(user=user, department_id=department_id)


def can_manage_members(user: AnyUser, department_id: int) -> bool:
    """A department's admins manage its members and roles; the IT admin manages everyone's."""
    if not signed_in(user):
        return False
    return user_is_department_admin(user=user, department_id=department_id) or user_is_it_admin(user=user)


def can_manage_city_roles(user: AnyUser) -> bool:
    """City-wide roles and the emergency permission: the IT admin (and Django superusers)."""
    return signed_in(user) and (user_is_it_admin(user=user) or bool(getattr(user, "is_superuser", False)))


def can_manage_approval_policy(user: AnyUser, department_id: int) -> bool:
    """The department's admins and the communications managers set a department's approval policy."""
    if not signed_in(user):
        return False
    return user_is_department_admin(user=user, department_id=department_id) or user_is_communications_manager(user=user)


def can_manage_department_settings(user: AnyUser, department_id: int) -> bool:
    """A department's content settings (languages, where language versions go, plain-language target, time
    zone, series approval): its admins and the communications managers, like the approval policy."""
    return can_manage_approval_policy(user, department_id)


def can_open_department_pages(user: AnyUser) -> bool:
    """Whether the "People and policies" pages have something for the user: a department they administer,
    every department (IT admin: members; communications manager: policies) or the city-wide roles."""
    if not signed_in(user):
        return False
    return (
        user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
        or can_manage_city_roles(user)
        or any(user_is_department_admin(user=user, department_id=d) for d in department_ids_for_user(user=user))
    )


def can_view_audit(user: AnyUser, department_id: int | None = None) -> bool:
    """The audit trail: a department admin for their department, the IT admin for everything.
    `department_id` None asks for the whole city's trail."""
    if not signed_in(user):
        return False
    if user_is_it_admin(user=user):
        return True
    return department_id is not None and user_is_department_admin(user=user, department_id=department_id)


def can_view_publishing_status(user: AnyUser) -> bool:
    """The publishing status page (/health/status/: is the publisher running, what is late, which deliveries
    need a person; no post text): the IT admin, the communications managers and staff accounts."""
    if not signed_in(user):
        return False
    return (
        bool(getattr(user, "is_staff", False))
        or user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
    )
