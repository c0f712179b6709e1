"""Every change to a channel's connection goes through one of these functions.

Channels belong to the department: `connected_by` only records who clicked. Tokens live encrypted in
Channel.credentials (civicpost.crypto), never in allauth's SocialToken, never in a log line or a message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from audit.models import AuditAction
from audit.services import audit_record
from civicpost.exceptions import ApplicationError
from civicpost.languages import channel_language, language_name
from civicpost.text import normalize_text
from connections.models import MastodonApp
from departments.models import Department
from departments.selectors import user_is_department_admin
from scheduler.adapter_changes import channel_save_adapter_changes
from scheduler.adapters.base import (
    AdapterError,
    AuthExpired,
    ConnectedAccount,
    ConnectError,
    ConnectionCheck,
    InstanceApp,
    parse_expires_at,
)
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel, get_connect_flow
from scheduler.models import CLAIMABLE_DELIVERY_STATUSES, Channel, ChannelStatus, Delivery

logger = logging.getLogger(__name__)

REFRESH_WINDOW = dt.timedelta(days=7)
# The words scheduler.publishing writes on a delivery it holds because the channel needs reconnecting
# (English, and as translated for the current language).
HELD_MESSAGE_PREFIX = gettext_noop("Waiting: the channel must be reconnected")


def _require_admin(*, user: User, department_id: int) -> None:
    if not user_is_department_admin(user=user, department_id=department_id):
        raise ApplicationError(_("Only a department admin can connect or change this department's channels."))


def _held_message_filter() -> Q:
    prefixes = {HELD_MESSAGE_PREFIX, _(HELD_MESSAGE_PREFIX)}
    condition = Q()
    for prefix in prefixes:
        condition |= Q(failure_message__startswith=prefix)
    return condition


def _hold_message(reason: str) -> str:
    return _("Waiting: the channel must be reconnected by a department admin (%(reason)s).") % {"reason": reason}


def deliveries_release_held(*, channel: Channel) -> int:
    """Clears the 'must be reconnected' message on the channel's waiting deliveries (they go out at the
    next dispatcher tick). Returns how many."""
    return (
        Delivery.objects.filter(channel=channel, status__in=CLAIMABLE_DELIVERY_STATUSES)
        .filter(_held_message_filter())
        .update(failure_message="", updated_at=timezone.now())
    )


def _hold_pending_deliveries(*, channel: Channel, reason: str) -> int:
    """Writes on each waiting delivery why it waits, so the department sees it on the post."""
    return (
        Delivery.objects.filter(channel=channel, status__in=CLAIMABLE_DELIVERY_STATUSES)
        .exclude(_held_message_filter())
        .update(failure_message=_hold_message(reason), updated_at=timezone.now())
    )


def _account_identity(platform: str, options: dict) -> str:
    """What identifies the remote account (Page id, user id, ...) by the platform's flow; "" when any
    target may replace the old one (webhook, feed) or the platform has no flow."""
    try:
        return get_connect_flow(platform).identity(options)
    except UnknownPlatform:
        return ""


@transaction.atomic
def channel_connect(
    *,
    user: User,
    department: Department,
    account: ConnectedAccount,
    channel: Channel | None = None,
) -> Channel:
    """Creates a connected channel for the department, or reconnects `channel` (same row, same posts).

    Reconnecting puts the channel back to connected and releases the deliveries held for it. It refuses
    to point an existing channel at a different account (a different Page, user, instance...).
    Raises ApplicationError."""
    _require_admin(user=user, department_id=department.pk)
    if channel is None:
        channel = Channel(department=department, platform=account.platform)
        before: dict = {}
    else:
        channel = Channel.objects.select_for_update().get(pk=channel.pk)
        if channel.department_id != department.pk or channel.platform != account.platform:
            raise ApplicationError(_("This channel belongs to another department or platform."))
        old_identity = _account_identity(channel.platform, channel.options)
        new_identity = _account_identity(account.platform, account.options)
        if old_identity and new_identity and old_identity != new_identity:
            raise ApplicationError(
                _(
                    "You signed in to a different account than the one this channel posts to. Sign in to the "
                    "original account, or connect the new one as a separate channel."
                )
            )
        before = {"status": channel.status, "display_name": channel.display_name}
    display_name = normalize_text(account.display_name or "", single_line=True).strip()
    channel.display_name = (display_name or channel.display_name or account.platform)[:120]
    channel.account_handle = (account.account_handle or "")[:200]
    channel.credentials = dict(account.credentials)
    channel.options = {**channel.options, **account.options}
    channel.status = ChannelStatus.CONNECTED
    channel.status_message = ""
    channel.token_expires_at = account.token_expires_at
    channel.connected_by = user
    channel.save()
    released = deliveries_release_held(channel=channel) if before else 0
    audit_record(
        action=AuditAction.CHANNEL_CONNECTED,
        actor=user,
        department_id=department.pk,
        target=channel,
        changes={"status": {"before": before.get("status"), "after": channel.status}, "platform": channel.platform},
        message=(_("Reconnected; %(n)d waiting deliveries released.") % {"n": released}) if before else "",
    )
    return channel


@transaction.atomic
def channel_disconnect(*, user: User, channel: Channel) -> Channel:
    """Disables the channel and wipes its credentials. Waiting posts stay scheduled, with a message,
    until it is reconnected. Raises ApplicationError."""
    _require_admin(user=user, department_id=channel.department_id)
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    before = channel.status
    channel.credentials = {}
    channel.status = ChannelStatus.DISABLED
    channel.status_message = _("Disconnected by %(user)s.") % {"user": user.get_full_name() or user.get_username()}
    channel.token_expires_at = None
    channel.save(update_fields=["credentials", "status", "status_message", "token_expires_at", "updated_at"])
    _hold_pending_deliveries(channel=channel, reason=_("it was disconnected"))
    audit_record(
        action=AuditAction.CHANNEL_DISCONNECTED,
        actor=user,
        department_id=channel.department_id,
        target=channel,
        changes={"status": {"before": before, "after": channel.status}},
    )
    return channel


@transaction.atomic
def channel_set_language(*, user: User, channel: Channel, language: str) -> Channel:
    """Sets the language the channel publishes in (Channel.options["language"]; "" for none, so it gets
    each post's main language). It counts only when the department publishes each language on its own
    channels; deliveries already made keep their language. Returns the channel. Raises ApplicationError
    when the user is not the department's admin or the department does not write in `language`."""
    _require_admin(user=user, department_id=channel.department_id)
    channel = Channel.objects.select_for_update().select_related("department").get(pk=channel.pk)
    department_languages = channel.department.languages or ["en"]
    if language and language not in department_languages:
        raise ApplicationError(
            _("%(department)s does not write in “%(language)s”. Choose one of its languages: %(languages)s.")
            % {
                "department": channel.department,
                "language": language_name(language),
                "languages": ", ".join(language_name(code) for code in department_languages),
            }
        )
    before = channel_language(channel)
    if before == language:
        return channel
    options = dict(channel.options or {})
    if language:
        options["language"] = language
    else:
        options.pop("language", None)
    channel.options = options
    channel.save(update_fields=["options", "updated_at"])
    audit_record(
        action=AuditAction.CHANNEL_LANGUAGE_CHANGED,
        actor=user,
        department_id=channel.department_id,
        target=channel,
        changes={"language": {"before": before or None, "after": language or None}},
    )
    return channel


def _apply_check(channel_id: int, check: ConnectionCheck) -> Channel:
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        if channel.status == ChannelStatus.DISABLED:
            # A disconnected channel stays disconnected until someone reconnects it.
            return channel
        was = channel.status
        channel.status = ChannelStatus.CONNECTED if check.ok else ChannelStatus.NEEDS_RECONNECT
        channel.status_message = "" if check.ok else (check.message or _("The platform refused the stored sign-in."))
        if check.expires_at is not None or check.ok:
            channel.token_expires_at = check.expires_at
        channel.save(update_fields=["status", "status_message", "token_expires_at", "updated_at"])
        if check.ok and was == ChannelStatus.NEEDS_RECONNECT:
            deliveries_release_held(channel=channel)
        elif not check.ok:
            _hold_pending_deliveries(channel=channel, reason=channel.status_message)
    return channel


def channel_test_connection(*, user: User, channel: Channel) -> tuple[Channel, ConnectionCheck]:
    """Asks the platform whether the stored credentials still work and records the answer on the channel.
    Returns (channel, check). Raises ApplicationError."""
    _require_admin(user=user, department_id=channel.department_id)
    if channel.status == ChannelStatus.DISABLED:
        return channel, ConnectionCheck(ok=False, message=_("This channel is disconnected; reconnect it first."))
    adapter = None
    try:
        adapter = adapter_for_channel(channel)
        check = adapter.check_connection()
    except UnknownPlatform:
        check = ConnectionCheck(ok=False, message=_("No adapter is installed for this platform."))
    except AdapterError as error:
        check = ConnectionCheck(ok=False, message=error.message)
    finally:
        if adapter is not None:
            # A renewed session (Bluesky) or the instance's limits (Mastodon) the check brought back.
            channel_save_adapter_changes(channel=channel, adapter=adapter)
    return _apply_check(channel.pk, check), check


# --- Token refresh --------------------------------------------------------------------------------------


@dataclass
class RefreshReport:
    refreshed: list[int] = field(default_factory=list)
    needs_reconnect: list[int] = field(default_factory=list)
    failed_for_now: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)


def channel_refresh_token(*, channel_id: int) -> str:
    """Renews one channel's token where its adapter can (Threads, X OAuth 2.0, Instagram Login).

    The row stays locked during the call, so two refreshers never spend the same (rotating) refresh token.
    Returns "refreshed", "needs_reconnect", "failed_for_now" or "skipped"."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().filter(pk=channel_id, status=ChannelStatus.CONNECTED).first()
        if channel is None:
            return "skipped"
        try:
            adapter = adapter_for_channel(channel)
        except UnknownPlatform:
            return "skipped"
        refresh = getattr(adapter, "refresh_credentials", None)
        if refresh is None:
            return "skipped"
        try:
            new_credentials = refresh()
        except AuthExpired as error:
            channel.status = ChannelStatus.NEEDS_RECONNECT
            channel.status_message = error.message
            channel.save(update_fields=["status", "status_message", "updated_at"])
            _hold_pending_deliveries(channel=channel, reason=error.message)
            return "needs_reconnect"
        except AdapterError as error:
            # The platform could not answer now (5xx, rate limit, network): only a refusal (AuthExpired)
            # means reconnect. An expired X access token is normal; its refresh token still works.
            logger.warning("token refresh for channel %s failed for now: %s", channel.pk, type(error).__name__)
            return "failed_for_now"
        except Exception:  # noqa: BLE001 - one channel's bug must not stop the others
            logger.exception("token refresh for channel %s failed unexpectedly", channel.pk)
            return "failed_for_now"
        channel.credentials = dict(new_credentials)
        channel.token_expires_at = parse_expires_at(new_credentials.get("expires_at")) or channel.token_expires_at
        channel.status_message = ""
        channel.save(update_fields=["credentials", "token_expires_at", "status_message", "updated_at"])
        audit_record(
            action=AuditAction.CHANNEL_TOKEN_REFRESHED,
            department_id=channel.department_id,
            target=channel,
            changes={"token_expires_at": channel.token_expires_at.isoformat() if channel.token_expires_at else None},
        )
    return "refreshed"


def channels_refresh_expiring_tokens(
    *, within: dt.timedelta = REFRESH_WINDOW, now: dt.datetime | None = None
) -> RefreshReport:
    """Renews every connected channel's token that expires within `within` (7 days), where the adapter
    can; marks a channel 'needs reconnect' when the platform refuses. Returns what happened to each."""
    now = now or timezone.now()
    report = RefreshReport()
    ids = list(
        Channel.objects.filter(
            status=ChannelStatus.CONNECTED, token_expires_at__isnull=False, token_expires_at__lte=now + within
        )
        .order_by("token_expires_at")
        .values_list("id", flat=True)
    )
    for channel_id in ids:
        outcome = channel_refresh_token(channel_id=channel_id)
        getattr(report, outcome).append(channel_id)
    return report


# --- OAuth app registrations per server (Mastodon instances) --------------------------------------------


class InstanceAppRegistry:
    """The connect flows' InstanceApps (scheduler/adapters/base.py): CivicPost's OAuth app on each server,
    kept in connections.models.MastodonApp (client secret encrypted)."""

    def get_or_register(
        self, *, instance_url: str, redirect_uri: str, scopes: str, register: Callable[[], tuple[str, str]]
    ) -> InstanceApp:
        """Returns CivicPost's app on the server, calling `register()` the first time. Raises ConnectError."""
        existing = MastodonApp.objects.filter(
            instance_url=instance_url, redirect_uri=redirect_uri, scopes=scopes
        ).first()
        if existing is not None and existing.client_id and existing.client_secret:
            return _instance_app(existing)
        client_id, client_secret = register()
        if not client_id or not client_secret:
            raise ConnectError(_("%(instance)s did not give CivicPost app keys.") % {"instance": instance_url})
        secrets: dict[str, Any] = {"client_secret": client_secret}
        app, _created = MastodonApp.objects.update_or_create(
            instance_url=instance_url,
            redirect_uri=redirect_uri,
            scopes=scopes,
            defaults={"client_id": client_id, "secrets": secrets},
        )
        return _instance_app(app)

    def get(self, app_id: Any) -> InstanceApp | None:
        app = MastodonApp.objects.filter(pk=app_id).first() if app_id else None
        return _instance_app(app) if app is not None else None


def _instance_app(app: MastodonApp) -> InstanceApp:
    return InstanceApp(id=app.pk, client_id=app.client_id, client_secret=app.client_secret)


instance_apps = InstanceAppRegistry()
