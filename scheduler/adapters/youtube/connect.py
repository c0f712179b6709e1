"""Connecting a YouTube channel: Google sign-in (youtube.upload and youtube.readonly, PKCE, offline access),
then channels.list?mine=true names the channel (a Google account with several channels picks one on
Google's own consent screen). https://developers.google.com/youtube/v3/guides/authentication"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _

from scheduler.adapters.base import AccountPick, AdapterError, ConnectedAccount, ConnectError, ConnectFlow, InstanceApps
from scheduler.adapters.google.flow import GoogleConnectFlow, missing_settings_paragraph
from scheduler.adapters.youtube import adapter as youtube


class YouTubeConnectFlow(GoogleConnectFlow):
    platform = "youtube"
    scopes = youtube.SCOPES
    product = "YouTube"
    identity_keys = ("channel_id",)

    def intro(self, *, label: str, reconnecting: bool) -> list[str]:
        return [
            self.sign_in_paragraph(label),
            _(
                "If your Google account manages several channels, Google asks which one. Posts published to this "
                "channel must carry a video."
            ),
            *missing_settings_paragraph(_("The Google Cloud project must have the YouTube Data API v3 enabled.")),
        ]

    def finish(
        self, *, code: str, pending: Mapping[str, Any], redirect_uri: str, apps: InstanceApps
    ) -> ConnectedAccount | AccountPick:
        credentials = self.exchange(code=code, pending=pending, redirect_uri=redirect_uri)
        try:
            channel, reader = youtube.channel_for(credentials)
        except AdapterError as error:
            raise ConnectError(
                _("Google signed you in but would not show the YouTube channel: %(message)s")
                % {"message": error.message}
            ) from error
        snippet = channel.get("snippet") or {}
        title = str(snippet.get("title") or channel["id"])
        return ConnectedAccount(
            platform="youtube",
            display_name=title,
            account_handle=str(snippet.get("customUrl") or ""),
            credentials=reader.updated_credentials or credentials,
            options={"channel_id": str(channel["id"]), "privacy_status": "public", **(reader.updated_options or {})},
        )


FLOW: ConnectFlow = YouTubeConnectFlow()
