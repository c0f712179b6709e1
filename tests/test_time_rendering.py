"""One rule for the times people read: the viewer's department zone, with its offset, everywhere
(`{{ moment|in_zone:viewer_zone }}`, viewer_zone from scheduler.context_processors). Emails and the public
feeds have no viewer: they show the department's zone, with its offset. Nothing is shown in bare UTC or
through Django's own date filters (which would use the server's TIME_ZONE)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from pathlib import Path

from django.conf import settings

from civicpost.timelabels import in_zone

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Where there is no viewer: a department (its zone) is the argument instead.
NO_VIEWER = ("governance/email/", "analytics/email/", "inbox/email/", "feeds/")
# Dates without a time of day (no instant, so no zone to get wrong).
PLAIN_DATES = {
    'day.date|date:"D, M j"',
    'content.week_start|date:"Y-m-d"',
    'content.week_end|date:"Y-m-d"',
    'period.first|date:"DATE_FORMAT"',
    'period.last|date:"DATE_FORMAT"',
}

FILTER = re.compile(
    r"([\w.]+)\|(in_zone|in_utc|date|time|timesince|timeuntil|naturaltime|naturalday)"
    r"""(?::("[^"]*"|'[^']*'|[^\s%}|]+))?"""
)
# A model's time field printed as it is (Django would use the server's TIME_ZONE and no offset).
BARE_INSTANT = re.compile(r"{{\s*\w+(?:\.\w+)*\.\w+_(at|until|since)\s*}}")


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def problems_in(relative: str, source: str) -> list[str]:
    found = []
    no_viewer = relative.startswith(NO_VIEWER)
    for match in FILTER.finditer(source):
        value, name, argument = match.group(1), match.group(2), match.group(3) or ""
        expression = match.group(0)
        if name == "in_zone":
            if argument != "viewer_zone" and not no_viewer:
                found.append(f"{relative}: {expression} (pages show times in the viewer's zone: in_zone:viewer_zone)")
            if argument == "viewer_zone" and no_viewer:
                found.append(f"{relative}: {expression} (no viewer here: pass the department)")
        elif expression not in PLAIN_DATES:
            found.append(f"{relative}: {expression} (use in_zone, which shows the zone and its offset)")
        del value
    found += [f"{relative}: {m.group(0)} (a time rendered without in_zone)" for m in BARE_INSTANT.finditer(source)]
    return found


def test_every_template_shows_times_through_the_time_label_helper():
    files = template_files()
    assert len(files) > 80
    problems = [p for path in files for p in problems_in(str(path.relative_to(TEMPLATES)), path.read_text())]
    assert problems == [], "\n".join(problems)


def test_the_scan_catches_utc_and_department_times_on_pages():
    source = (
        "{{ hold.started_at|in_utc }} {{ post.due_at|in_zone:post.department }} "
        '{{ report.checked_at|date:"Y-m-d H:i" }} {{ alert.created_at }} {{ post.due_at|in_zone:viewer_zone }}'
    )
    assert len(problems_in("governance/crisis.html", source)) == 4
    assert problems_in("governance/email/approved.txt", "{{ post.due_at|in_zone:department }}") == []


def test_a_time_kept_as_iso_text_in_a_record_is_shown_in_the_zone_with_its_offset():
    chicago = zoneinfo.ZoneInfo("America/Chicago")
    assert in_zone("2026-07-04T15:30:00+00:00", chicago) == in_zone(
        dt.datetime(2026, 7, 4, 15, 30, tzinfo=dt.UTC), chicago
    )
    assert "10:30" in in_zone("2026-07-04T15:30:00+00:00", chicago)
    assert in_zone("not a time", chicago) == "not a time"
    assert in_zone("2026-07-04T15:30:00", chicago) == "2026-07-04T15:30:00"  # no offset: never guessed
    assert in_zone("", chicago) == ""
