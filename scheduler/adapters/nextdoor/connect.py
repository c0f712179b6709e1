"""Connecting a Nextdoor public agency: the Nextdoor sign-in (OAuth 2.0 authorization code), the code exchanged
at auth.nextdoor.com with CivicPost's client id and secret; the channel posts to the
agency's whole service area, or one neighbourhood of it typed on the connect page (one channel each).
https://developer.nextdoor.com/reference/sharing-get-authorization-code (calls in adapter.py)."""

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
    AdapterError,
    BaseConnectFlow,
    ChannelAccount,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    OAuthStart,
)
from scheduler.adapters.http import http_session
from scheduler.adapters.nextdoor import adapter as nextdoor
from scheduler.adapters.nextdoor.forms import NextdoorForm
from scheduler.adapters.oauth import require_settings, sign_in_intro

NEXTDOOR_SETTINGS = ("CIVICPOST_NEXTDOOR_CLIENT_ID", "CIVICPOST_NEXTDOOR_CLIENT_SECRET")
WHOLE_AREA = "all"


def authorization_url(*, redirect_uri: str, state: str) -> str:
    query = {
        "scope": " ".join(nextdoor.SCOPES),
        "client_id": settings.CIVICPOST_NEXTDOOR_CLIENT_ID,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
    }
    return f"{nextdoor.AUTHORIZE_URL}?{urlencode(query)}"


def exchange_code(*, code: str, redirect_uri: str) -> dict[str, Any]:
    """POST /v2/token with HTTP Basic client_id:client_secret. Returns the token answer; raises ConnectError."""
    session = http_session()
    try:
        response = session.post(
            f"{nextdoor.auth_base()}{nextdoor.TOKEN_PATH}",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=(settings.CIVICPOST_NEXTDOOR_CLIENT_ID, settings.CIVICPOST_NEXTDOOR_CLIENT_SECRET),
            headers={"Accept": "application/json"},
        )
        token = response.json() if response.status_code == 200 else None
    except (requests.RequestException, ValueError) as error:
        raise ConnectError(
            _("Could not complete the sign-in with Nextdoor (%(error)s).") % {"error": type(error).__name__}
        ) from error
    finally:
        session.close()
    if not isinstance(token, dict) or not token.get("access_token"):
        raise ConnectError(
            _("Nextdoor did not accept the sign-in (HTTP %(status)s). Please try again.")
            % {"status": response.status_code}
        )
    return token


class NextdoorConnectFlow(BaseConnectFlow):
    platform = "nextdoor"
    kind = "oauth"
    identity_keys = ("agency_id", "target")

    def form_class(self) -> type[forms.Form]:
        return NextdoorForm

    def initial(self, *, department_name: str, channel: ChannelAccount | None) -> dict[str, Any]:
        return {"neighbourhood": channel.options.get("neighbourhood", "")} if channel is not None else {}

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        paragraphs = [
            sign_in_intro(label),
            _("Sign in with the agency's Nextdoor account (Nextdoor for Public Agencies)."),
        ]
        if not all(getattr(settings, name, "") for name in NEXTDOOR_SETTINGS):
            paragraphs.append(
                _(
                    "Not available yet: Nextdoor gives API access to agencies' tools on application. Once Nextdoor "
                    "has issued a client id and secret, the city's IT team sets %(names)s."
                )
                % {"names": " and ".join(NEXTDOOR_SETTINGS)}
            )
        return paragraphs

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings(*NEXTDOOR_SETTINGS, product="Nextdoor")
        neighbourhood = str(data.get("neighbourhood") or "").strip()
        return OAuthStart(authorization_url(redirect_uri=redirect_uri, state=state), {"neighbourhood": neighbourhood})

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        """Exchanges the code, refuses an account that is not a public agency, and finds the neighbourhood the
        admin typed among the agency's (none typed: the whole service area)."""
        require_settings(*NEXTDOOR_SETTINGS, product="Nextdoor")
        token = exchange_code(code=code, redirect_uri=redirect_uri)
        access_token = str(token["access_token"])
        expires_at = None
        if token.get("expires_in"):
            expires_at = timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))
        me = self._agency(access_token)
        agency_name = str(me.get("agency_name") or me["agency_id"])
        wanted = str(pending.get("neighbourhood") or "").strip()
        group_ids: list[int] = []
        display_name = agency_name
        if wanted:
            boundaries = self._boundaries(access_token)
            chosen = next((b for b in boundaries if b["name"].casefold() == wanted.casefold()), None)
            if chosen is None:
                names = ", ".join(sorted(b["name"] for b in boundaries)) or _("none")
                raise ConnectError(
                    _("“%(name)s” is not a neighbourhood of the agency's service area. Nextdoor lists: %(names)s.")
                    % {"name": wanted, "names": names}
                )
            group_ids = [int(chosen["group_id"])]
            display_name = f"{agency_name} — {chosen['name']}"
        return ConnectedAccount(
            platform="nextdoor",
            display_name=display_name,
            account_handle=str(me.get("agency_url_at_nextdoor") or ""),
            credentials={
                "access_token": access_token,
                "expires_at": expires_at.astimezone(dt.UTC).isoformat() if expires_at else "",
                "nextdoor_user_id": str(me.get("id") or ""),
                # Kept for renewal (adapter.refresh_credentials) where Nextdoor issues one.
                **({"refresh_token": str(token["refresh_token"])} if token.get("refresh_token") else {}),
            },
            options={
                "agency_id": str(me["agency_id"]),
                "agency_name": agency_name,
                "group_ids": group_ids,
                "neighbourhood": display_name.split(" — ", 1)[1] if group_ids else "",
                "target": str(group_ids[0]) if group_ids else WHOLE_AREA,
            },
            token_expires_at=expires_at,
        )

    @staticmethod
    def _agency(access_token: str) -> dict[str, Any]:
        try:
            me = nextdoor.call("GET", nextdoor.ME_PATH, token=access_token)
        except AdapterError as error:
            raise ConnectError(
                _("Nextdoor would not show the account: %(message)s") % {"message": error.message}
            ) from error
        if not me.get("agency_id"):
            raise ConnectError(
                _(
                    "This Nextdoor account is not a public agency account. Sign in with the agency's account "
                    "(Nextdoor for Public Agencies)."
                )
            )
        return me

    @staticmethod
    def _boundaries(access_token: str) -> list[dict[str, Any]]:
        try:
            return nextdoor.agency_boundaries(token=access_token)
        except AdapterError as error:
            raise ConnectError(
                _("Nextdoor would not list the agency's neighbourhoods: %(message)s") % {"message": error.message}
            ) from error


FLOW: ConnectFlow = NextdoorConnectFlow()
