"""Connecting a Threads account: the Threads authorization window, code exchange, a 60-day token
(the Graph calls are in scheduler/adapters/threads/adapter.py).
https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from scheduler.adapters.base import (
    AccountPick,
    AdapterError,
    BaseConnectFlow,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    OAuthStart,
)
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.oauth import require_settings, sign_in_intro
from scheduler.adapters.threads import adapter as threads

THREADS_SETTINGS = ("CIVICPOST_THREADS_APP_ID", "CIVICPOST_THREADS_APP_SECRET")


class ThreadsConnectFlow(BaseConnectFlow):
    platform = "threads"
    kind = "oauth"
    identity_keys = ("threads_user_id",)

    def form_class(self) -> type[forms.Form]:
        return ConfirmForm

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            sign_in_intro(label),
            _("Threads sign-ins last 60 days. CivicPost renews them automatically before they run out."),
        ]

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings(*THREADS_SETTINGS, product="Threads")
        return OAuthStart(threads.authorization_url(redirect_uri=redirect_uri, state=state))

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        require_settings(*THREADS_SETTINGS, product="Threads")
        try:
            short = threads.exchange_code(code=code, redirect_uri=redirect_uri)
            token = threads.exchange_long_lived_token(short_lived_token=short.access_token)
            profile = threads.profile(access_token=token.access_token)
        except AdapterError as error:
            raise ConnectError(
                _("Threads did not accept the sign-in: %(message)s") % {"message": error.message}
            ) from error
        fields = threads.threads_channel_fields(token=token, account=profile)
        return ConnectedAccount(
            platform="threads",
            display_name=fields["display_name"],
            account_handle=fields["account_handle"],
            credentials=fields["credentials"],
            options=fields["options"],
            token_expires_at=fields["token_expires_at"],
        )


FLOW: ConnectFlow = ThreadsConnectFlow()
