"""Sign-in events come from Django's and allauth's signals."""

from typing import Any

from allauth.account.signals import password_changed
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.models import AuditAction
from audit.services import audit_record


@receiver(user_logged_in)
def record_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.SIGN_IN, actor=user)


@receiver(user_logged_out)
def record_sign_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit_record(action=AuditAction.SIGN_OUT, actor=user)


@receiver(user_login_failed)
def record_sign_in_failure(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Never store the password that was tried; the address typed is enough to spot an attack.
    tried = str(credentials.get("email") or credentials.get("username") or "")[:254]
    audit_record(action=AuditAction.SIGN_IN_FAILED, message=f"Sign-in failed for {tried!r}")


@receiver(password_changed)
def record_password_change(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.PASSWORD_CHANGED, actor=user)


@receiver(authenticator_added)
def record_mfa_added(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.MFA_ADDED, actor=user, message=str(authenticator.type))


@receiver(authenticator_removed)
def record_mfa_removed(sender: Any, request: Any, user: Any, authenticator: Any, **kwargs: Any) -> None:
    audit_record(action=AuditAction.MFA_REMOVED, actor=user, message=str(authenticator.type))
