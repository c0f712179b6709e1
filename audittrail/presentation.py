"""How an audit event reads on the page and in the CSV file: the action in words, the object, where it came
from, and what changed (before / after) as text, with the objects it refers to by id named ("Parks Mastodon
(@parks) #3"). Pure functions of the stored row and an AuditNames lookup (audittrail.selectors
.audit_names_for_events, one query per model for a page): no queries."""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.models import AuditAction, AuditEvent
from audit.references import CHANNEL, NO_NAMES, POST, AuditNames, map_references, model_label, target_ref
from civicpost.timelabels import date_label, utc_offset_label

# Actions the media library records under its own names (every other action is an AuditAction).
OTHER_ACTION_LABELS: dict[str, Any] = {
    "media.uploaded": gettext_lazy("Media uploaded"),
    "media.deleted": gettext_lazy("Media deleted"),
    "media.captions_burned_in": gettext_lazy("Video captions declared burned in"),
    "api.token_created": gettext_lazy("API token created"),
    "api.token_revoked": gettext_lazy("API token revoked"),
}

# The objects events are recorded on (AuditEvent.target_type is the model's label).
TARGET_TYPES = (
    "scheduler.post",
    "scheduler.channel",
    "scheduler.blackoutperiod",
    "medialibrary.mediaasset",
    "departments.department",
    "auth.user",
    "governance.crisishold",
    "governance.emergencyalert",
)

ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
EMPTY = "—"


def action_label(action: str) -> str:
    """ "Post edited" for "post.edited"; an action no list knows reads as its words ("thing.done" → "Thing done")."""
    if action in AuditAction.values:
        return str(AuditAction(action).label)
    if action in OTHER_ACTION_LABELS:
        return str(OTHER_ACTION_LABELS[action])
    return action.replace(".", " ").replace("_", " ").capitalize()


def action_choices() -> list[tuple[str, str]]:
    """Every action the trail knows, in words, sorted by their words."""
    labels = {value: str(label) for value, label in AuditAction.choices}
    labels.update({value: str(label) for value, label in OTHER_ACTION_LABELS.items()})
    return sorted(labels.items(), key=lambda item: item[1].lower())


def target_type_label(target_type: str) -> str:
    """ "Post" for "scheduler.post" (the model's name); the label itself for a model that is gone."""
    if not target_type:
        return ""
    try:
        model = apps.get_model(model_label(target_type))
    except (LookupError, ValueError):
        return target_type
    return str(model._meta.verbose_name).capitalize()


def target_type_choices() -> list[tuple[str, str]]:
    return [(label, target_type_label(label)) for label in TARGET_TYPES]


def user_agent_summary(user_agent: str) -> str:
    """ "Firefox on Windows" from a browser's User-Agent header; a short start of anything else."""
    if not user_agent:
        return ""
    browsers = (
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
    )
    systems = (
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    )
    browser = next((name for marker, name in browsers if marker in user_agent), "")
    system = next((name for marker, name in systems if marker in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if browser or system:
        return browser or system
    return user_agent[:40] + ("…" if len(user_agent) > 40 else "")


def moment_label(moment: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """ "Sat, Dec 5, 2026, 10:00:07 AM CST (UTC−06:00)": an audit needs the seconds."""
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d}:{local.second:02d} {'AM' if local.hour < 12 else 'PM'}"
    return f"{date_label(local)}, {clock} {local.tzname()} ({utc_offset_label(local)})"


def value_text(value: Any, zone: zoneinfo.ZoneInfo) -> str:
    """A stored value as a person reads it: instants in the zone, lists joined, nothing as a dash."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, str):
        if ISO_INSTANT.match(value):
            try:
                moment = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                return moment_label(moment, zone)
        return value
    if isinstance(value, list) and all(isinstance(item, str | int | float) for item in value):
        return ", ".join(str(item) for item in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


# Keys whose words alone would say "ids" where the page shows names.
FIELD_LABELS: dict[str, Any] = {"channel_ids": gettext_lazy("Channels")}


def field_label(key: str) -> str:
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    return key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Change:
    """One line of "what changed": a field with before and after, or (`is_detail`) a fact of the event."""

    field: str
    before: str
    after: str
    is_detail: bool = False


# What an event about a post the reader may not see still shows of its changes: where it stands in its
# workflow, never its content (text, link, channels, media, languages, time, hashes of it, comments).
SHOWN_OF_HIDDEN_POSTS = frozenset({"status", "step", "step_name", "needs_attention"})
HIDDEN = "[hidden]"  # stands for each hidden value in the CSV's JSON column


def content_hidden_text() -> str:
    return _("changed (hidden: you cannot open this post)")


def event_content_hidden(event: AuditEvent, names: AuditNames) -> bool:
    """Whether the event is about a post whose content this reader may not see (AuditNames decides)."""
    return names.post_content_hidden(
        target_type=event.target_type, target_id=event.target_id, department_id=event.department_id
    )


def hidden_changes(changes: Any) -> Any:
    """The changes with every value but SHOWN_OF_HIDDEN_POSTS replaced by HIDDEN: which fields changed stays."""
    if not isinstance(changes, dict):
        return HIDDEN if changes else changes
    hidden: dict[str, Any] = {}
    for key, value in changes.items():
        if key in SHOWN_OF_HIDDEN_POSTS:
            hidden[key] = value
        elif isinstance(value, dict) and set(value) == {"before", "after"}:
            hidden[key] = {"before": HIDDEN, "after": HIDDEN}
        else:
            hidden[key] = HIDDEN
    return hidden


def event_message(event: AuditEvent, names: AuditNames = NO_NAMES) -> str:
    """The event's note (a reviewer's comment, a reason), unless it is about a post the reader may not see."""
    if event.message and event_content_hidden(event, names):
        return content_hidden_text()
    return event.message


def change_lines(
    changes: Any, zone: zoneinfo.ZoneInfo, names: AuditNames = NO_NAMES, *, action: str = "", hidden: bool = False
) -> list[Change]:
    """Returns the event's changes in order: {"text": {"before": a, "after": b}} reads as before / after,
    any other entry ({"step": 2}) as a detail; the ids of objects (audit.references) read as their names.
    `hidden` (an event about a post the reader may not see): each field says that it changed, not how."""
    if hidden:
        if not isinstance(changes, dict):
            hidden_details = Change(field=_("Details"), before="", after=content_hidden_text(), is_detail=True)
            return [hidden_details] if changes else []
        lines = []
        for key, value in changes.items():
            if key in SHOWN_OF_HIDDEN_POSTS:
                lines.extend(change_lines({key: value}, zone, names, action=action))
            else:
                lines.append(Change(field=field_label(key), before="", after=content_hidden_text(), is_detail=True))
        return lines
    changes = map_references(changes, names.label, action=action)
    if not isinstance(changes, dict):
        return (
            [Change(field=_("Details"), before="", after=value_text(changes, zone), is_detail=True)] if changes else []
        )
    lines = []
    for key, value in changes.items():
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            before, after = value_text(value["before"], zone), value_text(value["after"], zone)
            if before != after:  # nothing and an empty text both read as a dash: no change to show
                lines.append(Change(field=field_label(key), before=before, after=after))
        else:
            lines.append(Change(field=field_label(key), before="", after=value_text(value, zone), is_detail=True))
    return lines


@dataclass(frozen=True)
class AuditRow:
    """An event as the audit page shows it."""

    event: AuditEvent
    when: str
    action: str
    department: str
    target_type: str
    origin: str
    changes: list[Change]
    target: str = ""
    target_url: str = ""  # the object's own page, when the reader may open it
    message: str = ""  # the event's note, or a word that it is hidden from this reader


# The pages of objects an audit reader may open (AuditNames.openable says which ones they may).
TARGET_PAGES = {POST: "scheduler:post_detail", CHANNEL: "connections:channel"}


def target_text(event: AuditEvent, names: AuditNames = NO_NAMES) -> str:
    """ "Post “Pool opens Tuesday” #12", "Channel #7 (deleted)"; "Post 12" for an object no lookup names."""
    ref = target_ref(event.target_type, event.target_id)
    name = names.label(ref) if ref is not None else event.target_id
    return f"{target_type_label(event.target_type)} {name}".strip()


def target_url(event: AuditEvent, names: AuditNames = NO_NAMES) -> str:
    ref = target_ref(event.target_type, event.target_id)
    if ref is None or ref not in names.openable or ref.model not in TARGET_PAGES:
        return ""
    return reverse(TARGET_PAGES[ref.model], args=[ref.pk])


def audit_row(event: AuditEvent, zone: zoneinfo.ZoneInfo, names: AuditNames = NO_NAMES) -> AuditRow:
    department = event.department.name if event.department_id and event.department else ""
    origin = " · ".join(filter(None, [event.ip_address or "", user_agent_summary(event.user_agent)]))
    hidden = event_content_hidden(event, names)
    return AuditRow(
        event=event,
        when=moment_label(event.occurred_at, zone),
        action=action_label(event.action),
        department=department,
        target_type=target_type_label(event.target_type),
        origin=origin,
        changes=change_lines(event.changes, zone, names, action=event.action, hidden=hidden),
        target=target_text(event, names),
        target_url=target_url(event, names),
        message=event_message(event, names),
    )


# --- CSV ------------------------------------------------------------------------------------------

CSV_HEADER = (
    "occurred_at_utc",
    "occurred_at_local",
    "actor",
    "action",
    "action_in_words",
    "department",
    "object_type",
    "object_id",
    "ip_address",
    "user_agent",
    "changes",
    "message",
    "object",
    "changes_in_words",
)
# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Prefixes a cell a spreadsheet would read as a formula with a quote, so it stays text."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def changes_in_words(changes: list[Change]) -> str:
    """One line a change: "Channels: Parks Mastodon (@parks) #3 → Library (@library) #5", "Step: 2"."""
    return "\n".join(
        f"{change.field}: {change.after}" if change.is_detail else f"{change.field}: {change.before} → {change.after}"
        for change in changes
    )


def csv_cells(event: AuditEvent, zone: zoneinfo.ZoneInfo, names: AuditNames = NO_NAMES) -> list[str]:
    """The event's row: the stored values (the changes as JSON, with their ids), then the object and the
    changes in words, with names. For a post the reader may not see, which fields changed, not how."""
    hidden = event_content_hidden(event, names)
    stored_changes = hidden_changes(event.changes) if hidden else event.changes
    cells = [
        event.occurred_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        moment_label(event.occurred_at, zone),
        event.actor_label,
        event.action,
        action_label(event.action),
        event.department.name if event.department_id and event.department else "",
        event.target_type,
        event.target_id,
        event.ip_address or "",
        event.user_agent,
        json.dumps(stored_changes, sort_keys=True, ensure_ascii=False) if stored_changes else "",
        event_message(event, names),
        target_text(event, names),
        changes_in_words(change_lines(event.changes, zone, names, action=event.action, hidden=hidden)),
    ]
    return [csv_safe(cell) for cell in cells]
