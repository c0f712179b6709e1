"""Who must use two-step verification (MFA), and who has it."""

from __future__ import annotations

from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from departments.models import Role
from departments.selectors import department_ids_user_approves, memberships_for_user

# Roles that approve or administer: a stolen password must not be enough to publish or change channels.
ROLES_REQUIRING_MFA = frozenset({Role.APPROVER, Role.ADMIN})
# City-wide roles (departments.CityRole) that approve everywhere or run users and security.
CITY_ROLES_REQUIRING_MFA = frozenset({"communications_manager", "it_admin"})
# Recovery codes back up a second factor; on their own they are not one.
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def user_requires_mfa(*, user: User | AnonymousUser) -> bool:
    """Returns True for staff, superusers, anyone who approves or administers a department, anyone who can
    approve anything at all (a person named in a step of a department's approval policy approves for it
    without any approver role), and the city-wide roles that act everywhere: the communications manager,
    the IT admin and anyone allowed to publish emergency posts at once."""
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    if any(m.role in ROLES_REQUIRING_MFA for m in memberships_for_user(user=user)):
        return True
    # departments.CityRole (a one-to-one row, often absent): getattr's default covers "no row".
    city_role = getattr(user, "city_role", None)
    if city_role is not None and (city_role.role in CITY_ROLES_REQUIRING_MFA or city_role.can_post_emergency):
        return True
    # The same answer the approval rules use (scheduler.rules.approval_refusal): None is "everywhere".
    approves = department_ids_user_approves(user=user)
    return approves is None or bool(approves)


def user_has_mfa(*, user: User | AnonymousUser) -> bool:
    """Returns True when the user has an authenticator app or a security key."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()


def signed_in_by_sso(request: HttpRequest) -> bool:
    """Returns True when this session's sign-in went through a single sign-on provider, whose own
    sign-in policy (the city's MFA at Entra ID, Google or the SAML IdP) then applies."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    records = get_authentication_records(request, user)
    return any(record.get("method") == "socialaccount" for record in records)
