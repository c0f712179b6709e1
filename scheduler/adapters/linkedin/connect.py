"""Connecting a LinkedIn Page: 3-legged OAuth 2.0, then the admin picks one of the organisations on which
they hold an approved ADMINISTRATOR or content-admin role (organizationAcls).
https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow

LinkedIn documents no PKCE for web apps: the `state` check (connections/views.py) guards the callback.

The contract's AccountPick carries one token string; LinkedIn's sign-in also returns an expiry and (for
approved partners) a refresh token that the channel must keep. So the pick carries the whole credentials
as JSON in that string; it is kept encrypted in the session for minutes like any pick token."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
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
    parse_expires_at,
)
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.linkedin import adapter as linkedin
from scheduler.adapters.oauth import require_settings, sign_in_intro

LINKEDIN_SETTINGS = ("CIVICPOST_LINKEDIN_CLIENT_ID", "CIVICPOST_LINKEDIN_CLIENT_SECRET")


def _credentials(bundle: str) -> dict[str, Any]:
    """The credentials packed into an AccountPick (a bare token is accepted too)."""
    try:
        value = json.loads(bundle)
    except ValueError:
        return {"access_token": bundle}
    return dict(value) if isinstance(value, dict) else {"access_token": bundle}


class LinkedInConnectFlow(BaseConnectFlow):
    platform = "linkedin"
    kind = "oauth"
    identity_keys = ("organization_urn",)

    def form_class(self) -> type[forms.Form]:
        return ConfirmForm

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        paragraphs = [
            sign_in_intro(label),
            _(
                "After signing in you choose which LinkedIn Page this channel publishes to. You must be an "
                "administrator or content admin of that Page."
            ),
        ]
        missing = [name for name in LINKEDIN_SETTINGS if not getattr(settings, name, "")]
        if missing:
            paragraphs.append(
                _(
                    "Not available yet: CivicPost's LinkedIn app is not set up. The city's IT team must set "
                    "%(names)s, for a LinkedIn app that LinkedIn has granted the Community Management API."
                )
                % {"names": ", ".join(missing)}
            )
        return paragraphs

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings(*LINKEDIN_SETTINGS, product="LinkedIn")
        return OAuthStart(linkedin.authorization_url(redirect_uri=redirect_uri, state=state), {})

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        require_settings(*LINKEDIN_SETTINGS, product="LinkedIn")
        try:
            credentials = linkedin.exchange_code(code=code, redirect_uri=redirect_uri)
        except AdapterError as error:
            raise ConnectError(error.message) from error
        return AccountPick(
            access_token=json.dumps(credentials), expires_at=parse_expires_at(credentials.get("expires_at"))
        )

    def _organizations(self, bundle: str) -> list[linkedin.Organization]:
        try:
            return linkedin.list_organizations(access_token=_credentials(bundle)["access_token"])
        except AdapterError as error:
            raise ConnectError(
                _("LinkedIn would not list your Pages: %(message)s") % {"message": error.message}
            ) from error

    def choices(self, *, access_token: str) -> list[PageChoice]:
        choices = []
        for org in self._organizations(access_token):
            detail = "" if org.can_post else _("You are not an administrator or content admin of this Page.")
            choices.append(PageChoice(id=org.urn, name=org.name, detail=detail, usable=org.can_post))
        return choices

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        """Returns the organisation picked (looked up again, never taken from the form)."""
        org = {org.urn: org for org in self._organizations(access_token)}.get(str(choice_id))
        if org is None:
            raise ConnectError(_("That Page is not one you manage. Pick one from the list."))
        if not org.can_post:
            raise ConnectError(_("You are not an administrator or content admin of this Page."))
        credentials = _credentials(access_token)
        return ConnectedAccount(
            platform="linkedin",
            display_name=org.name,
            credentials=credentials,
            options={"organization_urn": org.urn, "organization_name": org.name},
            token_expires_at=parse_expires_at(credentials.get("expires_at")),
        )


FLOW: ConnectFlow = LinkedInConnectFlow()
