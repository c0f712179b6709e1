"""Writes of the departments app: memberships (department roles), city-wide roles and a department's
settings. Each change is in the audit trail (membership.role_changed with who had which role before and
after; department.settings_changed with each setting before and after)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from audit.models import AuditAction
from audit.services import audit_record, field_changes
from civicpost.exceptions import ApplicationError
from departments import rules
from departments.models import (
    ApprovalMode,
    ApprovalStep,
    CityRole,
    CityRoleName,
    Department,
    LanguagePublishing,
    Membership,
    Role,
    SeriesApproval,
    validate_time_zone,
)
from departments.selectors import forget_cached_roles, language_choices


def user_find_by_email(*, email: str) -> Any:
    """Returns the active account with this email address. Raises ApplicationError when there is none
    (accounts are created by administrators; nobody is invited by typing an address)."""
    user = get_user_model().objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        raise ApplicationError(_("No active account has the address %(email)s.") % {"email": email.strip()})
    return user


def _require_member_manager(*, actor: User, department: Department) -> None:
    if not rules.can_manage_members(actor, department.pk):
        raise ApplicationError(
            _("Only admins of %(department)s or an IT admin can change its members.") % {"department": department}
        )


def _audit_role(*, actor: User, user: Any, department: Department | None, before: str, after: str, scope: str) -> None:
    audit_record(
        action=AuditAction.ROLE_CHANGED,
        actor=actor,
        department_id=department.pk if department else None,
        target=user,
        changes={"user": user.email, "scope": scope, "role": {"before": before or None, "after": after or None}},
    )


@transaction.atomic
def membership_add(*, actor: User, department: Department, email: str, role: str) -> Membership:
    """Adds a person to the department with `role`. Raises ApplicationError when the actor may not, the
    address has no account or is the actor's own, the role is unknown or the person is a member already.

    Nobody adds themselves: every department role writes or approves content, and the IT admin, who
    manages everyone's members, must not be able to make themselves an approver (so a role is always
    given by someone else, like a city-wide role)."""
    _require_member_manager(actor=actor, department=department)
    if role not in Role.values:
        raise ApplicationError(_("Choose a role."))
    user = user_find_by_email(email=email)
    if user.pk == actor.pk:
        raise ApplicationError(
            _("You cannot add yourself to %(department)s. Ask one of its admins or another IT admin.")
            % {"department": department}
        )
    if Membership.objects.filter(user=user, department=department).exists():
        raise ApplicationError(
            _("%(email)s is already a member of %(department)s.") % {"email": user.email, "department": department}
        )
    membership = Membership.objects.create(user=user, department=department, role=role)
    _audit_role(actor=actor, user=user, department=department, before="", after=role, scope="department")
    forget_cached_roles(user)
    return membership


@transaction.atomic
def membership_change_role(*, actor: User, membership: Membership, role: str) -> Membership:
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
def membership_remove(*, actor: User, membership: Membership) -> None:
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
def city_role_set(*, actor: User, email: str, role: str, can_post_emergency: bool) -> CityRole:
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
def city_role_remove(*, actor: User, city_role: CityRole) -> None:
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


# --- Department settings --------------------------------------------------------------------------

# Every department writes in English; the others are versions of a post in the department's languages.
ALWAYS_LANGUAGE = "en"
PLAIN_LANGUAGE_GRADES = range(1, 17)


def _settings_snapshot(department: Department) -> dict[str, Any]:
    return {
        "languages": list(department.languages or [ALWAYS_LANGUAGE]),
        "language_publishing": department.language_publishing,
        "plain_language_grade": department.plain_language_grade,
        "time_zone": department.time_zone,
        "series_approval": department.series_approval,
    }


def _settings_refusal(message: str, field: str) -> ApplicationError:
    return ApplicationError(message, extra={"field": field})


def _languages_in_order(*, languages: list[str], main_language: str) -> list[str]:
    ordered = [main_language]
    for code in [*languages, ALWAYS_LANGUAGE]:
        if code not in ordered:
            ordered.append(code)
    return ordered


# Apps that keep rows written in a language register a check here (scheduler.apps: posts not yet out and
# channels set to the language), so that departments imports no app above it. Each takes the department and
# a language code and returns why it cannot be removed ("" when it can).
LanguageUseCheck = Callable[[Department, str], str]
language_use_checks: list[LanguageUseCheck] = []


def _refuse_removing_used_languages(*, department: Department, removed: list[str]) -> None:
    """Raises ApplicationError when a post that has not gone out yet, or a channel, uses a language the
    department would stop writing in (the post could no longer be submitted; the channel would get nothing):
    the registered language_use_checks say."""
    for code in removed:
        for check in language_use_checks:
            refusal = check(department, code)
            if refusal:
                raise _settings_refusal(refusal, "languages")


@transaction.atomic
def department_settings_update(
    *,
    actor: User,
    department: Department,
    languages: list[str],
    main_language: str,
    language_publishing: str,
    plain_language_grade: int,
    time_zone: str,
    series_approval: str,
) -> Department:
    """Saves the department's content settings: the languages it writes in (`main_language` first; English
    is always one of them), where language versions are published, the plain-language grade target, its
    time zone and how recurring series are approved. Records what changed in the audit trail.

    Returns the department. Raises ApplicationError (with extra["field"] naming the setting) when the actor
    may not, a value is unknown, or a removed language is still used by a post not yet out or a channel."""
    department = Department.objects.select_for_update().get(pk=department.pk)
    if not rules.can_manage_department_settings(actor, department.pk):
        raise ApplicationError(
            _("Only admins of %(department)s or a communications manager can change its settings.")
            % {"department": department}
        )
    known = {code for code, _name in language_choices(department=department)}
    unknown = sorted({code for code in [*languages, main_language] if code not in known})
    if unknown:
        raise _settings_refusal(
            _("CivicPost does not know the language code %(codes)s. Choose languages from the list.")
            % {"codes": ", ".join(f"“{code}”" for code in unknown)},
            "languages",
        )
    chosen = _languages_in_order(languages=list(languages), main_language=main_language)
    if main_language != ALWAYS_LANGUAGE and main_language not in languages:
        raise _settings_refusal(
            _("The main language must be English or one of the languages you ticked."), "main_language"
        )
    if language_publishing not in LanguagePublishing.values:
        raise _settings_refusal(_("Choose where language versions are published."), "language_publishing")
    if series_approval not in SeriesApproval.values:
        raise _settings_refusal(_("Choose how recurring series are approved."), "series_approval")
    if plain_language_grade not in PLAIN_LANGUAGE_GRADES:
        raise _settings_refusal(
            _("The reading grade must be a whole number from %(low)d to %(high)d.")
            % {"low": PLAIN_LANGUAGE_GRADES[0], "high": PLAIN_LANGUAGE_GRADES[-1]},
            "plain_language_grade",
        )
    try:
        validate_time_zone(time_zone)
    except ValidationError as error:
        raise _settings_refusal(error.messages[0], "time_zone") from error
    before = _settings_snapshot(department)
    removed = [code for code in before["languages"] if code not in chosen]
    _refuse_removing_used_languages(department=department, removed=removed)
    department.languages = chosen
    department.language_publishing = language_publishing
    department.plain_language_grade = plain_language_grade
    department.time_zone = time_zone
    department.series_approval = series_approval
    changes = field_changes(before, _settings_snapshot(department))
    if changes:
        department.save(
            update_fields=["languages", "language_publishing", "plain_language_grade", "time_zone", "series_approval"]
        )
        audit_record(
            action=AuditAction.DEPARTMENT_SETTINGS_CHANGED,
            actor=actor,
            department_id=department.pk,
            target=department,
            changes=changes,
        )
    return department


# --- Approval policies (a department's ApprovalStep rows; evaluated by scheduler.approvals) ----------


def _require_policy_manager(*, user: User, department: Department) -> None:
    if not rules.can_manage_approval_policy(user, department.pk):
        raise ApplicationError(
            _("Only admins of %(department)s can change its approval policy.") % {"department": department}
        )


def _policy_snapshot(department: Department) -> list[dict[str, Any]]:
    return [
        {
            "position": step.position,
            "name": step.name,
            "mode": step.mode,
            "department_approvers": step.department_approvers,
            "department_admins": step.department_admins,
            "communications_managers": step.communications_managers,
            "users": sorted(user.pk for user in step.users.all()),
        }
        for step in ApprovalStep.objects.filter(department=department)
        .prefetch_related("users")
        .order_by("position", "id")
    ]


@transaction.atomic
def approval_step_add(
    *,
    user: User,
    department: Department,
    name: str,
    mode: str = ApprovalMode.ANY,
    department_approvers: bool = False,
    department_admins: bool = False,
    communications_managers: bool = False,
    users: Iterable[User] = (),
) -> ApprovalStep:
    """Adds a step at the end of the department's policy. Raises ApplicationError when the person may not
    or the step names nobody."""
    _require_policy_manager(user=user, department=department)
    users = list(users)
    if not (department_approvers or department_admins or communications_managers or users):
        raise ApplicationError(_("Say who approves this step."))
    if mode not in ApprovalMode.values:
        raise ApplicationError(_("Choose whether any one or all of them must approve."))
    before = _policy_snapshot(department)
    last = ApprovalStep.objects.filter(department=department).aggregate(last=Max("position"))["last"] or 0
    step = ApprovalStep.objects.create(
        department=department,
        position=last + 1,
        name=name.strip() or _("Step %(number)s") % {"number": last + 1},
        mode=mode,
        department_approvers=department_approvers,
        department_admins=department_admins,
        communications_managers=communications_managers,
    )
    step.users.set(users)
    for named in users:
        forget_cached_roles(named)  # the same objects may be asked again in this request
    _audit_policy(user=user, department=department, before=before)
    return step


@transaction.atomic
def approval_step_delete(*, user: User, step: ApprovalStep) -> None:
    _require_policy_manager(user=user, department=step.department)
    before = _policy_snapshot(step.department)
    step.delete()
    _audit_policy(user=user, department=step.department, before=before)


@transaction.atomic
def approval_step_move_up(*, user: User, step: ApprovalStep) -> None:
    """Swaps the step with the one before it (the first step stays first)."""
    _require_policy_manager(user=user, department=step.department)
    before = _policy_snapshot(step.department)
    steps = list(ApprovalStep.objects.select_for_update().filter(department=step.department).order_by("position", "id"))
    index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
    if index == 0:
        return
    steps[index - 1], steps[index] = steps[index], steps[index - 1]
    for position, row in enumerate(steps, start=1):
        if row.position != position:
            ApprovalStep.objects.filter(pk=row.pk).update(position=position)
    _audit_policy(user=user, department=step.department, before=before)


def _audit_policy(*, user: User, department: Department, before: list[dict[str, Any]]) -> None:
    audit_record(
        action=AuditAction.POLICY_CHANGED,
        actor=user,
        department_id=department.pk,
        target=department,
        changes={"steps": {"before": before, "after": _policy_snapshot(department)}},
    )
