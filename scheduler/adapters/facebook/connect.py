"""Connecting a Facebook Page: the Facebook Login dialog with PKCE, code exchange, a long-lived user token,
then the admin picks the Page (scheduler/adapters/facebook/adapter.py holds the Graph calls).
https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow

Instagram (Facebook Login flavour) runs the same flow and picks the Instagram account linked to a Page
(scheduler/adapters/instagram/connect.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
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
from scheduler.adapters.facebook import adapter as facebook
from scheduler.adapters.facebook.adapter import PageAccount
from scheduler.adapters.forms import ConfirmForm
from scheduler.adapters.oauth import pkce_pair, require_settings, sign_in_intro

META_SETTINGS = ("CIVICPOST_META_APP_ID", "CIVICPOST_META_APP_SECRET")


class MetaConnectFlow(BaseConnectFlow):
    """Facebook Login, then a pick among the admin's Pages."""

    kind = "oauth"
    scopes: tuple[str, ...] = ()

    def form_class(self) -> type[forms.Form]:
        return ConfirmForm

    def start(self, data: Mapping[str, Any], *, state: str, redirect_uri: str, apps: InstanceApps) -> OAuthStart:
        require_settings(*META_SETTINGS, product="Meta (Facebook)")
        verifier, challenge = pkce_pair()
        url = facebook.authorization_url(
            redirect_uri=redirect_uri, state=state, code_challenge=challenge, scopes=self.scopes
        )
        return OAuthStart(url, {"code_verifier": verifier})

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        """Returns an AccountPick holding a long-lived (about 60 days) user token, only used to list Pages."""
        require_settings(*META_SETTINGS, product="Meta (Facebook)")
        try:
            short = facebook.exchange_code(
                code=code, redirect_uri=redirect_uri, code_verifier=pending.get("code_verifier", "")
            )
            long_lived = facebook.exchange_long_lived_user_token(user_token=short.access_token)
        except AdapterError as error:
            raise ConnectError(
                _("Facebook did not accept the sign-in: %(message)s") % {"message": error.message}
            ) from error
        return AccountPick(access_token=long_lived.access_token, expires_at=long_lived.expires_at)

    def _pages(self, access_token: str) -> list[PageAccount]:
        try:
            return facebook.list_pages(user_token=access_token)
        except AdapterError as error:
            raise ConnectError(
                _("Facebook would not list your Pages: %(message)s") % {"message": error.message}
            ) from error

    def _page(self, access_token: str, choice_id: str) -> PageAccount:
        page = {page.id: page for page in self._pages(access_token)}.get(str(choice_id))
        if page is None:
            raise ConnectError(_("That Page is not one you manage. Pick one from the list."))
        return page


class FacebookConnectFlow(MetaConnectFlow):
    platform = "facebook"
    scopes = facebook.FACEBOOK_SCOPES
    identity_keys = ("page_id",)

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            sign_in_intro(label),
            _(
                "After signing in you choose which Facebook Page this channel publishes to. You need the “Create "
                "content” task on that Page."
            ),
        ]

    def choices(self, *, access_token: str) -> list[PageChoice]:
        """Returns the admin's Pages; those they cannot publish on are shown but not offered."""
        choices = []
        for page in self._pages(access_token):
            detail = "" if page.can_publish else _("You cannot publish on this Page (ask for the Create content task).")
            choices.append(PageChoice(id=page.id, name=page.name, detail=detail, usable=page.can_publish))
        return choices

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        """Returns the Page picked (looked up again, never taken from the form)."""
        page = self._page(access_token, choice_id)
        if not page.can_publish:
            raise ConnectError(_("You cannot publish on this Page (ask for the Create content task)."))
        fields = page.channel_fields()
        # Page tokens read with a long-lived user token do not expire.
        return ConnectedAccount(
            platform="facebook",
            display_name=fields["display_name"],
            credentials=fields["credentials"],
            options=fields["options"],
        )


FLOW: ConnectFlow = FacebookConnectFlow()
