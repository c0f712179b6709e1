"""Writes for sign-in and sessions."""

from __future__ import annotations

import logging
from importlib import import_module

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

DB_SESSION_ENGINES = ("django.contrib.sessions.backends.db", "django.contrib.sessions.backends.cached_db")


def email_address_mark_verified(*, user: User, email: str) -> EmailAddress:
    """Records `email` as a verified address of `user` (creating it, primary when the user has none).
    Returns the address."""
    address = EmailAddress.objects.filter(user=user, email__iexact=email).first()
    if address is None:
        has_primary = EmailAddress.objects.filter(user=user, primary=True).exists()
        return EmailAddress.objects.create(user=user, email=email.lower(), verified=True, primary=not has_primary)
    if not address.verified:
        address.verified = True
        address.save(update_fields=["verified"])
    return address


def _session_store_class() -> type:
    return import_module(settings.SESSION_ENGINE).SessionStore


@transaction.atomic
def user_sessions_end_all(*, user: User) -> int:
    """Signs `user` out everywhere: ends every session allauth tracks for them and, with a database session
    engine, every other stored session that belongs to them. Returns how many sessions were ended.

    Their posts, approvals and their departments' channels are not touched: those belong to the city."""
    from allauth.usersessions.models import UserSession  # models load only once the apps are ready

    ended = 0
    for tracked in UserSession.objects.filter(user_id=user.pk):
        tracked.end()
        ended += 1
    if settings.SESSION_ENGINE in DB_SESSION_ENGINES:
        from django.contrib.sessions.models import Session  # only with a database session engine installed

        store_class = _session_store_class()
        user_id = str(user.pk)
        stale = [
            session.session_key
            for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
            if str(session.get_decoded().get("_auth_user_id")) == user_id
        ]
        for session_key in stale:
            # Through the store, so cached_db's cache entry goes too.
            store_class(session_key).delete()
        ended += len(stale)
    if ended:
        logger.info("Ended %d session(s) of deactivated user %s", ended, user.pk)
    return ended
