"""Connecting an X account: OAuth 2.0 authorization code with PKCE (S256), confidential client when a
secret is set. https://docs.x.com/resources/fundamentals/authentication/oauth-2-0/authorization-code"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from scheduler.adapters.base import (
    AccountPick,
    BaseConnectFlow,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    OAuthStart,
)
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.http import http_session, platform_base_url
from scheduler.adapters.oauth import pkce_pair, require_settings, sign_in_intro

X_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
X_API_HOST = "https://api.x.com"
X_TOKEN_PATH = "/2/oauth2/token"  # noqa: S105 - a URL path  # nosec B105  # a URL path, not a secret
X_ME_PATH = "/2/users/me"
# offline.access for a refresh token; media.write for v2 media upload (platforms.md §2.2); tweet.moderate.write
# (hide replies) and mute.write (mute) for the inbox's moderation.
X_SCOPES = (
    "tweet.read",
    "tweet.write",
    "users.read",
    "offline.access",
    "media.write",
    "tweet.moderate.write",
    "mute.write",
)


def _x_auth() -> tuple[str, str] | None:
    client_id = getattr(settings, "CIVICPOST_X_CLIENT_ID", "")
    client_secret = getattr(settings, "CIVICPOST_X_CLIENT_SECRET", "")
    # Confidential clients authenticate with HTTP Basic; public (PKCE-only) clients only send client_id.
    return (client_id, client_secret) if client_secret else None


class XConnectFlow(BaseConnectFlow):
    platform = "x"
    kind = "oauth"
    identity_keys = ("x_user_id",)

    def form_class(self) -> type[forms.Form]:
        return ConfirmForm

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [sign_in_intro(label)]

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings("CIVICPOST_X_CLIENT_ID", product="X")
        verifier, challenge = pkce_pair()
        query = {
            "response_type": "code",
            "client_id": settings.CIVICPOST_X_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "scope": " ".join(X_SCOPES),
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return OAuthStart(f"{X_AUTHORIZE_URL}?{urlencode(query)}", {"code_verifier": verifier})

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        """Exchanges the code (POST /2/oauth2/token) and reads the account (GET /2/users/me)."""
        require_settings("CIVICPOST_X_CLIENT_ID", product="X")
        base = platform_base_url("x", X_API_HOST)
        session = http_session()
        try:
            response = session.post(
                f"{base}{X_TOKEN_PATH}",
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": pending.get("code_verifier", ""),
                    "client_id": settings.CIVICPOST_X_CLIENT_ID,
                },
                auth=_x_auth(),
            )
            if response.status_code != 200:
                raise ConnectError(
                    _("X did not accept the sign-in (HTTP %(status)s). Please try again.")
                    % {"status": response.status_code}
                )
            token = response.json()
            me = session.get(f"{base}{X_ME_PATH}", headers={"Authorization": f"Bearer {token['access_token']}"})
            if me.status_code != 200:
                raise ConnectError(
                    _("X signed you in but would not show the account (HTTP %(status)s).") % {"status": me.status_code}
                )
            user = me.json()["data"]
        except (requests.RequestException, ValueError, KeyError) as error:
            raise ConnectError(
                _("Could not complete the sign-in with X (%(error)s).") % {"error": type(error).__name__}
            ) from error
        expires_at = None
        if token.get("expires_in"):
            expires_at = timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))
        credentials = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token", ""),
            "expires_at": expires_at.astimezone(dt.UTC).isoformat() if expires_at else "",
            "scopes": token.get("scope", " ".join(X_SCOPES)),
            "x_user_id": str(user["id"]),
            "username": user.get("username", ""),
        }
        return ConnectedAccount(
            platform="x",
            display_name=f"@{user.get('username')}" if user.get("username") else str(user["id"]),
            account_handle=user.get("username", ""),
            credentials=credentials,
            options={"x_user_id": str(user["id"]), "username": user.get("username", "")},
            token_expires_at=expires_at,
        )


FLOW: ConnectFlow = XConnectFlow()
