"""Connecting a Google Business Profile location: Google sign-in (scope business.manage, PKCE, offline
access for a refresh token), then the admin picks ONE location of the accounts they manage: one channel per
library branch, pool or city hall. https://developers.google.com/my-business/content/basic-setup"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from scheduler.adapters.base import (
    AccountPick,
    AdapterError,
    ConnectedAccount,
    ConnectError,
    ConnectFlow,
    InstanceApps,
    PageChoice,
    parse_expires_at,
)
from scheduler.adapters.google.flow import GoogleConnectFlow, credentials_from_bundle, missing_settings_paragraph
from scheduler.adapters.google_business import adapter as gbp


class GoogleBusinessConnectFlow(GoogleConnectFlow):
    platform = "google_business"
    scopes = gbp.SCOPES
    product = "Google Business Profile"
    identity_keys = ("account_id", "location_id")

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            self.sign_in_paragraph(label),
            _(
                "After signing in you choose one location (a library branch, a pool, city hall): each location is "
                "its own channel. You must be an owner or manager of it on Google."
            ),
            *missing_settings_paragraph(
                _(
                    "Google must also have granted the city's Google Cloud project access to the Business Profile "
                    "APIs (Google's access request form)."
                )
            ),
        ]

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        credentials = self.exchange(code=code, pending=pending, redirect_uri=redirect_uri)
        return AccountPick(
            access_token=json.dumps(credentials), expires_at=parse_expires_at(credentials.get("access_expires_at"))
        )

    def _locations(self, bundle: str) -> list[gbp.Location]:
        try:
            return gbp.list_locations(credentials=credentials_from_bundle(bundle))
        except AdapterError as error:
            raise ConnectError(
                _("Google would not list your locations: %(message)s") % {"message": error.message}
            ) from error

    def choices(self, *, access_token: str) -> list[PageChoice]:
        return [
            PageChoice(id=location.choice_id, name=location.title, detail=location.address)
            for location in self._locations(access_token)
        ]

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        """Returns the location picked (looked up again, never taken from the form)."""
        location = {item.choice_id: item for item in self._locations(access_token)}.get(str(choice_id))
        if location is None:
            raise ConnectError(_("That location is not one you manage. Pick one from the list."))
        credentials = credentials_from_bundle(access_token)
        return ConnectedAccount(
            platform="google_business",
            display_name=location.title,
            credentials=credentials,
            options={
                "account_id": location.account_id,
                "location_id": location.location_id,
                "location_title": location.title,
            },
            # The access token lasts an hour and is renewed with the refresh token: no expiry to show.
            token_expires_at=None,
        )


FLOW: ConnectFlow = GoogleBusinessConnectFlow()
