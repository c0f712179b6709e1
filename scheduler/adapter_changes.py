"""Saves what an adapter changed about its channel during a call: renewed credentials (a refreshed token
or session) and options it learned (Mastodon's instance limits). Adapters never write the database
(scheduler/adapters/base.py); publishing, reconciling and the connection checks call this after each call,
even a failed one, because a renewed session replaces the old refresh token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from scheduler.adapters.base import PlatformAdapter, parse_expires_at
from scheduler.models import Channel


def channel_save_adapter_changes(*, channel: Channel, adapter: PlatformAdapter) -> bool:
    """Merges the adapter's `updated_credentials` and `updated_options` into the channel row, re-read under
    its row lock so a change made meanwhile (another key of the options) is kept. Updates `channel` in
    memory too. Returns whether anything was saved."""
    credentials = adapter.updated_credentials
    options = adapter.updated_options
    if not credentials and not options:
        return False
    with transaction.atomic():
        row = Channel.objects.select_for_update().filter(pk=channel.pk).only("credentials", "options").first()
        if row is None:
            return False
        stored_credentials = _as_dict(row.credentials)
        stored_options = _as_dict(row.options)
        changes: dict[str, object] = {}
        if credentials:
            changes["credentials"] = {**stored_credentials, **credentials}
            expires_at = parse_expires_at(credentials.get("expires_at"))
            if expires_at is not None:
                changes["token_expires_at"] = expires_at
        if options:
            merged = {**stored_options, **options}
            if merged != stored_options:
                changes["options"] = merged
        if not changes:
            return False
        Channel.objects.filter(pk=row.pk).update(**changes, updated_at=timezone.now())
    for name, value in changes.items():
        setattr(channel, name, value)
    return True


def _as_dict(value: object) -> dict[str, Any]:
    """A JSON object field's value as a dict (an empty one when the row holds none)."""
    return dict(value) if isinstance(value, Mapping) else {}
