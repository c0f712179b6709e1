"""Writes of the departments app: memberships (department roles), city-wide roles and a department's
settings. Each change is in the audit trail (membership.role_changed with who had which role before and
after; department.settings_changed with each setting before and after)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.models import AuditAction
from audit.services import audit_record, field_changes
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


def _refuse_removing_used_languages(*, department: Department, removed: list[str]) -> None:
    """Raises ApplicationError when a post that has not gone out yet, or a channel, uses a language the
    department would stop writing in (the post could no longer be submitted; the channel would get nothing)."""
    from django.db.models import Q

    from scheduler.content import language_name
    from scheduler.models import Channel, Post, PostStatus

    for code in removed:
        name = language_name(code)
        # A published or cancelled post keeps the language it had; every other one may still be submitted.
        pending = (
            Post.objects.filter(department=department)
            .exclude(status__in=(PostStatus.PUBLISHED, PostStatus.CANCELLED))
            .filter(Q(language=code) | Q(languages__has_key=code))
            .count()
        )
        if pending:
            raise _settings_refusal(
                ngettext(
                    "%(count)d post that has not gone out yet is written in %(language)s or has a %(language)s "
                    "version. Remove %(language)s from it, or wait until it is published, then remove it here.",
                    "%(count)d posts that have not gone out yet are written in %(language)s or have a %(language)s "
                    "version. Remove %(language)s from them, or wait until they are published, then remove it "
                    "here.",
                    pending,
                )
                % {"count": pending, "language": name},
                "languages",
            )
        channels = list(
            Channel.objects.filter(department=department, options__language=code).values_list("display_name", flat=True)
        )
        if channels:
            raise _settings_refusal(
                _("These channels are set to %(language)s: %(channels)s. Set them to another language first.")
                % {"language": name, "channels": ", ".join(sorted(channels))},
                "languages",
            )


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
    from departments.models import LanguagePublishing, SeriesApproval, validate_time_zone
    from departments.selectors import language_choices

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
