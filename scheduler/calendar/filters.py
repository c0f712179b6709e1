"""What the calendar shows: the filters (in the address and in CalendarPreference) and their choices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.utils.translation import gettext as _

from civicpost.fields import parse_id
from departments.models import Department
from scheduler.adapters.registry import platform_label
from scheduler.calendar.posts import CalendarPost, channels_by_id, post_has_language
from scheduler.calendar.quiet import MAX_QUIET_DAYS, default_quiet_days
from scheduler.calendar.statuses import CALENDAR_STATUSES, STATUS_LABELS
from scheduler.models import (
    CalendarPreference,
    Channel,
    Post,
    PostStatus,
)


def _ints(values: Iterable[Any]) -> tuple[int, ...]:
    result = []
    for value in values:
        number = parse_id(value)  # None for what cannot be an id (huge numbers break the query)
        if number is not None and number not in result:
            result.append(number)
    return tuple(sorted(result))


def _words(values: Iterable[Any], allowed: Iterable[str] | None = None) -> tuple[str, ...]:
    allowed_set = set(allowed) if allowed is not None else None
    result = []
    for value in values:
        word = str(value).strip()[:40]
        # Platform, status and language names are printable words; anything else names nothing (and a NUL
        # byte would break a PostgreSQL query).
        if word and word.isprintable() and word not in result and (allowed_set is None or word in allowed_set):
            result.append(word)
    return tuple(sorted(result))


@dataclass(frozen=True)
class CalendarFilters:
    """What the calendar shows. Lives in the address (GET parameters) and in CalendarPreference."""

    departments: tuple[int, ...] = ()
    channels: tuple[int, ...] = ()
    platforms: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    author: int | None = None
    quiet_days: int | None = None

    KEYS = ("department", "channel", "platform", "status", "language", "author", "quiet_days")

    @classmethod
    def from_lists(cls, get: Any) -> CalendarFilters:
        """Builds filters from a callable key -> list of strings (QueryDict.getlist or a dict lookup).
        Unknown or malformed values are dropped, never an error: a shared address may be old."""
        authors = _ints(get("author"))
        quiet = _ints(get("quiet_days"))
        return cls(
            departments=_ints(get("department")),
            channels=_ints(get("channel")),
            platforms=_words(get("platform")),
            statuses=_words(get("status"), STATUS_LABELS),
            languages=_words(get("language")),
            author=authors[0] if authors else None,
            quiet_days=min(quiet[0], MAX_QUIET_DAYS) if quiet else None,
        )

    @classmethod
    def from_query(cls, query: Any) -> CalendarFilters:
        return cls.from_lists(query.getlist)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalendarFilters:
        def get(key: str) -> list[Any]:
            value = data.get(key, [])
            return list(value) if isinstance(value, list | tuple) else [value]

        return cls.from_lists(get)

    @staticmethod
    def present_in(query: Any) -> bool:
        """True when the address says anything about filters (even "no filters": `filtered=1`)."""
        return "filtered" in query or any(key in query for key in CalendarFilters.KEYS)

    def as_dict(self) -> dict[str, list[str]]:
        data: dict[str, list[str]] = {
            "department": [str(v) for v in self.departments],
            "channel": [str(v) for v in self.channels],
            "platform": list(self.platforms),
            "status": list(self.statuses),
            "language": list(self.languages),
            "author": [str(self.author)] if self.author else [],
            "quiet_days": [str(self.quiet_days)] if self.quiet_days else [],
        }
        return {key: values for key, values in data.items() if values}

    def query_items(self) -> list[tuple[str, str]]:
        """Returns the address parameters, with `filtered=1` so "no filters" is remembered too."""
        items = [(key, value) for key, values in self.as_dict().items() for value in values]
        return [*items, ("filtered", "1")]

    @property
    def narrows(self) -> bool:
        return bool(self.departments or self.channels or self.platforms or self.statuses or self.author) or bool(
            self.languages and post_has_language()
        )

    def effective_quiet_days(self) -> int:
        return self.quiet_days or default_quiet_days()

    def matches(self, post: Post | CalendarPost, status: str, channels: list[Channel]) -> bool:
        if self.departments and post.department_id not in self.departments:
            return False
        if self.author and post.author_id != self.author:
            return False
        if self.statuses and status not in self.statuses:
            return False
        if self.statuses == () and status == PostStatus.CANCELLED:
            return False
        if self.languages and post_has_language() and getattr(post, "language", None) not in self.languages:
            return False
        if self.channels and not any(c.pk in self.channels for c in channels):
            return False
        return not (self.platforms and not any(c.platform in self.platforms for c in channels))


@dataclass
class FilterOptions:
    departments: list[Department]
    channels: list[Channel]
    platforms: list[tuple[str, str]]
    statuses: tuple[tuple[str, Any], ...]
    authors: list[Any]
    languages: list[tuple[str, str]]
    language_available: bool


def filter_options(*, user: User | AnonymousUser, channels: list[Channel] | None = None) -> FilterOptions:
    """The choices of the filter form (two queries, three without `channels`)."""
    if channels is None:
        channels = list(channels_by_id().values())
    platforms = sorted({(c.platform, platform_label(c.platform)) for c in channels}, key=lambda item: item[1])
    authors = list(
        get_user_model()
        .objects.filter(memberships__isnull=False, is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "email", "pk")
    )
    return FilterOptions(
        departments=list(Department.objects.order_by("name")),
        channels=channels,
        platforms=platforms,
        statuses=CALENDAR_STATUSES,
        authors=authors,
        languages=list(settings.LANGUAGES),
        language_available=post_has_language(),
    )


def calendar_preference_get(*, user: User) -> CalendarFilters | None:
    """Returns the person's saved filters, or None when they never chose any or when what is stored no
    longer validates (saved by an older version, or a value that is not an id): see `preference_is_valid`."""
    preference = CalendarPreference.objects.filter(user=user).first()
    if preference is None or not preference_is_valid(preference.filters):
        return None
    return CalendarFilters.from_dict(preference.filters or {})


def preference_is_valid(data: Any) -> bool:
    """True when stored filters read back exactly as they were stored: nothing in them is dropped as
    malformed (a huge id, an unknown status) on the way in."""
    if not isinstance(data, dict):
        return False
    return CalendarFilters.from_dict(data).as_dict() == data


@dataclass
class FilterChip:
    """One filter that is on, as a chip of the filter bar: its words, and the filters without it."""

    label: str
    without: CalendarFilters


def filter_chips(filters: CalendarFilters, options: FilterOptions) -> list[FilterChip]:
    """Returns a chip for each filter that is on ("Department: Parks"), in the order of the filter panel.
    Names come from the panel's choices (no query); a value with no choice any more shows as it is."""
    departments = {d.pk: d.name for d in options.departments}
    channels = {c.pk: c.display_name for c in options.channels}
    platforms = dict(options.platforms)
    authors = {a.pk: a.get_full_name() or a.email for a in options.authors}
    languages = dict(options.languages)
    statuses = {key: str(label) for key, label in options.statuses}
    chips: list[FilterChip] = []

    def add(kind: str, name: str, without: CalendarFilters) -> None:
        chips.append(FilterChip(f"{kind}: {name}", without))

    for pk in filters.departments:
        rest = tuple(v for v in filters.departments if v != pk)
        add(_("Department"), departments.get(pk, str(pk)), replace(filters, departments=rest))
    for pk in filters.channels:
        rest = tuple(v for v in filters.channels if v != pk)
        add(_("Channel"), channels.get(pk, str(pk)), replace(filters, channels=rest))
    for key in filters.platforms:
        rest_words = tuple(v for v in filters.platforms if v != key)
        add(_("Platform"), platforms.get(key, key), replace(filters, platforms=rest_words))
    if filters.author:
        add(_("Author"), authors.get(filters.author, str(filters.author)), replace(filters, author=None))
    if options.language_available:
        for code in filters.languages:
            rest_words = tuple(v for v in filters.languages if v != code)
            add(_("Language"), str(languages.get(code, code)), replace(filters, languages=rest_words))
    for key in filters.statuses:
        rest_words = tuple(v for v in filters.statuses if v != key)
        add(_("Status"), statuses.get(key, key), replace(filters, statuses=rest_words))
    return chips
