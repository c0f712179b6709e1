"""The connect-flow pieces the Google channels share: the consent screen with PKCE and offline access,
the code exchange, and the page's words about missing app settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _

from scheduler.adapters.base import AdapterError, BaseConnectFlow, ConnectError, InstanceApps, OAuthStart
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.google import client
from scheduler.adapters.oauth import pkce_pair, require_settings, sign_in_intro


def missing_settings_paragraph(extra: str) -> list[str]:
    """The connect page's words when CivicPost's Google app is not configured (empty when it is)."""
    missing = [name for name in client.GOOGLE_SETTINGS if not getattr(settings, name, "")]
    if not missing:
        return []
    return [
        _("Not available yet: CivicPost's Google app is not set up. The city's IT team must set %(names)s. %(extra)s")
        % {"names": ", ".join(missing), "extra": extra}
    ]


def credentials_from_bundle(bundle: str) -> dict[str, Any]:
    """The credentials packed into an AccountPick's token string (a bare access token is accepted too). The
    contract's AccountPick holds one string, and Google's refresh token must reach the channel."""
    try:
        value = json.loads(bundle)
    except ValueError:
        return {"access_token": bundle}
    return dict(value) if isinstance(value, dict) else {"access_token": bundle}


class GoogleConnectFlow(BaseConnectFlow):
    kind = "oauth"
    scopes: tuple[str, ...] = ()
    product = "Google"

    def form_class(self) -> type[forms.Form]:
        return ConfirmForm

    def sign_in_paragraph(self, label: str) -> str:
        return sign_in_intro(label)

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings(*client.GOOGLE_SETTINGS, product=self.product)
        verifier, challenge = pkce_pair()
        url = client.authorization_url(
            scopes=self.scopes, redirect_uri=redirect_uri, state=state, code_challenge=challenge
        )
        return OAuthStart(url, {"code_verifier": verifier})

    def exchange(self, *, code: str, pending: Mapping[str, Any], redirect_uri: str) -> dict[str, Any]:
        require_settings(*client.GOOGLE_SETTINGS, product=self.product)
        try:
            return client.exchange_code(
                code=code, redirect_uri=redirect_uri, code_verifier=str(pending.get("code_verifier", ""))
            )
        except AdapterError as error:
            raise ConnectError(error.message) from error
