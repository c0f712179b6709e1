"""Who may see and do what, per department. Every view, form and task asks here."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from departments.models import Department, Membership, Role


def memberships_for_user(*, user: AbstractBaseUser | AnonymousUser) -> list[Membership]:
    """Returns the user's memberships with their departments (cached on the user object)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_civicpost_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("department"))
        user._civicpost_memberships = cached  # type: ignore[union-attr]
    return cached


def user_approves_everywhere(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    return any(m.can_approve_everywhere for m in memberships_for_user(user=user))


def department_ids_for_user(*, user: AbstractBaseUser | AnonymousUser) -> set[int]:
    """Departments whose drafts and channels the user may work with."""
    return {m.department_id for m in memberships_for_user(user=user)}


def department_ids_user_approves(*, user: AbstractBaseUser | AnonymousUser) -> set[int] | None:
    """Departments the user may approve for; None means every department."""
    if user_approves_everywhere(user=user):
        return None
    return {m.department_id for m in memberships_for_user(user=user) if m.can_approve}


def user_can_approve_for(*, user: AbstractBaseUser | AnonymousUser, department_id: int) -> bool:
    approves = department_ids_user_approves(user=user)
    return approves is None or department_id in approves


def user_can_edit_for(*, user: AbstractBaseUser | AnonymousUser, department_id: int) -> bool:
    return department_id in department_ids_for_user(user=user)


def user_is_department_admin(*, user: AbstractBaseUser | AnonymousUser, department_id: int) -> bool:
    return any(m.department_id == department_id and m.role == Role.ADMIN for m in memberships_for_user(user=user))


def departments_user_can_post_for(*, user: AbstractBaseUser | AnonymousUser) -> list[Department]:
    return [m.department for m in memberships_for_user(user=user)]
