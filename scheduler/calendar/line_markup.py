"""The markup of the month's and week's lines (one post per line, with its hover/focus preview), made in
Python: a month shows ~200 lines of ~30 values each, and Django's template engine spent ~100 ms on them
(a context lookup, `render_value_in_context` and `conditional_escape` per value; issue 18). Every value
from `CalendarEntry.line` is escaped here exactly as the template escaped it; the words are gettext'd
with the msgids the template had, so the Spanish catalogue still covers them. The markup keeps the page's
Content Security Policy: no style attribute, no script, no event handler (tests/scheduler/
test_calendar_line_markup.py renders it with hostile text)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape as _html_escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from scheduler.calendar.entries import CalendarEntry


def escape_value(value: Any) -> str:
    """What `{{ value }}` writes: already-safe markup as it is, anything else escaped (Django's
    conditional_escape, without a SafeString per value)."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _html_escape(str(value))


_escape = escape_value


def _words() -> dict[str, str]:
    """The line's fixed words in the active language, escaped (asked once per call, not per line)."""
    return {
        "has_warning": _escape(_("Has a warning")),
        "emergency": _escape(_("Emergency")),
        "approved_by": _("Approved by %(name)s."),
        "channels": _escape(_("Channels:")),
        "thread_of": _("Thread of %(count)s parts"),
        "versions": _escape(_("Versions for single channels:")),
        # A hint's label, by its kind (any other kind is a conflict).
        "blackout": _escape(_("Warning:")),
        "hold": _escape(_("Held:")),
        "conflict": _escape(_("Conflict:")),
        "move": _escape(_("Move")),
    }


def _line(line: dict[str, Any], sprite: str, words: dict[str, str]) -> str:
    e = _escape
    pk = e(line["pk"])
    colour = e(line["colour"])
    status = e(line["status"])
    status_label = e(line["status_label"])
    department_name = e(line["department_name"])
    hints = line["hints"]
    can_move = line["can_move"]
    platforms = line["platforms"]

    classes = f"civic-cal-line civic-cal-line--{colour}"
    if hints:
        classes += " civic-cal-line--warn"
    if can_move:
        classes += " civic-cal-chip--movable"
    move_attributes = (
        f' draggable="true" data-move-url="{e(line["move_url"])}" data-date="{e(line["input_date"])}"'
        f' data-time="{e(line["input_time"])}" data-summary="{e(line["summary"])}"'
        if can_move
        else ""
    )
    offset = f' <span class="civic-cal-offset">{e(line["offset_note"])}</span>' if line["offset_note"] else ""
    icons = "".join(
        f'<svg class="usa-icon civic-cal-platform" role="img" aria-label="{e(label)}" focusable="false">'
        f'<use href="{sprite}#{e(icon)}"></use></svg>'
        for label, icon in platforms
    )
    if hints:
        icons += (
            f'<svg class="usa-icon civic-cal-line__warn" role="img" aria-label="{words["has_warning"]}" '
            f'focusable="false"><use href="{sprite}#warning"></use></svg>'
        )
    emergency = f' <span class="usa-tag bg-secondary-dark">{words["emergency"]}</span>' if line["is_emergency"] else ""
    approved = " " + words["approved_by"] % {"name": e(line["approved_by"])} if line["approved_by"] else ""
    channels = (
        f'<p class="civic-cal-preview__channels">{words["channels"]} {e(line["channel_names"])}</p>'
        if platforms
        else ""
    )
    thread = (
        f'<p class="civic-cal-chip__thread">{words["thread_of"] % {"count": e(line["thread_count"])}}</p>'
        if line["thread_count"]
        else ""
    )
    versions = (
        f'<p class="civic-cal-preview__label">{words["versions"]}</p>\n    <ul class="civic-cal-preview__versions">'
        + "".join(f"<li><strong>{e(name)}:</strong> {e(text)}</li>" for name, text in line["versions"])
        + "</ul>"
        if line["versions"]
        else ""
    )
    department_time = (
        f'<p class="civic-cal-chip__deptime">{e(line["department_time"])}</p>' if line["department_time"] else ""
    )
    hint_list = (
        '<ul class="civic-cal-hints">'
        + "".join(
            f'<li class="civic-cal-hint civic-cal-hint--{e(hint.kind)}"><strong>'
            f"{words[hint.kind if hint.kind in ('blackout', 'hold') else 'conflict']}</strong> {e(hint.text)}</li>"
            for hint in hints
        )
        + "</ul>"
        if hints
        else ""
    )
    move = (
        '<button type="button" class="usa-button usa-button--outline civic-cal-move" data-move hidden>'
        f'{words["move"]}<span class="usa-sr-only">: {e(line["move_label"])}</span></button>'
        if can_move
        else ""
    )
    return (
        f'<li class="{classes}" data-post-id="{pk}"{move_attributes}>\n'
        f'  <span class="civic-cal-dot civic-cal-dot--{status}" aria-hidden="true"></span>\n'
        f'  <a class="civic-cal-chip__link civic-cal-line__link" href="{e(line["detail_url"])}"'
        f' aria-describedby="cal-preview-{pk}"><time datetime="{e(line["due_iso"])}">{e(line["time"])}{offset}</time>'
        f' <span class="usa-sr-only">{department_name}, {status_label}:</span>'
        f' <span class="civic-cal-line__text">{e(line["short_text"])}</span></a>\n'
        f'  <span class="civic-cal-line__icons">{icons}</span>\n'
        f'  <div class="civic-cal-preview" id="cal-preview-{pk}">\n'
        f'    <p class="civic-cal-preview__head"><span class="civic-cal-dept civic-cal-dept--{colour}">'
        f'<span class="civic-cal-swatch" aria-hidden="true"></span>{department_name}</span>'
        f" <span>{e(line['full_time'])}</span></p>\n"
        f'    <p class="civic-cal-preview__status">'
        f'<span class="civic-status civic-status--{status}">{status_label}</span>{emergency}{approved}</p>\n'
        f"    {channels}\n"
        f'    <p class="civic-cal-preview__text">{e(line["text"])}</p>\n'
        f"    {thread}\n"
        f"    {versions}\n"
        f"    {department_time}\n"
        f"    {hint_list}\n"
        f"    {move}\n"
        "  </div>\n"
        "</li>\n"
    )


def calendar_lines(entries: Iterable[CalendarEntry], sprite: str) -> SafeString:
    """The <li> of each entry, one after the other (the caller writes the <ul>)."""
    return LineWriter(sprite).lines(entries)


class LineWriter:
    """Writes lines with the words asked in the active language once (a month writes ~35 cells of lines)."""

    def __init__(self, sprite: str) -> None:
        self.words = _words()
        self.sprite = _escape(sprite)

    def lines(self, entries: Iterable[CalendarEntry]) -> SafeString:
        markup = "".join(_line(entry.line, self.sprite, self.words) for entry in entries)
        # Every value above went through _escape (Django's conditional_escape); the rest is our fixed markup.
        return mark_safe(markup)  # noqa: S308  # nosec B308 B703
