"""Selectors of the shared calendar: month, week and agenda data, conflict hints and quiet channels.

Every builder here runs a fixed number of queries whatever the number of posts (at most 12; see
tests/scheduler/test_calendar.py and bench/calendar_month.py):

1. the viewer's memberships (cached on the user object),
2. the visible posts of the period, widened by the conflict margins (department and author joined,
   a failed-delivery flag annotated),
3. their channels (one prefetch),
4. the blackout periods overlapping the period,
5. the quiet channels (one query with an EXISTS and a subquery),
6.-8. the filter choices: departments, channels, authors.

Filters are applied in Python on the fetched posts, so conflict hints still see the posts a filter hides
(a Parks post whose link the Library also shares is flagged even when only Parks is shown).

Times: each person sees the calendar in the zone of their first department (with the offset); posts of
departments in other zones land on the viewer's day and also say their own department's time.
"""

from __future__ import annotations

import calendar as pycalendar
import datetime as dt
import hashlib
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicpost.forms import parse_id
from departments.models import Department
from departments.selectors import (
    department_ids_for_user,
    memberships_for_user,
    user_approves_everywhere,
    user_is_department_admin,
)
from scheduler.adapters.registry import platform_label
from scheduler.hold_hints import add_hold_hints
from scheduler.models import (
    BlackoutPeriod,
    CalendarFeedToken,
    CalendarPreference,
    Channel,
    ChannelStatus,
    Delivery,
    DeliveryStatus,
    Post,
    PostStatus,
)
from scheduler.selectors import posts_visible_to
from scheduler.templatetags.civic_time import clock_label, date_label, utc_offset_label

# --- Settings ------------------------------------------------------------------------------------


def conflict_gap() -> dt.timedelta:
    """Two posts on one channel closer than this are flagged (CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES)."""
    return dt.timedelta(minutes=int(getattr(settings, "CIVICPOST_CALENDAR_CONFLICT_GAP_MINUTES", 60)))


def link_window() -> dt.timedelta:
    """Two departments sharing one link closer than this are flagged (CIVICPOST_CALENDAR_LINK_WINDOW_HOURS)."""
    return dt.timedelta(hours=int(getattr(settings, "CIVICPOST_CALENDAR_LINK_WINDOW_HOURS", 72)))


def default_quiet_days() -> int:
    return int(getattr(settings, "CIVICPOST_CALENDAR_QUIET_DAYS", 7))


def month_cell_limit() -> int:
    """How many posts a month cell lists before "N more" (the agenda of that day lists them all)."""
    return int(getattr(settings, "CIVICPOST_CALENDAR_MONTH_CELL_LIMIT", 6))


MAX_QUIET_DAYS = 90
MAX_AGENDA_DAYS = 92
FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 400
# Weeks start on Sunday, as on US city calendars.
FIRST_WEEKDAY = pycalendar.SUNDAY

# Department colours: a second cue next to the department's name, never the only one. Each is dark
# enough for white text (at least 7:1) and distinct from its neighbours.
DEPARTMENT_COLOURS = 8

# --- Statuses as shown on the calendar ----------------------------------------------------------

FAILED = "failed"
CALENDAR_STATUSES: tuple[tuple[str, Any], ...] = (
    (PostStatus.DRAFT, gettext_lazy("Draft")),
    (PostStatus.SUBMITTED, gettext_lazy("Waiting for approval")),
    (PostStatus.CHANGES_REQUESTED, gettext_lazy("Changes requested")),
    (PostStatus.APPROVED, gettext_lazy("Approved and scheduled")),
    (PostStatus.PUBLISHED, gettext_lazy("Published")),
    (FAILED, gettext_lazy("Failed on a channel")),
    (PostStatus.CANCELLED, gettext_lazy("Cancelled")),
)
STATUS_LABELS = dict(CALENDAR_STATUSES)
EDITABLE_STATUSES = (PostStatus.DRAFT, PostStatus.SUBMITTED, PostStatus.CHANGES_REQUESTED, PostStatus.APPROVED)

# USWDS sprite icons standing in for each platform; the platform's name is always the text alternative.
PLATFORM_ICONS = {
    "facebook": "facebook",
    "instagram": "instagram",
    "x": "x",
    "mastodon": "forum",
    "bluesky": "public",
    "threads": "chat",
    "feed": "rss_feed",
    "webhook": "api",
    "sandbox": "science",
}


def calendar_status(post: Post) -> str:
    """Returns the calendar status key: the post's status, or "failed" when a channel failed."""
    if post.status in (PostStatus.APPROVED, PostStatus.PUBLISHED) and getattr(post, "has_failure", False):
        return FAILED
    return post.status


# --- Filters ------------------------------------------------------------------------------------


def post_has_language() -> bool:
    """Posts get a language with issue 4 (multilingual posts); until then the filter is accepted and kept
    in the address and the saved filters, but narrows nothing."""
    return any(f.name == "language" for f in Post._meta.get_fields())


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

    def matches(self, post: Post, status: str, channels: list[Channel]) -> bool:
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


# --- Time ---------------------------------------------------------------------------------------


def default_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(str(Department._meta.get_field("time_zone").default))


def viewer_zone(*, user: User | AnonymousUser) -> zoneinfo.ZoneInfo:
    """The zone a person sees the calendar in: their first department's (the city's default otherwise)."""
    memberships = memberships_for_user(user=user)
    return memberships[0].department.zone if memberships else default_zone()


def viewer_zone_for_request(request: HttpRequest) -> zoneinfo.ZoneInfo:
    """`viewer_zone` of the person making the request, worked out once per request: every time a page shows
    is in this zone, with its offset (templates get it as `viewer_zone`, see scheduler.context_processors)."""
    zone = getattr(request, "_civic_viewer_zone", None)
    if zone is None:
        zone = viewer_zone(user=getattr(request, "user", None) or AnonymousUser())
        request._civic_viewer_zone = zone  # type: ignore[attr-defined]  # noqa: SLF001  # a cache on this request
    return zone


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The first instant of a local day, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def time_label(moment: dt.datetime) -> str:
    """ "1:30 AM CDT (UTC−05:00)" for an aware local datetime."""
    return f"{clock_label(moment)} {moment.tzname()} ({utc_offset_label(moment)})"


def zone_summary(zone: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime) -> str:
    """Returns "America/Chicago (CDT, UTC−05:00 until Nov 1; then CST, UTC−06:00)" for a period."""
    labels: list[str] = []
    cursor = start
    previous = None
    while cursor < end:
        local = cursor.astimezone(zone)
        label = f"{local.tzname()}, {utc_offset_label(local)}"
        if label != previous:
            labels.append(
                label
                if previous is None
                else _("from %(date)s %(label)s")
                % {
                    "date": f"{local:%b} {local.day}",
                    "label": label,
                }
            )
            previous = label
        cursor += dt.timedelta(hours=1)
    return f"{zone.key} ({'; '.join(labels)})"


# --- Calendar entries -----------------------------------------------------------------------------


@dataclass
class Hint:
    kind: str  # "channel", "link" or "blackout"
    text: str


@dataclass
class PlatformMark:
    key: str
    label: str
    icon: str


@dataclass
class CalendarEntry:
    """One post as the viewer sees it on the calendar."""

    post: Post
    local_due: dt.datetime
    status: str
    status_label: str
    can_move: bool
    colour: int
    platforms: list[PlatformMark]
    channels: list[Channel]
    department_time: str = ""  # the department's own time, when its zone differs from the viewer's
    hints: list[Hint] = field(default_factory=list)

    @property
    def local_date(self) -> dt.date:
        return self.local_due.date()

    @property
    def time(self) -> str:
        return clock_label(self.local_due)

    @property
    def zone_label(self) -> str:
        return f"{self.local_due.tzname()} ({utc_offset_label(self.local_due)})"

    @property
    def input_date(self) -> str:
        return self.local_due.strftime("%Y-%m-%d")

    @property
    def input_time(self) -> str:
        return self.local_due.strftime("%H:%M")

    @property
    def full_time(self) -> str:
        return f"{date_label(self.local_due)}, {time_label(self.local_due)}"

    @property
    def hint_kinds(self) -> list[str]:
        return sorted({hint.kind for hint in self.hints})


@dataclass
class CalendarBlackout:
    blackout: BlackoutPeriod
    label: str  # "Election quiet period (whole city), Tue, Nov 3, 6:00 AM CST (UTC−06:00) to ..."


@dataclass
class CalendarDay:
    date: dt.date
    entries: list[CalendarEntry] = field(default_factory=list)
    blackouts: list[CalendarBlackout] = field(default_factory=list)
    in_period: bool = True
    is_today: bool = False
    shown_limit: int | None = None

    @property
    def label(self) -> str:
        return f"{self.date:%A}, {self.date:%B} {self.date.day}, {self.date.year}"

    @property
    def iso(self) -> str:
        return self.date.isoformat()

    @property
    def shown(self) -> list[CalendarEntry]:
        return self.entries if self.shown_limit is None else self.entries[: self.shown_limit]

    @property
    def hidden_count(self) -> int:
        return len(self.entries) - len(self.shown)

    @property
    def hidden_with_hints(self) -> int:
        return sum(1 for entry in self.entries[len(self.shown) :] if entry.hints)


@dataclass
class QuietChannel:
    channel: Channel
    last_published_at: dt.datetime | None


@dataclass
class FilterOptions:
    departments: list[Department]
    channels: list[Channel]
    platforms: list[tuple[str, str]]
    statuses: tuple[tuple[str, Any], ...]
    authors: list[Any]
    languages: list[tuple[str, str]]
    language_available: bool


@dataclass
class CalendarPeriod:
    """What every calendar page gets: the entries of the period and everything around them."""

    zone: zoneinfo.ZoneInfo
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive
    entries: list[CalendarEntry]
    blackouts: list[CalendarBlackout]
    quiet_channels: list[QuietChannel]
    quiet_days: int
    options: FilterOptions
    zone_summary: str
    today: dt.date


@dataclass
class CalendarMonth(CalendarPeriod):
    year: int = 0
    month: int = 0
    weeks: list[list[CalendarDay]] = field(default_factory=list)
    weekday_names: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{pycalendar.month_name[self.month]} {self.year}"

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def previous(self) -> dt.date:
        return (self.first_day - dt.timedelta(days=1)).replace(day=1)

    @property
    def next(self) -> dt.date:
        return (self.first_day + dt.timedelta(days=32)).replace(day=1)


@dataclass
class CalendarHourRow:
    hour: int
    label: str
    cells: list[CalendarDay]


@dataclass
class CalendarWeek(CalendarPeriod):
    days: list[CalendarDay] = field(default_factory=list)
    rows: list[CalendarHourRow] = field(default_factory=list)

    @property
    def first_day(self) -> dt.date:
        return self.days[0].date

    @property
    def last_day(self) -> dt.date:
        return self.days[-1].date

    @property
    def title(self) -> str:
        return _("Week of %(date)s") % {"date": date_label(self.first_day)}

    @property
    def previous(self) -> dt.date:
        return self.first_day - dt.timedelta(days=7)

    @property
    def next(self) -> dt.date:
        return self.first_day + dt.timedelta(days=7)


@dataclass
class CalendarAgenda(CalendarPeriod):
    first_day: dt.date = dt.date.min
    days_count: int = 0
    days: list[CalendarDay] = field(default_factory=list)

    @property
    def last_day(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days_count - 1)

    @property
    def title(self) -> str:
        return _("%(first)s to %(last)s") % {"first": date_label(self.first_day), "last": date_label(self.last_day)}

    @property
    def previous(self) -> dt.date:
        return self.first_day - dt.timedelta(days=self.days_count)

    @property
    def next(self) -> dt.date:
        return self.first_day + dt.timedelta(days=self.days_count)


# Only what the calendar shows: loading every column (and the author) of thousands of posts costs more
# than the query itself, on SQLite above all (each datetime is parsed from text).
POST_COLUMNS = ("id", "department_id", "author_id", "text", "link", "due_at", "status")
DEPARTMENT_COLUMNS = ("department__id", "department__name", "department__time_zone")


def _channels_by_id() -> dict[int, Channel]:
    """Every channel with its department, without the encrypted credentials (one query)."""
    channels = Channel.objects.select_related("department").defer("credentials", "options", "status_message")
    return {c.pk: c for c in channels.order_by("department__name", "display_name", "id")}


def _calendar_posts(
    *,
    user: User | AnonymousUser,
    start: dt.datetime,
    end: dt.datetime,
    with_cancelled: bool,
    channels: dict[int, Channel],
) -> list[Post]:
    """Returns the visible posts due in [start, end) in time order, each with `calendar_channels` (a list)
    and `has_failure` (a channel failed or needs attention). Two queries, whatever the number of posts."""
    base = posts_visible_to(user=user).filter(due_at__gte=start, due_at__lt=end)
    if not with_cancelled:
        base = base.exclude(status=PostStatus.CANCELLED)
    failed = Delivery.objects.filter(
        post_id=OuterRef("pk"), status__in=(DeliveryStatus.FAILED, DeliveryStatus.NEEDS_ATTENTION)
    )
    columns = [*POST_COLUMNS, *DEPARTMENT_COLUMNS, *(["language"] if post_has_language() else [])]
    posts: list[Post] = list(
        base.select_related("department").only(*columns).annotate(has_failure=Exists(failed)).order_by("due_at", "id")
    )
    # The channels of these posts through a subquery (no list of thousands of ids as parameters).
    pairs = Post.channels.through.objects.filter(post_id__in=base.values("pk")).values_list("post_id", "channel_id")
    by_post: dict[int, list[Channel]] = defaultdict(list)
    for post_id, channel_id in pairs:
        channel = channels.get(channel_id)
        if channel is not None:
            by_post[post_id].append(channel)
    for post in posts:
        post.calendar_channels = sorted(by_post.get(post.pk, ()), key=lambda c: (c.display_name, c.pk))
    return posts


def _blackouts_overlapping(*, start: dt.datetime, end: dt.datetime) -> list[BlackoutPeriod]:
    return list(
        BlackoutPeriod.objects.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("department")
        .order_by("starts_at", "id")
    )


def blackout_applies(blackout: BlackoutPeriod, *, department_id: int, when: dt.datetime) -> bool:
    return (blackout.department_id is None or blackout.department_id == department_id) and (
        blackout.starts_at <= when < blackout.ends_at
    )


def blackouts_at(*, department_id: int, when: dt.datetime) -> list[BlackoutPeriod]:
    """Returns the blackout periods that cover `when` for a department (its own and city-wide ones)."""
    return list(
        BlackoutPeriod.objects.filter(starts_at__lte=when, ends_at__gt=when)
        .filter(Q(department__isnull=True) | Q(department_id=department_id))
        .select_related("department")
        .order_by("starts_at", "id")
    )


def blackout_scope(blackout: BlackoutPeriod) -> str:
    return blackout.department.name if blackout.department is not None else _("whole city")


def blackout_label(blackout: BlackoutPeriod, zone: zoneinfo.ZoneInfo) -> str:
    starts = blackout.starts_at.astimezone(zone)
    ends = blackout.ends_at.astimezone(zone)
    return _("%(reason)s (%(scope)s), %(start)s to %(end)s") % {
        "reason": blackout.reason,
        "scope": blackout_scope(blackout),
        "start": f"{date_label(starts)}, {time_label(starts)}",
        "end": f"{date_label(ends)}, {time_label(ends)}",
    }


def _normal_link(link: str) -> str:
    return link.strip().rstrip("/").lower()


def _add_hints(
    entries: list[CalendarEntry], blackouts: list[BlackoutPeriod], zone: zoneinfo.ZoneInfo, now: dt.datetime
) -> None:
    """Adds the conflict hints, in words, to each post still to go out (a future post that is not
    cancelled): a published or past post cannot be changed any more, so a warning there is only noise.
    Posts that went out still count as the neighbours of a future one. Each post gets at most one line
    per kind, however many of its channels are crowded."""
    live = [e for e in entries if e.post.status != PostStatus.CANCELLED]
    warned = {e.post.pk for e in live if e.post.status != PostStatus.PUBLISHED and e.post.due_at > now}
    gap = conflict_gap()
    gap_minutes = int(gap.total_seconds() // 60)
    channel_text = _("Less than %(minutes)s minutes from another post on %(channel)s (%(times)s).")
    more_text = _(" and %(count)s more")
    link_text = _("Same link as a post of %(departments)s (%(when)s).")

    # Same channel within the gap: a sliding window over each channel's posts in time order.
    by_channel: dict[int, list[CalendarEntry]] = defaultdict(list)
    channel_names: dict[int, str] = {}
    for entry in live:
        for channel in entry.channels:
            by_channel[channel.pk].append(entry)
            channel_names[channel.pk] = channel.display_name
    crowded: dict[int, list[str]] = defaultdict(list)  # post id -> names of its crowded channels
    neighbours: dict[int, dict[int, CalendarEntry]] = defaultdict(dict)  # post id -> the posts too close
    for channel_id, group in by_channel.items():
        group.sort(key=lambda e: (e.post.due_at, e.post.pk))
        low = 0
        close: set[int] = set()
        for high, entry in enumerate(group):
            while entry.post.due_at - group[low].post.due_at >= gap:
                low += 1
            for other in group[low:high]:
                neighbours[entry.post.pk][other.post.pk] = other
                neighbours[other.post.pk][entry.post.pk] = entry
                close.update((entry.post.pk, other.post.pk))
        for post_id in close:
            crowded[post_id].append(channel_names[channel_id])
    for entry in live:
        if entry.post.pk not in warned or entry.post.pk not in crowded:
            continue
        others = sorted(neighbours[entry.post.pk].values(), key=lambda o: (o.post.due_at, o.post.pk))
        times = ", ".join(clock_label(o.post.due_at.astimezone(zone)) for o in others[:3])
        if len(others) > 3:
            times += more_text % {"count": len(others) - 3}
        crowded_names = ", ".join(sorted(crowded[entry.post.pk]))
        words = {"minutes": gap_minutes, "channel": crowded_names, "times": times}
        entry.hints.append(Hint("channel", channel_text % words))

    # The same link shared by two departments within the link window.
    window = link_window()
    by_link: dict[str, list[CalendarEntry]] = defaultdict(list)
    for entry in live:
        if entry.post.link:
            by_link[_normal_link(entry.post.link)].append(entry)
    for group in by_link.values():
        if len({e.post.department_id for e in group}) < 2:
            continue
        for entry in group:
            if entry.post.pk not in warned:
                continue
            others = [
                o
                for o in group
                if o.post.department_id != entry.post.department_id and abs(o.post.due_at - entry.post.due_at) < window
            ]
            if not others:
                continue
            names = sorted({o.post.department.name for o in others})
            first = min(others, key=lambda o: abs(o.post.due_at - entry.post.due_at))
            moment = first.post.due_at.astimezone(zone)
            when = f"{date_label(moment)}, {clock_label(moment)}"
            entry.hints.append(Hint("link", link_text % {"departments": ", ".join(names), "when": when}))

    # Inside a blackout period of the post's department or of the whole city.
    if blackouts:
        blackout_text = _("Inside a blackout: %(reason)s (%(scope)s).")
        texts = {b.pk: blackout_text % {"reason": b.reason, "scope": blackout_scope(b)} for b in blackouts}
        for entry in live:
            if entry.post.pk not in warned:
                continue
            inside = [
                texts[blackout.pk]
                for blackout in blackouts
                if blackout_applies(blackout, department_id=entry.post.department_id, when=entry.post.due_at)
            ]
            if inside:
                entry.hints.append(Hint("blackout", " ".join(inside)))


def _entries_for(
    *,
    user: User | AnonymousUser,
    posts: list[Post],
    zone: zoneinfo.ZoneInfo,
    blackouts: list[BlackoutPeriod],
    now: dt.datetime,
) -> list[CalendarEntry]:
    # Translated once per build, not once per post.
    labels = {key: str(label) for key, label in CALENDAR_STATUSES}
    department_time_text = _("%(time)s in %(department)s's zone (%(zone)s)")
    marks: dict[str, PlatformMark] = {}
    member_of = department_ids_for_user(user=user)
    entries = []
    for post in posts:
        status = calendar_status(post)
        department_zone = post.department.zone
        local = post.due_at.astimezone(zone)
        department_time = ""
        if department_zone.key != zone.key:
            own = post.due_at.astimezone(department_zone)
            if own.utcoffset() != local.utcoffset():
                department_time = department_time_text % {
                    "time": f"{date_label(own)}, {time_label(own)}",
                    "department": post.department.name,
                    "zone": department_zone.key,
                }
        channels = post.calendar_channels
        platforms: dict[str, PlatformMark] = {}
        for channel in channels:
            if channel.platform not in marks:
                marks[channel.platform] = PlatformMark(
                    channel.platform, platform_label(channel.platform), PLATFORM_ICONS.get(channel.platform, "public")
                )
            platforms.setdefault(channel.platform, marks[channel.platform])
        can_move = (
            post.department_id in member_of
            and post.status in EDITABLE_STATUSES
            and not (post.status == PostStatus.APPROVED and post.due_at <= now)
        )
        entries.append(
            CalendarEntry(
                post=post,
                local_due=local,
                status=status,
                status_label=labels.get(status, status),
                can_move=can_move,
                colour=post.department_id % DEPARTMENT_COLOURS,
                platforms=list(platforms.values()),
                channels=channels,
                department_time=department_time,
            )
        )
    _add_hints(entries, blackouts, zone, now)
    # Crisis holds: "Held: crisis hold by ..." on each post kept from going out.
    add_hold_hints(entries, Hint, zone)
    return entries


def filter_options(*, user: User | AnonymousUser, channels: list[Channel] | None = None) -> FilterOptions:
    """The choices of the filter form (two queries, three without `channels`)."""
    if channels is None:
        channels = list(_channels_by_id().values())
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


def quiet_channels(
    *,
    user: User | AnonymousUser,
    days: int | None = None,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> list[QuietChannel]:
    """Channels the viewer looks after (their departments'; every one for the communications team) with
    nothing approved or waiting for approval in the next `days` days. One query."""
    now = now or timezone.now()
    days = min(max(days or default_quiet_days(), 1), MAX_QUIET_DAYS)
    channels = Channel.objects.exclude(status=ChannelStatus.DISABLED).defer("credentials", "options")
    if not user_approves_everywhere(user=user):
        channels = channels.filter(department_id__in=department_ids_for_user(user=user))
    if filters is not None:
        if filters.departments:
            channels = channels.filter(department_id__in=filters.departments)
        if filters.channels:
            channels = channels.filter(pk__in=filters.channels)
        if filters.platforms:
            channels = channels.filter(platform__in=filters.platforms)
    upcoming = Post.channels.through.objects.filter(
        channel_id=OuterRef("pk"),
        post__status__in=(PostStatus.SUBMITTED, PostStatus.APPROVED),
        post__due_at__gte=now,
        post__due_at__lt=now + dt.timedelta(days=days),
    )
    last_published = (
        Delivery.objects.filter(channel_id=OuterRef("pk"), status=DeliveryStatus.PUBLISHED)
        .order_by("-published_at")
        .values("published_at")[:1]
    )
    rows = (
        channels.annotate(has_upcoming=Exists(upcoming), last_published_at=Subquery(last_published))
        .filter(has_upcoming=False)
        .select_related("department")
        .order_by("department__name", "display_name", "id")
    )
    return [QuietChannel(channel=row, last_published_at=row.last_published_at) for row in rows]


def _period(
    *,
    user: User | AnonymousUser,
    first_day: dt.date,
    last_day: dt.date,
    filters: CalendarFilters,
    now: dt.datetime | None,
    with_options: bool = True,
) -> tuple[CalendarPeriod, dict[dt.date, CalendarDay]]:
    now = now or timezone.now()
    zone = viewer_zone(user=user)
    start = local_midnight(first_day, zone)
    end = local_midnight(last_day + dt.timedelta(days=1), zone)
    margin = max(conflict_gap(), link_window())
    with_cancelled = PostStatus.CANCELLED in filters.statuses
    channels = _channels_by_id()
    posts = _calendar_posts(
        user=user, start=start - margin, end=end + margin, with_cancelled=with_cancelled, channels=channels
    )
    blackouts = _blackouts_overlapping(start=start - margin, end=end + margin)
    all_entries = _entries_for(user=user, posts=posts, zone=zone, blackouts=blackouts, now=now)
    entries = [e for e in all_entries if start <= e.post.due_at < end and filters.matches(e.post, e.status, e.channels)]
    shown_blackouts = [
        CalendarBlackout(b, blackout_label(b, zone)) for b in blackouts if b.starts_at < end and b.ends_at > start
    ]
    today = now.astimezone(zone).date()
    days: dict[dt.date, CalendarDay] = {}
    day = first_day
    while day <= last_day:
        day_start, day_end = local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone)
        days[day] = CalendarDay(
            date=day,
            is_today=day == today,
            blackouts=[b for b in shown_blackouts if b.blackout.starts_at < day_end and b.blackout.ends_at > day_start],
        )
        day += dt.timedelta(days=1)
    for entry in entries:
        days[entry.local_date].entries.append(entry)
    quiet_days = filters.effective_quiet_days()
    period = CalendarPeriod(
        zone=zone,
        start=start,
        end=end,
        entries=entries,
        blackouts=shown_blackouts,
        quiet_channels=quiet_channels(user=user, days=quiet_days, filters=filters, now=now),
        quiet_days=quiet_days,
        options=filter_options(user=user, channels=list(channels.values()))
        if with_options
        else FilterOptions([], [], [], CALENDAR_STATUSES, [], [], False),
        zone_summary=zone_summary(zone, start, end),
        today=today,
    )
    return period, days


def _base_fields(period: CalendarPeriod) -> dict[str, Any]:
    return {name: getattr(period, name) for name in CalendarPeriod.__dataclass_fields__}


def calendar_month(
    *,
    user: User | AnonymousUser,
    year: int,
    month: int,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
    with_options: bool = True,
) -> CalendarMonth:
    """Returns the month grid (Sunday-first weeks, including the adjacent days that fill them)."""
    filters = filters or CalendarFilters()
    weeks = pycalendar.Calendar(firstweekday=FIRST_WEEKDAY).monthdatescalendar(year, month)
    period, days = _period(
        user=user, first_day=weeks[0][0], last_day=weeks[-1][-1], filters=filters, now=now, with_options=with_options
    )
    limit = month_cell_limit()
    for day in days.values():
        day.in_period = day.date.month == month
        day.shown_limit = limit
    return CalendarMonth(
        **_base_fields(period),
        year=year,
        month=month,
        weeks=[[days[d] for d in week] for week in weeks],
        weekday_names=[pycalendar.day_name[(FIRST_WEEKDAY + i) % 7] for i in range(7)],
    )


def week_start(day: dt.date) -> dt.date:
    """The Sunday that starts the week containing `day`."""
    return day - dt.timedelta(days=(day.weekday() - FIRST_WEEKDAY) % 7)


def hour_label(hour: int) -> str:
    return clock_label(dt.datetime.combine(dt.date(2000, 1, 1), dt.time(hour)))


def calendar_week(
    *,
    user: User | AnonymousUser,
    day: dt.date,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> CalendarWeek:
    """Returns the week containing `day` as 24 hour rows by 7 day columns, in the viewer's zone."""
    filters = filters or CalendarFilters()
    first = week_start(day)
    period, days = _period(user=user, first_day=first, last_day=first + dt.timedelta(days=6), filters=filters, now=now)
    cells: dict[tuple[dt.date, int], CalendarDay] = {}
    for calendar_day in days.values():
        for hour in range(24):
            cells[(calendar_day.date, hour)] = CalendarDay(
                date=calendar_day.date, is_today=calendar_day.is_today, blackouts=[]
            )
    for entry in period.entries:
        cells[(entry.local_date, entry.local_due.hour)].entries.append(entry)
    rows = [CalendarHourRow(hour, hour_label(hour), [cells[(d, hour)] for d in days]) for hour in range(24)]
    return CalendarWeek(**_base_fields(period), days=list(days.values()), rows=rows)


def calendar_agenda(
    *,
    user: User | AnonymousUser,
    first_day: dt.date,
    days: int = 14,
    filters: CalendarFilters | None = None,
    now: dt.datetime | None = None,
) -> CalendarAgenda:
    """Returns a list of days (only those with posts or blackouts) from `first_day` for `days` days."""
    filters = filters or CalendarFilters()
    days = min(max(days, 1), MAX_AGENDA_DAYS)
    period, by_day = _period(
        user=user, first_day=first_day, last_day=first_day + dt.timedelta(days=days - 1), filters=filters, now=now
    )
    return CalendarAgenda(
        **_base_fields(period),
        first_day=first_day,
        days_count=days,
        days=[d for d in by_day.values() if d.entries or d.blackouts],
    )


# --- Preferences, feed tokens, blackouts -------------------------------------------------------------


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


def feed_token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_user_for_secret(*, secret: str) -> User:
    """Returns the active user of a live feed token, or raises Http404 (revoked, unknown, inactive)."""
    token = (
        CalendarFeedToken.objects.filter(token_hash=feed_token_hash(secret), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        raise Http404("No such calendar feed.")
    return token.user


def feed_token_active(*, user: User) -> CalendarFeedToken | None:
    return CalendarFeedToken.objects.filter(user=user, revoked_at__isnull=True).first()


def feed_posts(*, user: User, now: dt.datetime | None = None) -> list[Post]:
    """The posts of a person's iCal feed: what they may see, from a month ago to a year ahead."""
    now = now or timezone.now()
    return _calendar_posts(
        user=user,
        start=now - dt.timedelta(days=FEED_PAST_DAYS),
        end=now + dt.timedelta(days=FEED_FUTURE_DAYS),
        with_cancelled=False,
        channels=_channels_by_id(),
    )


def feed_blackouts(*, now: dt.datetime | None = None) -> list[BlackoutPeriod]:
    now = now or timezone.now()
    return _blackouts_overlapping(
        start=now - dt.timedelta(days=FEED_PAST_DAYS), end=now + dt.timedelta(days=FEED_FUTURE_DAYS)
    )


def user_can_manage_blackouts(*, user: User | AnonymousUser, department_id: int | None) -> bool:
    """City-wide blackouts: communications-team approvers and admins. A department's: its admins (and the
    communications team)."""
    if user_approves_everywhere(user=user):
        return True
    if department_id is None:
        return False
    return user_is_department_admin(user=user, department_id=department_id)


def blackout_departments_for(*, user: User | AnonymousUser) -> list[Department]:
    """Departments whose blackouts the person may manage."""
    if user_approves_everywhere(user=user):
        return list(Department.objects.order_by("name"))
    return [
        m.department
        for m in memberships_for_user(user=user)
        if user_is_department_admin(user=user, department_id=m.department_id)
    ]


def blackouts_upcoming(*, now: dt.datetime | None = None) -> list[BlackoutPeriod]:
    """Current and future blackouts, for the management page (everyone may read them)."""
    now = now or timezone.now()
    return list(
        BlackoutPeriod.objects.filter(ends_at__gt=now).select_related("department", "created_by").order_by("starts_at")
    )


def blackout_get_for_manager(*, user: User | AnonymousUser, blackout_id: int) -> BlackoutPeriod:
    blackout = BlackoutPeriod.objects.select_related("department").filter(pk=blackout_id).first()
    if blackout is None or not user_can_manage_blackouts(user=user, department_id=blackout.department_id):
        raise Http404("No such blackout.")
    return blackout


# --- iCal feed ----------------------------------------------------------------------------------------

FEED_EVENT_MINUTES = 15
ICAL_STATUS: dict[str, str] = {
    PostStatus.DRAFT: "TENTATIVE",
    PostStatus.SUBMITTED: "TENTATIVE",
    PostStatus.CHANGES_REQUESTED: "TENTATIVE",
    PostStatus.APPROVED: "CONFIRMED",
    PostStatus.PUBLISHED: "CONFIRMED",
}


def ical_feed(*, user: User, now: dt.datetime | None = None) -> bytes:
    """Returns the person's calendar as iCalendar (RFC 5545) bytes: their visible posts, from a month ago
    to a year ahead, and the blackouts. Times are UTC instants; calendar apps show them in their zone."""
    from django.urls import reverse
    from icalendar import Calendar, Event

    now = now or timezone.now()
    calendar = Calendar()
    calendar.add("prodid", "-//CivicPost//Shared calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("CivicPost posts"))
    calendar.add("x-published-ttl", "PT15M")
    site = settings.SITE_URL.rstrip("/")
    host = site.split("://", 1)[-1].split("/", 1)[0] or "civicpost"
    for post in feed_posts(user=user, now=now):
        status = calendar_status(post)
        label = str(STATUS_LABELS.get(status, status))
        channels = ", ".join(f"{c.display_name} ({platform_label(c.platform)})" for c in post.calendar_channels)
        url = f"{site}{reverse('scheduler:post_detail', args=[post.pk])}"
        event = Event()
        event.add("uid", f"post-{post.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", post.due_at.astimezone(dt.UTC))
        event.add("dtend", post.due_at.astimezone(dt.UTC) + dt.timedelta(minutes=FEED_EVENT_MINUTES))
        event.add("summary", f"[{post.department.name}] {label}: {post.text[:80]}")
        event.add(
            "description",
            "\n".join(
                [
                    post.text,
                    "",
                    _("Status: %(status)s") % {"status": label},
                    _("Department: %(department)s") % {"department": post.department.name},
                    _("Channels: %(channels)s") % {"channels": channels or _("none chosen yet")},
                    *([_("Link: %(link)s") % {"link": post.link}] if post.link else []),
                    url,
                ]
            ),
        )
        event.add("url", url)
        event.add("categories", [post.department.name])
        event.add("status", ICAL_STATUS.get(post.status, "CONFIRMED"))
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    for blackout in feed_blackouts(now=now):
        event = Event()
        event.add("uid", f"blackout-{blackout.pk}@{host}")
        event.add("dtstamp", now)
        event.add("dtstart", blackout.starts_at.astimezone(dt.UTC))
        event.add("dtend", blackout.ends_at.astimezone(dt.UTC))
        event.add(
            "summary",
            _("Blackout: %(reason)s (%(scope)s)") % {"reason": blackout.reason, "scope": blackout_scope(blackout)},
        )
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
