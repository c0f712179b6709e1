"""The RSS feed of the public transparency page: each publication, and each removal with its reason."""

from __future__ import annotations

import datetime as dt

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _

from archive.selectors import PublicRecord, public_records


class TransparencyFeed(Feed):
    def get_object(self, request: HttpRequest) -> None:
        # Raises Http404 where the city has no transparency page.
        self._records = public_records(limit=100)

    def title(self) -> str:
        return _("Everything the city published")

    def link(self) -> str:
        return reverse("archive:transparency")

    def description(self) -> str:
        return _("Every post the city published on its channels, with removals shown as removed and their reason.")

    def items(self) -> list[PublicRecord]:
        return self._records

    def item_title(self, item: PublicRecord) -> str:
        entry = item.entry
        if item.removed is not None:
            return _("Removed from %(channel)s: %(reason)s") % {
                "channel": entry.channel_name,
                "reason": item.removal_reason,
            }
        return _("%(department)s on %(channel)s") % {"department": entry.department_name, "channel": entry.channel_name}

    def item_description(self, item: PublicRecord) -> str:
        return item.text or item.removal_reason

    def item_link(self, item: PublicRecord) -> str:
        permalink = "" if item.removed else str((item.entry.facts or {}).get("permalink", ""))
        return permalink or f"{reverse('archive:transparency')}#record-{item.entry.sequence}"

    def item_guid(self, item: PublicRecord) -> str:
        return f"civicpost-archive-{item.entry.sequence}-{item.removed.sequence if item.removed else 0}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PublicRecord) -> dt.datetime:
        return item.entry.occurred_at
