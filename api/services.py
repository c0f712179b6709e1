"""Writes of the API app: personal tokens (create, revoke, record a use) and idempotent creates."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken, IdempotencyRecord, TokenScope
from audit.services import audit_record
from civicpost.exceptions import ApplicationError

TOKEN_PREFIX = "cpt_"  # noqa: S105 - the visible start of every token, not a secret
MAX_TOKEN_DAYS = 366
AUDIT_TOKEN_CREATED = "api.token_created"  # noqa: S105 - an audit action name
AUDIT_TOKEN_REVOKED = "api.token_revoked"  # noqa: S105 - an audit action name


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # the whole token, shown once


@transaction.atomic
def api_token_create(*, user: User, name: str, scopes: Iterable[str], expires_in_days: int) -> NewToken:
    """Creates a token for `user`. Returns it with its secret text (never stored, shown once); raises
    ApplicationError for a missing name, no or unknown scopes, or an expiry outside 1..366 days."""
    name = name.strip()
    scopes = sorted(set(scopes))
    if not name:
        raise ApplicationError(_("Give the token a name, such as the system that will use it."))
    if not scopes or not set(scopes) <= set(TokenScope.values):
        raise ApplicationError(_("Choose what the token may do."))
    if not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise ApplicationError(_("A token lasts from 1 to %(days)d days.") % {"days": MAX_TOKEN_DAYS})
    prefix = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=prefix,
        token_hash=token_hash(secret),
        scopes=scopes,
        expires_at=timezone.now() + dt.timedelta(days=expires_in_days),
    )
    audit_record(action=AUDIT_TOKEN_CREATED, actor=user, target=token, message=f"{token.name}: {', '.join(scopes)}")
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, user: User, token: ApiToken) -> ApiToken:
    """Revokes one of `user`'s own tokens (again: no change). Raises ApplicationError for another's."""
    if token.user_id != user.pk:
        raise ApplicationError(_("You can only revoke your own tokens."))
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        token.refresh_from_db()
        audit_record(action=AUDIT_TOKEN_REVOKED, actor=user, target=token, message=token.name)
    return token


def api_token_find(secret: str) -> ApiToken | None:
    """Returns the token this secret text is (revoked or expired ones too: the caller decides), or None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    prefix, _sep, rest = secret[len(TOKEN_PREFIX) :].partition("_")
    if not prefix or not rest:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.token_hash, token_hash(secret)):
        return None
    return token


def api_token_record_use(*, token: ApiToken, ip_address: str | None) -> None:
    """Records that the token was used now, from `ip_address` (one UPDATE, no read)."""
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip_address)
    token.last_used_at, token.last_used_ip = now, ip_address


# --- Idempotency-Key ---------------------------------------------------------------------------------

# How long a create's response is kept for retries with its Idempotency-Key (README "API").
IDEMPOTENCY_KEY_LIFETIME = dt.timedelta(hours=24)


class IdempotencyMismatch(ApplicationError):
    """The key was used before with a different request."""


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: Any
    headers: dict[str, str]
    replayed: bool


def idempotent_create(
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    request_hash: str,
    create: Callable[[], tuple[int, Any, dict[str, str]]],
) -> StoredResponse:
    """Runs `create` once per (principal, key): returns its (status, body, headers), stored with the
    request's hash; a later request with the same key and hash gets the stored response (`replayed`).
    Raises IdempotencyMismatch when the key was used for a different request.

    The record and whatever `create` writes commit together. A concurrent duplicate's INSERT waits on
    the unique constraint until the first commits, then fails, and the stored response is read: one
    create, two equal responses. If the first rolls back (a server error), the duplicate runs it anew."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                principal=principal, key=key, method=method, path=path[:500], request_hash=request_hash
            )
            status_code, body, headers = create()
            record.status_code, record.response_body, record.response_headers = status_code, body, headers
            record.save(update_fields=["status_code", "response_body", "response_headers"])
            return StoredResponse(status_code, body, headers, replayed=False)
    except IntegrityError:
        found = IdempotencyRecord.objects.filter(principal=principal, key=key).first()
        if found is None:  # pragma: no cover - the other request rolled back between our INSERT and read
            raise
        record = found
    if record.request_hash != request_hash or record.method != method or record.path != path[:500]:
        raise IdempotencyMismatch(
            _("This Idempotency-Key was already used for a different request. Use a new key for a new request.")
        )
    return StoredResponse(record.status_code, record.response_body, record.response_headers, replayed=True)


def idempotency_records_prune(*, now: dt.datetime | None = None) -> int:
    """Forgets the responses of creates older than IDEMPOTENCY_KEY_LIFETIME (a key may then be used anew).
    Returns how many were removed."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_KEY_LIFETIME
    deleted, _per_model = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
