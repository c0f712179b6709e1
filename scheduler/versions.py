"""Comparing two saved versions of a post, field by field, as an inline word diff that reads well with a
screen reader (each change is marked "removed:" / "added:" in words, not only by colour or strike-through),
plus the classic unified diff for those who prefer it."""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from scheduler.content import language_name
from scheduler.models import Channel, PostVersion
from scheduler.templatetags.civic_time import format_in_zone

TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class ComparisonRow:
    label: str
    changed: bool
    inline: SafeString
    unified: str


def inline_diff(old: str, new: str) -> SafeString:
    """Returns HTML of `new` with the words removed from `old` in <del> and the words added in <ins>,
    each change announced in words for screen readers."""
    before, after = TOKEN.findall(old), TOKEN.findall(new)
    parts: list[SafeString] = []
    removed, added = _("removed:"), _("added:")
    end_removed, end_added = _("end of removed text"), _("end of added text")
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, before, after, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(escape("".join(after[b1:b2])))
            continue
        if op in ("delete", "replace"):
            parts.append(
                format_html(
                    '<del><span class="usa-sr-only">[{} </span>{}<span class="usa-sr-only"> {}]</span></del>',
                    removed,
                    "".join(before[a1:a2]),
                    end_removed,
                )
            )
        if op in ("insert", "replace"):
            parts.append(
                format_html(
                    '<ins><span class="usa-sr-only">[{} </span>{}<span class="usa-sr-only"> {}]</span></ins>',
                    added,
                    "".join(after[b1:b2]),
                    end_added,
                )
            )
    # format_html escapes every piece that is not already safe: no mark_safe needed.
    return format_html_join("", "{}", ((part,) for part in parts))


def unified(old: str, new: str, *, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="", n=2
    )
    return "\n".join(lines)


def _channel_names(ids: list[Any]) -> dict[str, str]:
    return {str(c.pk): c.display_name for c in Channel.objects.filter(pk__in=[int(i) for i in ids])}


def _media_lines(media: list[dict[str, Any]], alts: list[str] | None = None) -> str:
    lines = []
    for index, item in enumerate(media, start=1):
        name = str(item.get("path", "")).rsplit("/", 1)[-1]
        alt = (alts[index - 1] if alts and index - 1 < len(alts) else None) or item.get("alt_text", "")
        lines.append(_("%(number)s. %(file)s — alt text: %(alt)s") % {"number": index, "file": name, "alt": alt or "—"})
    return "\n".join(lines)


def _fields(version: PostVersion, zone: zoneinfo.ZoneInfo, names: dict[str, str]) -> dict[str, str]:
    fields = {
        _("Text"): version.text,
        _("Link"): version.link,
        _("Publish time"): format_in_zone(version.due_at, zone),
        _("Channels"): ", ".join(names.get(str(pk), f"#{pk}") for pk in version.channel_ids),
        _("Images and video"): _media_lines(version.media),
    }
    for key, text in sorted(version.channel_text.items()):
        fields[_("Text for %(channel)s") % {"channel": names.get(key, f"#{key}")}] = text
    for code, entry in sorted(version.languages.items()):
        name = language_name(code)
        fields[_("Text in %(language)s") % {"language": name}] = entry.get("text", "")
        for key, text in sorted((entry.get("channel_text") or {}).items()):
            fields[_("%(language)s text for %(channel)s") % {"language": name, "channel": names.get(key, key)}] = text
        if version.media:
            fields[_("Alt text in %(language)s") % {"language": name}] = _media_lines(
                version.media, entry.get("media_alt") or []
            )
    return fields


def version_comparison(old: PostVersion, new: PostVersion, *, zone: zoneinfo.ZoneInfo) -> list[ComparisonRow]:
    """Returns one row per field of either version, in a stable order, marking what changed; times in `zone`
    (the viewer's)."""
    channel_ids = {str(pk) for pk in old.channel_ids + new.channel_ids}
    channel_ids |= set(old.channel_text) | set(new.channel_text)
    names = _channel_names(sorted(channel_ids))
    before, after = _fields(old, zone, names), _fields(new, zone, names)
    labels = list(dict.fromkeys([*before, *after]))
    rows = []
    for label in labels:
        a, b = before.get(label, ""), after.get(label, "")
        rows.append(
            ComparisonRow(
                label=label,
                changed=a != b,
                inline=inline_diff(a, b),
                unified=unified(
                    a,
                    b,
                    old_name=_("version %(number)s") % {"number": old.number},
                    new_name=_("version %(number)s") % {"number": new.number},
                ),
            )
        )
    return rows
