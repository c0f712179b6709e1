"""Writes of the departments app: memberships (department roles) and city-wide roles. Each change is in the
audit trail (membership.role_changed) with who had which role before and after."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from departments import rules
from departments.models import CityRole, CityRoleName, Department, Membership, Role
from departments.selectors import forget_cached_roles


def user_find_by_email(*, email: str) -> Any:
    """Returns the active account with this email address. Raises ApplicationError when there is none
    (accounts are created by administrators; nobody is invited by typing an address)."""
    user = get_user_model().objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ApplicationError(_("No active account has the address %(email)s.") % {"email": email.strip()})
    return user


def _require_member_manager(*, actor: AbstractBaseUser, department: Department) -> None:
    if not rules.can_manage_members(actor, department.pk):
        raise ApplicationError(
            _("Only admins of %(department)s or an IT admin can change its members.") % {"department": department}
        )


def _audit_role(
    *, actor: AbstractBaseUser, user: Any, department: Department | None, before: str, after: str, scope: str
) -> None:
    audit_record(
        action=AuditAction.ROLE_CHANGED,
        actor=actor,
        department_id=department.pk if department else None,
        target=user,
        changes={"user": user.email, "scope": scope, "role": {"before": before or None, "after": after or None}},
    )


@transaction.atomic
def membership_add(*, actor: AbstractBaseUser, department: Department, email: str, role: str) -> Membership:
    """Adds a person to the department with `role`. Raises ApplicationError when the actor may not, the
    address has no account, the role is unknown or the person is a member already."""
    _require_member_manager(actor=actor, department=department)
    if role not in Role.values:
        raise ApplicationError(_("Choose a role."))
    user = user_find_by_email(email=email)
    if Membership.objects.filter(user=user, department=department).exists():
        raise ApplicationError(
            _("%(email)s is already a member of %(department)s.") % {"email": user.email, "department": department}
        )
    membership = Membership.objects.create(user=user, department=department, role=role)
    _audit_role(actor=actor, user=user, department=department, before="", after=role, scope="department")
    forget_cached_roles(user)
    return membership


@transaction.atomic
def membership_change_role(*, actor: AbstractBaseUser, membership: Membership, role: str) -> Membership:
    """Gives a member another role in their department. Nobody changes their own role (another admin or
    the IT admin does), so nobody can lock themselves out or raise themselves up."""
    membership = Membership.objects.select_for_update().select_related("user", "department").get(pk=membership.pk)
    _require_member_manager(actor=actor, department=membership.department)
    if role not in Role.values:
        raise ApplicationError(_("Choose a role."))
    if membership.user_id == actor.pk:
        raise ApplicationError(_("You cannot change your own role. Ask another admin or the IT admin."))
    before = membership.role
    if before == role:
        return membership
    membership.role = role
    membership.save(update_fields=["role"])
    _audit_role(
        actor=actor,
        user=membership.user,
        department=membership.department,
        before=before,
        after=role,
        scope="department",
    )
    forget_cached_roles(membership.user)
    return membership


@transaction.atomic
def membership_remove(*, actor: AbstractBaseUser, membership: Membership) -> None:
    """Takes a person out of a department. Their posts and the department's channels stay (they belong to
    the department)."""
    membership = Membership.objects.select_for_update().select_related("user", "department").get(pk=membership.pk)
    _require_member_manager(actor=actor, department=membership.department)
    if membership.user_id == actor.pk:
        raise ApplicationError(_("You cannot remove yourself. Ask another admin or the IT admin."))
    _audit_role(
        actor=actor,
        user=membership.user,
        department=membership.department,
        before=membership.role,
        after="",
        scope="department",
    )
    membership.delete()
    forget_cached_roles(membership.user)


@transaction.atomic
def city_role_set(*, actor: AbstractBaseUser, email: str, role: str, can_post_emergency: bool) -> CityRole:
    """Sets a person's city-wide role ("" for none) and emergency permission. Only the IT admin (or a
    superuser) may, and never for themselves."""
    if not rules.can_manage_city_roles(actor):
        raise ApplicationError(_("Only the IT admin can change city-wide roles."))
    if role and role not in CityRoleName.values:
        raise ApplicationError(_("Choose a city-wide role."))
    user = user_find_by_email(email=email)
    if user.pk == actor.pk:
        raise ApplicationError(_("You cannot change your own city-wide role. Ask another IT admin."))
    city_role = CityRole.objects.select_for_update().filter(user=user).first()
    before = _city_label(city_role)
    if city_role is None:
        city_role = CityRole(user=user)
    city_role.role = role
    city_role.can_post_emergency = can_post_emergency
    city_role.save()
    after = _city_label(city_role)
    if before != after:
        _audit_role(actor=actor, user=user, department=None, before=before, after=after, scope="city")
    forget_cached_roles(user)
    return city_role


@transaction.atomic
def city_role_remove(*, actor: AbstractBaseUser, city_role: CityRole) -> None:
    if not rules.can_manage_city_roles(actor):
        raise ApplicationError(_("Only the IT admin can change city-wide roles."))
    city_role = CityRole.objects.select_for_update().select_related("user").get(pk=city_role.pk)
    if city_role.user_id == actor.pk:
        raise ApplicationError(_("You cannot change your own city-wide role. Ask another IT admin."))
    _audit_role(
        actor=actor, user=city_role.user, department=None, before=_city_label(city_role), after="", scope="city"
    )
    city_role.delete()
    forget_cached_roles(city_role.user)


def _city_label(city_role: CityRole | None) -> str:
    if city_role is None:
        return ""
    parts = [city_role.role] if city_role.role else []
    if city_role.can_post_emergency:
        parts.append("emergency")
    return "+".join(parts)
