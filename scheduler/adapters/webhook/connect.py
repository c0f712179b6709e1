"""Connecting an outbound webhook: the address (through the SSRF guard) and a generated Standard Webhooks
signing secret, shown to the admin once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext as _

from scheduler.adapters.base import BaseConnectFlow, ChannelAccount, ConnectedAccount, ConnectError, ConnectFlow
from scheduler.adapters.ssrf import UnsafeURL, check_public_url
from scheduler.adapters.webhook.adapter import generate_secret
from scheduler.adapters.webhook.forms import WebhookForm


class WebhookConnectFlow(BaseConnectFlow):
    platform = "webhook"
    kind = "form"
    error_field = "url"
    normalize_form_text = True

    def form_class(self) -> type[forms.Form]:
        return WebhookForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        if channel is None:
            return {}
        return {"display_name": channel.display_name, "payload_format": channel.options.get("format", "standard")}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        paragraphs = [
            _(
                "A webhook sends each published post to another system: the city website's CMS, an alerting tool, "
                "Slack, Discord or Microsoft Teams. CivicPost signs every message so the receiver can check it came "
                "from us."
            )
        ]
        if reconnecting:
            paragraphs.append(_("Reconnecting creates a new signing secret: update the receiver with it."))
        return paragraphs

    def connect(self, data: Mapping[str, Any]) -> ConnectedAccount:
        """Returns the account with its new signing secret (to show once). Raises ConnectError for an
        address the SSRF guard refuses."""
        try:
            checked = check_public_url(data["url"])
        except UnsafeURL as error:
            raise ConnectError(error.message) from error
        secret = generate_secret()
        host = urlsplit(checked).hostname or ""
        return ConnectedAccount(
            platform="webhook",
            display_name=data["display_name"] or host,
            account_handle=host,
            # The URL goes with the secrets: Slack, Discord and Teams URLs carry their own secret in the path.
            credentials={"url": checked, "secret": secret},
            options={"format": data["payload_format"], "host": host},
            show_once_secret=secret,
            show_once_template="connections/webhook_secret.html",
        )


FLOW: ConnectFlow = WebhookConnectFlow()
