"""Connecting a Bluesky account: handle + app password, verified by signing in once; the session is kept
so publishing never has to sign in again (createSession is limited to 30 per 5 minutes).
https://docs.bsky.app/docs/api/com-atproto-server-create-session"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from scheduler.adapters.base import (
    AdapterError,
    BaseConnectFlow,
    ChannelAccount,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
)
from scheduler.adapters.bluesky import adapter as bluesky
from scheduler.adapters.bluesky.forms import BlueskyForm
from scheduler.adapters.oauth import check_instance_url
from scheduler.adapters.ssrf import UnsafeURL


class BlueskyConnectFlow(BaseConnectFlow):
    platform = "bluesky"
    kind = "form"
    identity_keys = ("did",)

    def form_class(self) -> type[forms.Form]:
        return BlueskyForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        return {"handle": channel.handle} if channel is not None else {}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            _(
                "Bluesky uses an app password: a separate password for CivicPost that you can revoke at any time "
                "without changing the account's own password."
            )
        ]

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        """Signs in once with the app password to prove it works. Raises ConnectError."""
        service_url = str(data.get("service_url") or "")
        pds_url = check_instance_url(service_url) if service_url.strip() else None
        try:
            credentials = bluesky.connect_with_app_password(data["handle"], data["app_password"], pds_url)
        except UnsafeURL as error:
            raise ConnectError(error.message) from error
        except AdapterError as error:
            raise ConnectError(error.message) from error
        options: dict[str, Any] = {"did": credentials["did"]}
        if pds_url:
            options["pds_url"] = pds_url
        return ConnectedAccount(
            platform="bluesky",
            display_name=f"@{credentials['handle']}",
            account_handle=credentials["handle"],
            credentials=credentials,
            options=options,
        )


FLOW: ConnectFlow = BlueskyConnectFlow()
