"""Bulk import of posts from a CSV file (format: docs/csv-import.md, example: EXAMPLE_CSV).

Two steps. The preview reads every row and lists every problem of every row (wrong dates, times that do
not exist or happen twice, unknown departments or channels, text too long for a channel by that
platform's own rule, bad links, unknown languages) and saves nothing. The import then makes the good
rows, as drafts or submitted posts, in one transaction; rows with a problem are never saved.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicpost.exceptions import ApplicationError
from civicpost.text import normalize_text
from composer.models import CsvImport, ImportStatus
from composer.notifications import notifications_for_import
from departments.models import Department
from departments.selectors import departments_user_can_post_for
from scheduler.adapters.base import PostContent
from scheduler.adapters.registry import UnknownPlatform, adapter_for_channel
from scheduler.blackouts import blackouts_between, blackouts_covering, blackouts_in_words
from scheduler.content import language_name
from scheduler.forms import LocalTime, classify_local_time
from scheduler.models import Channel, ChannelStatus, PostStatus
from scheduler.services import post_create, post_submit
from scheduler.templatetags.civic_time import clock_label, date_label

MAX_ROWS = 2000
MAX_BYTES = 5 * 1024 * 1024
REQUIRED_COLUMNS = ("department", "channels", "date", "time", "text")
OPTIONAL_COLUMNS = ("link", "language", "status", "utc_offset")
STATUSES = ("draft", "submit")
DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y")
TIME_FORMATS = ("%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M%p")
OFFSET = re.compile(r"^(?:UTC)?\s*([+\-\u2212])(\d{1,2}):?(\d{2})$")

EXAMPLE_CSV = (
    "department,channels,date,time,text,link,language,status\n"
    'Parks and Recreation,Parks on Sandbox,2026-12-05,10:00,"Splash pads open Saturday at 10 a.m. in every city '
    'park.",https://www.example.gov/parks,en,draft\n'
    "Parks and Recreation,Parks on Sandbox;Parks on Mastodon,2026-12-07,08:30,"
    '"Trash pickup moves to Tuesday this week because of the holiday.",,en,submit\n'
)


EXAMPLE_TEXTS = (
    "Splash pads open Saturday at 10 a.m. in every city park.",
    "Trash pickup moves to Tuesday this week because of the holiday.",
)


def _channel_key(channel: Channel, channels: list[Channel]) -> str:
    """The channel's name as a file would write it, or its number when the name cannot identify it."""
    name = channel.display_name.strip()
    same_name = [other for other in channels if other.display_name.casefold() == channel.display_name.casefold()]
    if not name or ";" in name or name.isdigit() or same_name[0] != channel:
        return str(channel.pk)
    return name


def csv_example_for_user(*, user: User) -> str:
    """Returns an example CSV file made from the person's own department and channels, with dates in the
    coming days (in the department's zone), so that importing it unchanged works. The second row asks
    for approval only when it would pass every check; otherwise it is a draft too. Returns the
    documented EXAMPLE_CSV for a person who has no channel to post to."""
    lookup = _Lookup(user)
    department = next((d for d in lookup.departments if lookup.channels.get(d.pk)), None)
    if department is None:
        return EXAMPLE_CSV
    channels = sorted(lookup.channels[department.pk], key=lambda c: (c.status != ChannelStatus.CONNECTED, c.pk))
    today = timezone.localtime(timezone.now(), department.zone).date()
    language = department.main_language

    def line(chosen: list[Channel], days: int, time: str, text: str, link: str, status: str) -> list[str]:
        keys = ";".join(_channel_key(channel, channels) for channel in chosen)
        date = (today + dt.timedelta(days=days)).isoformat()
        return [department.name, keys, date, time, text, link, language, status]

    rows = [
        line(channels[:1], 2, "10:00", EXAMPLE_TEXTS[0], "https://www.example.gov/", "draft"),
        line(channels[:2], 3, "08:30", EXAMPLE_TEXTS[1], "", "submit"),
    ]

    def as_csv() -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["department", "channels", "date", "time", "text", "link", "language", "status"])
        writer.writerows(rows)
        return out.getvalue()

    preview = csv_preview(user=user, text=as_csv())
    for row, cells in zip(preview.rows, rows, strict=True):
        if row.problems:
            cells[-1] = "draft"
    return as_csv()


@dataclass
class ImportRow:
    line: int
    values: dict[str, str]
    department: Department | None = None
    channels: list[Channel] = field(default_factory=list)
    due_at: dt.datetime | None = None
    text: str = ""
    link: str = ""
    language: str = ""
    status: str = "draft"
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth knowing, but the row is imported

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ImportPreview:
    rows: list[ImportRow]
    file_problems: list[str]

    @property
    def good_rows(self) -> list[ImportRow]:
        return [] if self.file_problems else [row for row in self.rows if row.ok]

    @property
    def bad_rows(self) -> list[ImportRow]:
        return [row for row in self.rows if not row.ok]


def csv_decode(data: bytes) -> str:
    """Returns the text of a CSV file in UTF-8 (with or without a byte-order mark). Raises ApplicationError
    naming the line of the first byte that is not UTF-8."""
    if len(data) > MAX_BYTES:
        raise ApplicationError(_("The file is larger than 5 MB. Split it into smaller files."))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ApplicationError(
            _(
                "The file is not UTF-8 text (line %(line)s has a character CivicPost cannot read). In Excel, save "
                "it as “CSV UTF-8 (Comma delimited)”; in Google Sheets, download it as CSV."
            )
            % {"line": line}
        ) from error


def _parse_date(value: str) -> dt.date | None:
    for pattern in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value.strip(), pattern).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def _parse_time(value: str) -> dt.time | None:
    for pattern in TIME_FORMATS:
        try:
            return dt.datetime.strptime(value.strip().upper(), pattern).time()  # noqa: DTZ007 - a wall time
        except ValueError:
            continue
    return None


def _parse_offset(value: str) -> dt.timedelta | None:
    match = OFFSET.match(value.strip())
    if not match:
        return None
    sign = -1 if match.group(1) in ("-", "\u2212") else 1
    return sign * dt.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))


class _Lookup:
    """Departments and channels the person may use, read once for the whole file."""

    def __init__(self, user: User) -> None:
        self.departments = departments_user_can_post_for(user=user)
        by_key: dict[str, Department] = {}
        for department in self.departments:
            by_key[department.name.casefold()] = department
            by_key[department.slug.casefold()] = department
        self.department_by_key = by_key
        self.channels: dict[int, list[Channel]] = {}
        for channel in Channel.objects.filter(department__in=self.departments).select_related("department"):
            self.channels.setdefault(channel.department_id, []).append(channel)
        self.adapters: dict[int, Any] = {}
        self.blackouts = blackouts_between(start=timezone.now())

    def channel(self, department: Department, key: str) -> Channel | None:
        key = key.strip()
        for channel in self.channels.get(department.pk, []):
            if key.isdigit() and channel.pk == int(key):
                return channel
            if channel.display_name.casefold() == key.casefold():
                return channel
        return None

    def adapter(self, channel: Channel) -> Any:
        if channel.pk not in self.adapters:
            try:
                self.adapters[channel.pk] = adapter_for_channel(channel)
            except UnknownPlatform:
                self.adapters[channel.pk] = None
        return self.adapters[channel.pk]


def _check_row(row: ImportRow, lookup: _Lookup, now: dt.datetime) -> None:
    values = row.values
    problems = row.problems
    department_key = values.get("department", "").strip()
    department = lookup.department_by_key.get(department_key.casefold()) if department_key else None
    if not department_key:
        problems.append(_("The department is empty."))
    elif department is None:
        problems.append(_("“%(department)s” is not a department you post for.") % {"department": department_key})
    row.department = department

    channel_keys = [key for key in values.get("channels", "").split(";") if key.strip()]
    if not channel_keys:
        problems.append(_("No channel is given (separate several with a semicolon)."))
    if department is not None:
        for key in channel_keys:
            channel = lookup.channel(department, key)
            if channel is None:
                problems.append(
                    _("%(department)s has no channel called “%(channel)s”.")
                    % {"department": department.name, "channel": key.strip()}
                )
            elif channel not in row.channels:
                row.channels.append(channel)

    date = _parse_date(values.get("date", ""))
    time = _parse_time(values.get("time", ""))
    if date is None:
        problems.append(
            _("“%(value)s” is not a date: write it as 2026-12-05 (or 12/05/2026).") % {"value": values.get("date", "")}
        )
    if time is None:
        problems.append(
            _("“%(value)s” is not a time: write it as 14:30 (or 2:30 PM).") % {"value": values.get("time", "")}
        )
    if department is not None and date is not None and time is not None:
        row.due_at = _due_at(row, department, dt.datetime.combine(date, time), now)

    row.text = values.get("text", "").strip()
    if not row.text:
        problems.append(_("The text is empty."))
    row.link = values.get("link", "").strip()
    if row.link:
        try:
            URLValidator(schemes=["http", "https"])(row.link)
        except ValidationError:
            problems.append(_("“%(value)s” is not a full web address (https://…).") % {"value": row.link})

    row.language = values.get("language", "").strip().lower()
    if department is not None:
        row.language = row.language or department.main_language
        if row.language not in (department.languages or ["en"]):
            problems.append(
                _("%(department)s does not post in “%(language)s” (it posts in %(languages)s).")
                % {
                    "department": department.name,
                    "language": row.language,
                    "languages": ", ".join(language_name(code) for code in department.languages or ["en"]),
                }
            )

    row.status = (values.get("status", "") or "draft").strip().lower()
    if row.status not in STATUSES:
        problems.append(_("The status “%(value)s” is unknown: write draft or submit.") % {"value": row.status})

    if row.text:
        content = PostContent(text=row.text, link=row.link, language=row.language or "en")
        for channel in row.channels:
            adapter = lookup.adapter(channel)
            if adapter is None:
                problems.append(_("%(channel)s uses a platform that is not installed.") % {"channel": channel})
                continue
            for problem in adapter.validate(content):
                problems.append(f"{channel.display_name}: {problem.message}")
            if row.status == "submit" and channel.status != ChannelStatus.CONNECTED:
                problems.append(
                    _("%(channel)s needs to be reconnected before posts can be submitted to it.")
                    % {"channel": channel.display_name}
                )

    if department is not None and row.due_at is not None:
        _check_blackouts(row, department, row.due_at, lookup)


def _check_blackouts(row: ImportRow, department: Department, due_at: dt.datetime, lookup: _Lookup) -> None:
    """A row to submit inside a blackout is refused (a file cannot carry an approver's reason); a draft may
    be there, as in the composer, and the preview says so (scheduler/blackouts.py has the rule)."""
    inside = blackouts_covering(lookup.blackouts, department_id=department.pk, when=due_at)
    if not inside:
        return
    words = {"blackouts": blackouts_in_words(inside, department.zone)}
    if row.status == "submit":
        row.problems.append(
            _(
                "Its time is inside a blackout: %(blackouts)s. A post inside a blackout cannot be submitted from a "
                "file: choose another time, or import it as a draft for an approver to decide."
            )
            % words
        )
    else:
        row.notes.append(
            _(
                "Its time is inside a blackout: %(blackouts)s. It is imported as a draft; it cannot be sent for "
                "approval unless an approver gives a reason."
            )
            % words
        )


def _due_at(row: ImportRow, department: Department, naive: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    zone = department.zone
    when = {"time": clock_label(naive), "date": date_label(naive), "zone": department.time_zone}
    kind = classify_local_time(naive, zone)
    if kind is LocalTime.MISSING:
        row.problems.append(
            _("%(time)s does not exist on %(date)s in %(zone)s: the clocks jump forward that night.") % when
        )
        return None
    if kind is LocalTime.AMBIGUOUS:
        offset = _parse_offset(row.values.get("utc_offset", ""))
        matches = [
            naive.replace(tzinfo=zone, fold=fold)
            for fold in (0, 1)
            if naive.replace(tzinfo=zone, fold=fold).utcoffset() == offset
        ]
        if not matches:
            row.problems.append(
                _(
                    "%(time)s happens twice on %(date)s in %(zone)s (the clocks go back): put its UTC offset in the "
                    "utc_offset column, such as -05:00 for the first or -06:00 for the second."
                )
                % when
            )
            return None
        due_at = matches[0].astimezone(dt.UTC)
    else:
        due_at = naive.replace(tzinfo=zone).astimezone(dt.UTC)
        offset_text = row.values.get("utc_offset", "").strip()
        if offset_text and _parse_offset(offset_text) != naive.replace(tzinfo=zone).utcoffset():
            row.problems.append(
                _("The UTC offset %(offset)s does not match %(time)s on %(date)s in %(zone)s.")
                % {**when, "offset": offset_text}
            )
    if due_at <= now:
        row.problems.append(_("%(time)s on %(date)s has already passed in %(zone)s.") % when)
        return None
    return due_at


def csv_preview(*, user: User, text: str) -> ImportPreview:
    """Reads a decoded CSV file and returns every row with its problems. Saves nothing."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return ImportPreview(rows=[], file_problems=[_("The file is empty.")])
    except csv.Error as error:
        return ImportPreview(rows=[], file_problems=[_("The file is not valid CSV: %(error)s") % {"error": error}])
    columns = [name.strip().lower() for name in header]
    file_problems = []
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        file_problems.append(_("The file has no column %(names)s.") % {"names": ", ".join(missing)})
    unknown = [name for name in columns if name and name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        file_problems.append(
            _("The file has columns CivicPost does not know: %(names)s. Use only %(known)s.")
            % {"names": ", ".join(unknown), "known": ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}
        )
    lookup = _Lookup(user)
    now = timezone.now()
    rows: list[ImportRow] = []
    try:
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                file_problems.append(
                    _("The file has more than %(max)s rows; CivicPost takes up to %(max)s at a time. Split it.")
                    % {"max": f"{MAX_ROWS:,}"}
                )
                break
            # Each cell, not the whole file: a Word line break (U+000B) in an unquoted cell must not split its row.
            cells = [normalize_text(cell) for cell in cells]
            row = ImportRow(line=reader.line_num, values=dict(zip(columns, (c.strip() for c in cells), strict=False)))
            if len(cells) > len(columns):
                row.problems.append(
                    _("This row has more cells than the file has columns: put text with commas in double quotes.")
                )
            if not missing:
                _check_row(row, lookup, now)
            rows.append(row)
    except csv.Error as error:
        file_problems.append(_("Line %(line)s is not valid CSV: %(error)s") % {"line": reader.line_num, "error": error})
    if not rows and not file_problems:
        file_problems.append(_("The file has a header but no rows."))
    return ImportPreview(rows=rows, file_problems=file_problems)


def csv_import_store(*, user: User, file_name: str, data: bytes) -> CsvImport:
    """Keeps an uploaded file (decoded) for its preview. Raises ApplicationError for a file that is not
    UTF-8 or too large."""
    return CsvImport.objects.create(uploaded_by=user, file_name=file_name[:255], content=csv_decode(data))


def csv_import_queue(*, user: User, upload: CsvImport) -> CsvImport:
    """Asks for the good rows of a checked file to be imported (by a task, after this transaction).
    Returns the upload; raises ApplicationError if it was imported (or asked for) already."""
    from composer.tasks import import_csv  # the task module imports this one

    with transaction.atomic():
        queued = CsvImport.objects.filter(pk=upload.pk, uploaded_by=user, status=ImportStatus.CHECKED).update(
            status=ImportStatus.QUEUED
        )
        if not queued:
            raise ApplicationError(_("This file was imported already."))
        transaction.on_commit(lambda: import_csv.delay(upload.pk))
    upload.refresh_from_db()
    return upload


def _left_out(rows: list[ImportRow]) -> list[dict[str, Any]]:
    return [
        {"line": row.line, "text": row.values.get("text", "")[:200], "problems": row.problems}
        for row in rows
        if row.problems
    ]


@transaction.atomic
def csv_import_run(*, upload_id: int) -> CsvImport | None:
    """Makes a post for every good row of a queued file, as a draft or submitted, in one transaction;
    rows with a problem are skipped. Checks the file again first (things may have changed since the
    preview). Returns the finished upload, or None when it is not queued (done already, or never asked).

    The upload row stays locked until the end: a second run of the same task waits, then finds it done;
    a run that dies rolls everything back and leaves it queued for the task to be delivered again."""
    upload = CsvImport.objects.select_for_update().select_related("uploaded_by").filter(pk=upload_id).first()
    if upload is None or upload.status != ImportStatus.QUEUED:
        return None
    user = upload.uploaded_by
    preview = csv_preview(user=user, text=upload.content)
    posts = []
    # Each approver is told once about the file, not once per submitted row.
    with notifications_for_import(upload=upload):
        for row in preview.good_rows:
            assert row.department is not None and row.due_at is not None  # nosec B101  # a good row has both
            try:
                with transaction.atomic():
                    post = post_create(
                        author=user,
                        department=row.department,
                        text=row.text,
                        link=row.link,
                        channels=row.channels,
                        due_at=row.due_at,
                        language=row.language,
                    )
                    if row.status == "submit":
                        post = post_submit(post=post, user=user)
            except ApplicationError as error:
                # A check that only submitting makes: this row is left out like any other broken row.
                row.problems.extend(error.problems)
                continue
            posts.append(post)
        upload.status = ImportStatus.DONE
        upload.imported_at = timezone.now()
        upload.imported_count = len(posts)
        left_out = _left_out(preview.rows)
        if preview.file_problems:
            left_out.insert(0, {"line": 0, "text": "", "problems": preview.file_problems})
        upload.result = {
            "post_ids": [post.pk for post in posts],
            "submitted": sum(1 for post in posts if post.status == PostStatus.SUBMITTED),
            "left_out": left_out,
        }
        upload.save(update_fields=["status", "imported_at", "imported_count", "result"])
    return upload
