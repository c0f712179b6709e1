"""Connecting an e-mail bulletin: a form (no sign-in page: the three services use a login or an API key), the
Listmonk address through the SSRF guard, and the login checked by reading the list or topic before anything is
saved (credentials encrypted by the channel, never shown back)."""

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
from scheduler.adapters.email_bulletin.forms import EmailBulletinForm
from scheduler.adapters.email_bulletin.services import service_for
from scheduler.adapters.oauth import check_instance_url


class EmailBulletinConnectFlow(BaseConnectFlow):
    platform = "email_bulletin"
    kind = "form"
    error_field = "secret"
    normalize_form_text = True
    identity_keys = ("service", "server", "audience")

    def form_class(self) -> type[forms.Form]:
        return EmailBulletinForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        if channel is None:
            return {"display_name": _("%(department)s by e-mail") % {"department": department_name}}
        options = channel.options
        return {
            "display_name": channel.display_name,
            **{key: options.get(key, "") for key in ("service", "server_url", "environment", "account_code")},
            **{key: options.get(key, "") for key in ("audience", "from_name", "reply_to")},
        }

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            _(
                "An e-mail bulletin sends each published post to the subscribers of a list, through the e-mail "
                "service the city already uses: Granicus GovDelivery, Mailchimp or Listmonk. CivicPost checks the "
                "login by reading the list before it saves anything."
            ),
            _(
                "No CivicPost setting is needed: each channel keeps its own login, encrypted. GovDelivery needs an "
                "administrator login with API access (Granicus turns it on for the account); Mailchimp an API key; "
                "Listmonk an API user."
            ),
        ]

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        """Returns the account once the service answered for the list. Raises ConnectError."""
        service = str(data["service"])
        options: dict[str, Any] = {"service": service, "audience": str(data["audience"]).strip()}
        credentials: dict[str, Any] = {"secret": str(data["secret"]).strip()}
        if service == "govdelivery":
            options["environment"] = data.get("environment") or "production"
            options["account_code"] = str(data["account_code"]).strip().upper()
            options["server"] = f"{options['environment']}:{options['account_code']}"
            credentials["username"] = str(data["username"]).strip()
        elif service == "mailchimp":
            options["from_name"] = str(data["from_name"]).strip()
            options["reply_to"] = str(data["reply_to"]).strip()
            options["server"] = "mailchimp"
        else:
            options["server_url"] = check_instance_url(str(data["server_url"]))
            options["server"] = options["server_url"]
            credentials["username"] = str(data["username"]).strip()
        try:
            described = service_for(credentials, options).describe()
        except AdapterError as error:
            raise ConnectError(
                _("The e-mail service did not accept the login or the list: %(message)s") % {"message": error.message}
            ) from error
        except (ValueError, KeyError, TypeError) as error:
            raise ConnectError(
                _("The address did not answer like that e-mail service (%(error)s).") % {"error": type(error).__name__}
            ) from error
        return ConnectedAccount(
            platform="email_bulletin",
            display_name=str(data.get("display_name") or described),
            account_handle=described[:200],
            credentials=credentials,
            options=options,
        )


FLOW: ConnectFlow = EmailBulletinConnectFlow()
