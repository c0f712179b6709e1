"""Connecting a Mastodon account: one OAuth app per instance (registered the first time, kept by the caller
through InstanceApps), the instance URL through the SSRF guard, then the authorization code flow.
https://docs.joinmastodon.org/client/token/"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext as _

from scheduler.adapters.base import (
    AccountPick,
    AdapterError,
    BaseConnectFlow,
    ChannelAccount,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    OAuthStart,
)
from scheduler.adapters.mastodon import adapter as mastodon
from scheduler.adapters.mastodon.forms import MastodonForm
from scheduler.adapters.oauth import check_instance_url
from scheduler.adapters.ssrf import UnsafeURL


def _register(instance_url: str, redirect_uri: str) -> tuple[str, str]:
    """Registers CivicPost on an instance. Returns (client_id, client_secret); raises ConnectError."""
    try:
        return mastodon.register_app(instance_url, redirect_uri)
    except UnsafeURL as error:
        raise ConnectError(error.message) from error
    except AdapterError as error:
        raise ConnectError(error.message) from error


class MastodonConnectFlow(BaseConnectFlow):
    platform = "mastodon"
    kind = "oauth"
    error_field = "instance_url"
    identity_keys = ("instance_url", "account_id")

    def form_class(self) -> type[forms.Form]:
        return MastodonForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        return {"instance_url": channel.options.get("instance_url", "")} if channel is not None else {}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            _(
                "Type the address of the Mastodon server the account is on. You will then sign in on that server "
                "and allow CivicPost to publish."
            )
        ]

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        instance_url = check_instance_url(data["instance_url"])
        app = apps.get_or_register(
            instance_url=instance_url,
            redirect_uri=redirect_uri,
            scopes=" ".join(mastodon.SCOPES),
            register=lambda: _register(instance_url, redirect_uri),
        )
        try:
            url = mastodon.authorization_url(instance_url, app.client_id, app.client_secret, redirect_uri, state)
        except UnsafeURL as error:
            raise ConnectError(error.message) from error
        except Exception as error:  # noqa: BLE001 - any library failure: tell the admin, log nothing secret
            raise ConnectError(
                _("%(instance)s did not answer like a Mastodon server (%(error)s).")
                % {"instance": instance_url, "error": type(error).__name__}
            ) from error
        return OAuthStart(url, {"instance_url": instance_url, "app_id": app.id})

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        app = apps.get(pending.get("app_id"))
        if app is None:
            raise ConnectError(_("CivicPost's registration on that server was removed; start again."))
        instance_url = pending["instance_url"]
        try:
            credentials = mastodon.exchange_code(instance_url, app.client_id, app.client_secret, code, redirect_uri)
        except UnsafeURL as error:
            raise ConnectError(error.message) from error
        except AdapterError as error:
            raise ConnectError(error.message) from error
        host = urlsplit(instance_url).hostname or instance_url
        acct = str(credentials.get("acct", ""))
        handle = acct if "@" in acct else f"{acct}@{host}"
        return ConnectedAccount(
            platform="mastodon",
            display_name=f"@{handle}",
            account_handle=handle,
            credentials=credentials,
            options={"instance_url": instance_url, "account_id": str(credentials.get("account_id", ""))},
        )


FLOW: ConnectFlow = MastodonConnectFlow()
