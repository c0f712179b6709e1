"""Signals that keep sign-in state honest, whichever page or command changed the account."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts.services import user_sessions_end_all
from civicpost.session_keys import LANGUAGE_SESSION_KEY
from people.selectors import user_language_choice

User = get_user_model()

SIGNED_IN_AT_SESSION_KEY = "civicpost_signed_in_at"


@receiver(user_logged_in)
def stamp_sign_in_time(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Starts the clock of the absolute session limit (accounts.middleware.SessionLimitMiddleware)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SIGNED_IN_AT_SESSION_KEY] = int(time.time())


@receiver(user_logged_in)
def remember_language_choice(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """Copies the interface language the person chose into the session (accounts.middleware.UserLanguageMiddleware)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LANGUAGE_SESSION_KEY] = user_language_choice(user=user)


@receiver(pre_save, sender=User)
def remember_if_active(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    # Django admin, the shell and services all save the user: the flip is only seen here.
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        instance._civicpost_was_active = None
        return
    instance._civicpost_was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


@receiver(post_save, sender=User)
def end_sessions_of_deactivated_user(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    if raw or created:
        return
    if getattr(instance, "_civicpost_was_active", None) and not instance.is_active:
        # At once, not on commit: ending a session too many is harmless, one too few is not.
        user_sessions_end_all(user=instance)
