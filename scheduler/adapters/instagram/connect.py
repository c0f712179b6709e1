"""Connecting an Instagram professional account through Facebook Login: the Facebook flow
(scheduler/adapters/facebook/connect.py) with Instagram's scopes, then the admin picks the Instagram
account linked to one of their Pages."""

from __future__ import annotations

from django.utils.translation import gettext as _

from scheduler.adapters.base import AdapterError, ConnectedAccount, ConnectError, ConnectFlow, PageChoice
from scheduler.adapters.facebook.connect import MetaConnectFlow
from scheduler.adapters.instagram import adapter as instagram
from scheduler.adapters.oauth import sign_in_intro


class InstagramConnectFlow(MetaConnectFlow):
    platform = "instagram"
    scopes = instagram.INSTAGRAM_SCOPES
    identity_keys = ("ig_user_id",)

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            sign_in_intro(label),
            _(
                "The Instagram account must be a professional (business or creator) account linked to a Facebook "
                "Page you manage. After signing in with Facebook you choose it from a list."
            ),
        ]

    def choices(self, *, access_token: str) -> list[PageChoice]:
        """Returns the Instagram account linked to each Page (Pages without one are shown, not offered)."""
        choices = []
        for page in self._pages(access_token):
            try:
                account = instagram.instagram_account_for_page(page_id=page.id, page_token=page.access_token)
            except AdapterError:
                account = None
            if account is None:
                choices.append(
                    PageChoice(
                        id=page.id,
                        name=page.name,
                        detail=_("No Instagram professional account is linked."),
                        usable=False,
                    )
                )
            else:
                choices.append(
                    PageChoice(
                        id=page.id, name=f"@{account.username}" if account.username else account.id, detail=page.name
                    )
                )
        return choices

    def picked(self, *, access_token: str, choice_id: str) -> ConnectedAccount:
        """Returns the Instagram account of the Page picked (looked up again, never taken from the form)."""
        page = self._page(access_token, choice_id)
        try:
            account = instagram.instagram_account_for_page(page_id=page.id, page_token=page.access_token)
        except AdapterError as error:
            raise ConnectError(_("Instagram did not answer: %(message)s") % {"message": error.message}) from error
        if account is None:
            raise ConnectError(_("No Instagram professional account is linked to this Page."))
        fields = account.channel_fields(access_token=page.access_token, page_id=page.id)
        return ConnectedAccount(
            platform="instagram",
            display_name=fields["display_name"],
            account_handle=fields["account_handle"],
            credentials=fields["credentials"],
            options=fields["options"],
        )


FLOW: ConnectFlow = InstagramConnectFlow()
