"""RSS 2.0 and Atom feeds of what was published on the city website feed channels (platforms.md §10).

One pair per department (/feeds/<department>/rss.xml, atom.xml) and one for the whole city
(/feeds/city/rss.xml, atom.xml); the latest 50 entries, newest first. Entry ids are the stable tag URIs
the FeedAdapter returned at publish time (RSS `guid isPermaLink="false"`), dates are UTC, each entry links
to the public post page, and the first image of the approved content becomes the enclosure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Enclosure, Rss201rev2Feed, SyndicationFeed
from django.utils.html import format_html, linebreaks
from django.utils.translation import gettext as _

from civicpost.text import normalize_text, normalize_text_tree
from departments.models import Department
from feeds.selectors import feed_deliveries, feed_department_get
from scheduler.adapters.feed.adapter import feed_entry_id, public_post_url
from scheduler.models import Delivery
from scheduler.snapshots import channel_content

TITLE_LENGTH = 60


def city_name() -> str:
    return getattr(settings, "CIVICPOST_CITY_NAME", "") or _("the city")


def absolute_url(url: str) -> str:
    """Returns url made absolute against SITE_URL (media may be stored as a site-relative path)."""
    return f"{settings.SITE_URL}{url}" if url.startswith("/") else url


def entry_title(text: str) -> str:
    """Returns the first non-empty line of the text, cut to 60 characters with an ellipsis."""
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first_line) <= TITLE_LENGTH:
        return first_line
    return first_line[: TITLE_LENGTH - 1].rstrip() + "…"


def entry_media(delivery: Delivery) -> list[dict[str, Any]]:
    """Returns the media of the approved content (list of dicts with url, mime_type, size_bytes, alt_text)."""
    media = delivery.approval.content.get("media") or []
    return [item for item in media if isinstance(item, dict) and item.get("url")]


def first_image(delivery: Delivery) -> dict[str, Any] | None:
    return next((m for m in entry_media(delivery) if str(m.get("mime_type", "")).startswith("image/")), None)


def _published_at(item: Delivery) -> dt.datetime:
    # Feeds list published deliveries only (published_at__isnull=False, feeds.selectors).
    assert item.published_at is not None  # nosec B101  # type narrowing
    return item.published_at.astimezone(dt.UTC)


class _XmlSafeText:
    """Feed generator mixin: every text that goes into the XML passes normalize_text first.

    Text is normalised when it is typed (civicpost/text.py), but posts approved before that, or written
    by another path, may hold a control character (Word's Shift+Enter is U+000B) that XML 1.0 cannot
    carry: Django then raises UnserializableContentError and the whole feed answers 500. Cleaning here,
    in the one place both formats build their XML from, keeps every field of every entry safe."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*normalize_text_tree(args), **normalize_text_tree(kwargs))

    def add_item(self, *args: Any, **kwargs: Any) -> None:
        super().add_item(*normalize_text_tree(args), **normalize_text_tree(kwargs))  # type: ignore[misc]


class SafeRssFeed(_XmlSafeText, Rss201rev2Feed):
    pass


class SafeAtomFeed(_XmlSafeText, Atom1Feed):
    pass


@dataclass(frozen=True)
class FeedScope:
    department: Department | None
    path: str


class PublishedPostsFeed(Feed):
    """Base of the four feeds; the department comes from the URL, None means the whole city."""

    feed_type: type[SyndicationFeed] = SafeRssFeed
    variant = "rss"

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().__call__(request, *args, **kwargs)
        # The view's `condition` decorator sets Last-Modified from the same data as its ETag
        # (it also counts removals, which the rendered dates cannot show).
        del response.headers["Last-Modified"]
        return response

    @property
    def language(self) -> str:  # type: ignore[override]
        return settings.LANGUAGE_CODE

    def get_object(self, request: HttpRequest, department_slug: str | None = None) -> FeedScope:
        department = feed_department_get(slug=department_slug) if department_slug else None
        return FeedScope(department=department, path=request.path)

    def title(self, obj: FeedScope) -> str:
        if obj.department is None:
            return _("News from %(city)s") % {"city": city_name()}
        return _("%(department)s — news from %(city)s") % {"department": obj.department.name, "city": city_name()}

    def link(self, obj: FeedScope) -> str:
        if obj.department is None:
            return f"{settings.SITE_URL}{reverse('feeds:city_page')}"
        return f"{settings.SITE_URL}{reverse('feeds:department_page', kwargs={'department_slug': obj.department.slug})}"

    def feed_url(self, obj: FeedScope) -> str:
        return f"{settings.SITE_URL}{obj.path}"

    def description(self, obj: FeedScope) -> str:
        if obj.department is None:
            return _("Announcements published by every department of %(city)s.") % {"city": city_name()}
        return _("Announcements published by %(department)s.") % {"department": obj.department.name}

    subtitle = description

    def feed_guid(self, obj: FeedScope) -> str:
        return self.feed_url(obj)

    def author_name(self, obj: FeedScope) -> str:
        return obj.department.name if obj.department else city_name()

    ttl = 15

    def items(self, obj: FeedScope) -> list[Delivery]:
        return feed_deliveries(department=obj.department)

    # --- Entries --------------------------------------------------------------------------------

    def _text(self, item: Delivery) -> str:
        # Normalised here too, so a stored U+000B breaks the line as the writer meant instead of vanishing.
        return normalize_text(channel_content(item.approval.content, item.channel, item.language).text)

    def item_title(self, item: Delivery) -> str:
        return entry_title(self._text(item))

    def item_description(self, item: Delivery) -> str:
        """Returns HTML: the plain text escaped (line breaks kept), the post's link, the first image."""
        content = channel_content(item.approval.content, item.channel, item.language)
        parts = [linebreaks(normalize_text(content.text), autoescape=True)]
        if content.link:
            parts.append(format_html('<p><a href="{}">{}</a></p>', content.link, content.link))
        image = first_image(item)
        if image:
            image_url = absolute_url(image["url"])
            parts.append(format_html('<p><img src="{}" alt="{}"></p>', image_url, image.get("alt_text", "")))
        return "\n".join(parts)

    def item_link(self, item: Delivery) -> str:
        return item.permalink or public_post_url(str(item.idempotency_key))

    def item_guid(self, item: Delivery) -> str:
        return item.remote_id or feed_entry_id(str(item.idempotency_key))

    item_guid_is_permalink = False

    def item_pubdate(self, item: Delivery) -> dt.datetime:
        return _published_at(item)

    def item_updateddate(self, item: Delivery) -> dt.datetime:
        return _published_at(item)

    def item_author_name(self, item: Delivery) -> str:
        return item.post.department.name

    def item_categories(self, item: Delivery) -> list[str]:
        return [item.post.department.name]

    def item_enclosures(self, item: Delivery) -> list[Enclosure]:
        image = first_image(item)
        if image is None:
            return []
        # RSS requires a length; 0 is the documented value when it is not known.
        return [
            Enclosure(
                url=absolute_url(image["url"]),
                length=str(int(image.get("size_bytes") or 0)),
                mime_type=str(image.get("mime_type")),
            )
        ]


class RssFeed(PublishedPostsFeed):
    # Titles are plain text, escaped once by the XML writer like every other element: escaping them
    # again made readers show "Parks &amp; Rec". The description is HTML (escaped text, then XML-escaped).
    feed_type = SafeRssFeed
    variant = "rss"


class AtomFeed(PublishedPostsFeed):
    # Atom titles are declared plain text (type="text"), escaped once by the XML writer.
    feed_type = SafeAtomFeed
    variant = "atom"
