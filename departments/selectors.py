"""Who may see and do what, per department. Every view, form and task asks here (the action rules built on
these reads are in departments/rules.py)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from civicpost.languages import LANGUAGE_NAMES, language_name
from civicpost.zones import default_zone
from departments.models import ApprovalStep, CityRole, CityRoleName, Department, Membership, Role

_NO_CITY_ROLE = object()


def memberships_for_user(*, user: User | AnonymousUser) -> list[Membership]:
    """Returns the user's memberships with their departments (cached on the user object)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cached: list[Membership] | None = getattr(user, "_civicpost_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("department"))
        user._civicpost_memberships = cached  # type: ignore[attr-defined]  # a cache on this user object
    return cached


def viewer_zone(*, user: User | AnonymousUser) -> zoneinfo.ZoneInfo:
    """Returns the zone a person sees pages in: their first department's (the city's default otherwise)."""
    memberships = memberships_for_user(user=user)
    return memberships[0].department.zone if memberships else default_zone()


def viewer_zone_for_request(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """Returns `viewer_zone` of the person making the request, worked out once per request: every time a page
    shows is in this zone, with its offset (templates get it as `viewer_zone`, see scheduler.context_processors)."""
    zone = getattr(request, "_civic_viewer_zone", None)
    if zone is None:
        zone = viewer_zone(user=getattr(request, "user", None) or AnonymousUser())
        request._civic_viewer_zone = zone  # type: ignore[attr-defined]  # noqa: SLF001  # a cache on this request
    return zone


def city_role_for_user(*, user: User | AnonymousUser) -> CityRole | None:
    """Returns the user's city-wide role row, or None (cached on the user object)."""
    if not user.is_authenticated or not user.is_active:
        return None
    cached: CityRole | object | None = getattr(user, "_civicpost_city_role", None)
    if cached is None:
        cached = CityRole.objects.filter(user=user).first() or _NO_CITY_ROLE
        user._civicpost_city_role = cached  # type: ignore[attr-defined]  # a cache on this user object
    return None if cached is _NO_CITY_ROLE else cast(CityRole | None, cached)


def forget_cached_roles(user: User) -> None:
    """Drops the memberships and city role cached on this user object (after a role change)."""
    for name in ("_civicpost_memberships", "_civicpost_city_role", "_civicpost_step_department_ids"):
        if hasattr(user, name):
            delattr(user, name)


def _has_city_role(user: User | AnonymousUser, role: str) -> bool:
    city_role = city_role_for_user(user=user)
    return city_role is not None and city_role.role == role


def user_is_communications_manager(*, user: User | AnonymousUser) -> bool:
    """A communications manager by city role, or an approver / admin of the communications team."""
    return _has_city_role(user, CityRoleName.COMMUNICATIONS_MANAGER) or any(
        m.can_approve_everywhere for m in memberships_for_user(user=user)
    )


def user_is_viewer(*, user: User | AnonymousUser) -> bool:
    return _has_city_role(user, CityRoleName.VIEWER)


def user_is_it_admin(*, user: User | AnonymousUser) -> bool:
    return _has_city_role(user, CityRoleName.IT_ADMIN)


def user_is_records_officer(*, user: User | AnonymousUser) -> bool:
    """The city's records officer (the city clerk): reads the archive of every department."""
    return _has_city_role(user, CityRoleName.RECORDS_OFFICER)


def records_officer_emails() -> list[str]:
    """Returns the e-mail addresses of every active records officer (for the daily chain head)."""
    users = get_user_model().objects.filter(city_role__role=CityRoleName.RECORDS_OFFICER, is_active=True)
    return sorted({u.email for u in users if u.email})


def user_can_post_emergency(*, user: User | AnonymousUser) -> bool:
    city_role = city_role_for_user(user=user)
    return city_role is not None and city_role.can_post_emergency


def user_approves_everywhere(*, user: User | AnonymousUser) -> bool:
    return user_is_communications_manager(user=user)


def user_sees_every_department(*, user: User | AnonymousUser) -> bool:
    """Communications managers and viewers read the posts of every department."""
    return user_is_communications_manager(user=user) or user_is_viewer(user=user)


def department_ids_for_user(*, user: User | AnonymousUser) -> set[int]:
    """Departments whose drafts and channels the user may work with."""
    return {m.department_id for m in memberships_for_user(user=user)}


def department_ids_user_approves(*, user: User | AnonymousUser) -> set[int] | None:
    """Departments the user may approve for (at some step of their approval policy); None means every
    department. A person named in a department's approval policy approves for it without being a member."""
    if user_approves_everywhere(user=user):
        return None
    ids = {m.department_id for m in memberships_for_user(user=user) if m.can_approve}
    if user.is_authenticated and user.is_active:
        ids |= _step_department_ids(user)
    return ids


def _step_department_ids(user: User) -> set[int]:
    """Departments whose approval policy names the user at some step (cached on the user object: the header's
    approval count and the page itself both ask)."""
    cached: set[int] | None = getattr(user, "_civicpost_step_department_ids", None)
    if cached is None:
        cached = set(ApprovalStep.objects.filter(users=user).values_list("department_id", flat=True))
        user._civicpost_step_department_ids = cached  # type: ignore[attr-defined]  # a cache on this user object
    return set(cached)


def department_ids_user_administers(*, user: User | AnonymousUser) -> set[int]:
    return {m.department_id for m in memberships_for_user(user=user) if m.role == Role.ADMIN}


def user_can_approve_for(*, user: User | AnonymousUser, department_id: int) -> bool:
    approves = department_ids_user_approves(user=user)
    return approves is None or department_id in approves


def user_can_edit_for(*, user: User | AnonymousUser, department_id: int) -> bool:
    return department_id in department_ids_for_user(user=user)


def user_is_department_admin(*, user: User | AnonymousUser, department_id: int) -> bool:
    return any(m.department_id == department_id and m.role == Role.ADMIN for m in memberships_for_user(user=user))


def departments_user_can_post_for(*, user: User | AnonymousUser) -> list[Department]:
    return [m.department for m in memberships_for_user(user=user)]


# --- Who holds a role (for approval policies and notifications) ------------------------------------


def communications_manager_ids() -> set[int]:
    """Ids of every active communications manager (by city role or as approver / admin of the team)."""
    by_role = CityRole.objects.filter(role=CityRoleName.COMMUNICATIONS_MANAGER, user__is_active=True).values_list(
        "user_id", flat=True
    )
    by_team = Membership.objects.filter(
        department__is_communications_team=True, role__in=(Role.APPROVER, Role.ADMIN), user__is_active=True
    ).values_list("user_id", flat=True)
    return set(by_role) | set(by_team)


def department_member_ids(*, department_id: int, roles: tuple[str, ...]) -> set[int]:
    """Ids of the department's active members with one of `roles`."""
    return set(
        Membership.objects.filter(department_id=department_id, role__in=roles, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )


def department_admin_emails(*, department_id: int) -> list[str]:
    users = get_user_model().objects.filter(
        memberships__department_id=department_id, memberships__role=Role.ADMIN, is_active=True
    )
    return sorted({u.email for u in users if u.email})


# --- Pages of the departments app -----------------------------------------------------------------


def _department_known_to(*, user: User | AnonymousUser, department_id: int) -> bool:
    """Whether the user may learn that the department exists on a management page: its members, the IT
    admin and the communications managers (everyone else gets 404)."""
    return (
        department_id in department_ids_for_user(user=user)
        or user_is_it_admin(user=user)
        or user_is_communications_manager(user=user)
    )


def _department_get_if_allowed(
    *,
    user: User | AnonymousUser,
    department_id: int,
    allowed: Callable[[Any, int], bool],
    refusal: str,
) -> Department:
    """Http404 for a department the user may not know of; PermissionDenied(refusal) when `allowed` says no."""
    department = Department.objects.filter(pk=department_id).first()
    if department is None or not _department_known_to(user=user, department_id=department_id):
        raise Http404("No such department.")
    if not allowed(user, department_id):
        raise PermissionDenied(refusal)
    return department


def department_get_for_members(*, user: User | AnonymousUser, department_id: int) -> Department:
    """Returns the department whose members the user manages. Raises Http404 (not theirs to know) or
    PermissionDenied (a member who is not its admin)."""
    from departments.rules import can_manage_members  # departments.rules imports this module

    return _department_get_if_allowed(
        user=user,
        department_id=department_id,
        allowed=can_manage_members,
        refusal="Only the department's admins or the IT admin manage its members.",
    )


def department_get_for_policy(*, user: User | AnonymousUser, department_id: int) -> Department:
    """Returns the department whose approval policy the user sets. Raises Http404 or PermissionDenied."""
    from departments.rules import can_manage_approval_policy  # departments.rules imports this module

    return _department_get_if_allowed(
        user=user,
        department_id=department_id,
        allowed=can_manage_approval_policy,
        refusal="Only the department's admins or a communications manager set its approval policy.",
    )


def language_choices(*, department: Department | None = None) -> list[tuple[str, str]]:
    """Returns (code, name) for every language a department may write in: English first, then the
    languages CivicPost has names for, by name, then any other code the department already lists."""
    codes = set(LANGUAGE_NAMES) | set(department.languages or [] if department else [])
    others = sorted(codes - {"en"}, key=lambda code: (code not in LANGUAGE_NAMES, language_name(code)))
    return [(code, language_name(code)) for code in ["en", *others]]


def department_get_for_settings(*, user: User | AnonymousUser, department_id: int) -> Department:
    """Returns the department whose settings (languages, time zone...) the user changes. Raises Http404
    (not theirs to know) or PermissionDenied (a member who is not its admin, the IT admin)."""
    from departments.rules import can_manage_department_settings  # departments.rules imports this module

    return _department_get_if_allowed(
        user=user,
        department_id=department_id,
        allowed=can_manage_department_settings,
        refusal="Only the department's admins or a communications manager change its settings.",
    )


def departments_for_management(*, user: User | AnonymousUser) -> list[tuple[Department, bool, bool, bool]]:
    """Returns (department, manages members, sets policy, changes settings) for every department the user
    manages somehow."""
    from departments.rules import (  # departments.rules imports this module
        can_manage_approval_policy,
        can_manage_department_settings,
        can_manage_members,
    )

    if not user.is_authenticated or not user.is_active:
        return []
    rows = []
    for department in Department.objects.order_by("name"):
        members = can_manage_members(user, department.pk)
        policy = can_manage_approval_policy(user, department.pk)
        settings = can_manage_department_settings(user, department.pk)
        if members or policy or settings:
            rows.append((department, members, policy, settings))
    return rows


def membership_get_for_manager(*, user: User | AnonymousUser, department: Department, membership_id: int) -> Membership:
    membership = Membership.objects.select_related("user").filter(pk=membership_id, department=department).first()
    if membership is None:
        raise Http404("No such member.")
    return membership
