"""Connecting a Nextdoor public agency: the Nextdoor sign-in (OAuth 2.0 authorization code), the code exchanged
at auth.nextdoor.com with CivicPost's client id and secret, then the admin picks where the channel posts: the
agency's whole service area, or one neighbourhood group of it (one channel each, so a post can target it).
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
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    OAuthStart,
    PageChoice,
)
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.http import http_session
from scheduler.adapters.nextdoor import adapter as nextdoor
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
        return ConfirmForm

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        paragraphs = [
            sign_in_intro(label),
            _(
                "Sign in with the agency's Nextdoor account. You then choose where this channel posts: the whole "
                "service area, or one neighbourhood of it."
            ),
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
        return OAuthStart(authorization_url(redirect_uri=redirect_uri, state=state))

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        """Exchanges the code; the admin then picks the service area or a neighbourhood (choices, picked)."""
        require_settings(*NEXTDOOR_SETTINGS, product="Nextdoor")
        token = exchange_code(code=code, redirect_uri=redirect_uri)
        expires_at = None
        if token.get("expires_in"):
            expires_at = timezone.now() + dt.timedelta(seconds=int(token["expires_in"]))
        self._agency(str(token["access_token"]))  # refuse a neighbour account before asking anything
        return AccountPick(access_token=str(token["access_token"]), expires_at=expires_at)

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

    def choices(self, *, access_token: str) -> list[PageChoice]:
        area = [PageChoice(id=WHOLE_AREA, name=_("The agency's whole service area"))]
        return area + [
            PageChoice(id=str(item["group_id"]), name=item["name"], detail=str(item.get("type") or ""))
            for item in self._boundaries(access_token)
        ]

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        me = self._agency(access_token)
        agency_name = str(me.get("agency_name") or me["agency_id"])
        if choice_id == WHOLE_AREA:
            group_ids: list[int] = []
            display_name = agency_name
        else:
            chosen = {str(item["group_id"]): item for item in self._boundaries(access_token)}.get(str(choice_id))
            if chosen is None:
                raise ConnectError(_("That neighbourhood is not in the agency's service area. Pick one from the list."))
            group_ids = [int(chosen["group_id"])]
            display_name = f"{agency_name} — {chosen['name']}"
        return ConnectedAccount(
            platform="nextdoor",
            display_name=display_name,
            account_handle=str(me.get("agency_url_at_nextdoor") or ""),
            credentials={"access_token": access_token, "nextdoor_user_id": str(me.get("id") or "")},
            options={
                "agency_id": str(me["agency_id"]),
                "agency_name": agency_name,
                "group_ids": group_ids,
                "target": choice_id if group_ids else WHOLE_AREA,
            },
        )


FLOW: ConnectFlow = NextdoorConnectFlow()
