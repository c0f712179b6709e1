"""Reading the city's feeds into plain entries: RSS 2.0 / Atom with feedparser, iCalendar (RFC 5545) with
icalendar. No database, no network: bytes in, entries out."""

from __future__ import annotations

import calendar
import datetime as dt
import html
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

import feedparser
import icalendar
from django.utils.translation import gettext as _

MAX_SUMMARY = 500
TAG = re.compile(r"<[^>]+>")
SPACES = re.compile(r"[ \t\r\f\v]+")


class FeedParseError(ValueError):
    """The document is not a feed we can read. The message is plain words for the department."""


@dataclass(frozen=True)
class FeedEntry:
    uid: str
    title: str
    summary: str
    link: str
    starts_at: dt.datetime | None = None
    location: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "summary": self.summary,
            "link": self.link,
            "starts_at": self.starts_at.isoformat() if self.starts_at else "",
            "location": self.location,
        }


def plain_text(value: str, limit: int = MAX_SUMMARY) -> str:
    """HTML to short plain text: tags dropped, entities decoded, whitespace folded, cut at a word."""
    text = html.unescape(TAG.sub(" ", value or ""))
    text = "\n".join(SPACES.sub(" ", line).strip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def parse_news(content: bytes) -> list[FeedEntry]:
    """RSS or Atom entries. The stable id is the guid / Atom id, else the link. Raises FeedParseError when
    the document is no feed."""
    parsed = feedparser.parse(content)
    if parsed.bozo and not parsed.entries:
        raise FeedParseError(
            _("This is not an RSS or Atom feed CivicPost can read (%(why)s).")
            % {"why": str(getattr(parsed, "bozo_exception", "")) or _("unknown format")}
        )
    if not parsed.entries and not parsed.get("feed", {}).get("title") and parsed.get("version", "") == "":
        raise FeedParseError(_("This is not an RSS or Atom feed CivicPost can read."))
    entries = []
    for entry in parsed.entries:
        uid = (entry.get("id") or entry.get("link") or "").strip()
        if not uid:
            continue
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        entries.append(
            FeedEntry(
                uid=uid[:500],
                title=plain_text(entry.get("title", ""), 300),
                summary=plain_text(entry.get("summary", "")),
                link=(entry.get("link") or "").strip()[:500],
                starts_at=dt.datetime.fromtimestamp(calendar.timegm(published), tz=dt.UTC) if published else None,
            )
        )
    return entries


def _moment(value: Any, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    if value is None:
        return None
    moment = value.dt
    if isinstance(moment, dt.datetime):
        # A floating time (no TZID) is the department's local time.
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
    if isinstance(moment, dt.date):
        # An all-day event starts at the department's midnight.
        return dt.datetime.combine(moment, dt.time.min, tzinfo=zone)
    return None


def parse_ical(content: bytes, *, zone: zoneinfo.ZoneInfo) -> list[FeedEntry]:
    """The VEVENTs of an iCalendar document, one entry per event (a recurring event's master and each of its
    changed instances; the repeats of an RRULE are not expanded). The stable id is UID, with the
    RECURRENCE-ID of a changed instance. Raises FeedParseError when the document is no calendar."""
    try:
        cal = icalendar.Calendar.from_ical(content)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedParseError(
            _("This is not an iCalendar file CivicPost can read (%(why)s).") % {"why": error}
        ) from None
    if cal.name != "VCALENDAR":
        raise FeedParseError(_("This is not an iCalendar file CivicPost can read."))
    entries = []
    for event in cal.walk("VEVENT"):
        uid = str(event.get("UID", "")).strip()
        if not uid:
            continue
        recurrence = event.get("RECURRENCE-ID")
        if recurrence is not None:
            instance = _moment(recurrence, zone)
            uid = f"{uid}|{instance.astimezone(dt.UTC).isoformat() if instance else recurrence.to_ical().decode()}"
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        entries.append(
            FeedEntry(
                uid=uid[:500],
                title=plain_text(str(event.get("SUMMARY", "")), 300),
                summary=plain_text(str(event.get("DESCRIPTION", ""))),
                link=str(event.get("URL", "")).strip()[:500],
                starts_at=_moment(event.get("DTSTART"), zone),
                location=plain_text(str(event.get("LOCATION", "")), 200),
            )
        )
    return entries
