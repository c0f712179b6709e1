"""The month grid's weeks and day cells, written in Python like their lines (line_markup.py): a month has
35–42 cells with a date, a "+" link, blackouts and "+N more" each, and Django's template engine spent
~15 % of the page on them (a context lookup, `render_value_in_context` and a `{% blocktranslate %}` per
value; issue 18). The output is what templates/scheduler/_calendar_month_region.html wrote with its loops:
values escaped as `{{ }}` and `{% translate %}` escaped them, `{% blocktranslate %}` words with the same
msgids (its variables escaped, its words not), so the Spanish catalogue still covers them."""

from __future__ import annotations

import datetime as dt

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from scheduler.calendar.line_markup import LineWriter, escape_value
from scheduler.calendar.periods import CalendarDay


def _cell(
    day: CalendarDay,
    *,
    sprite: str,
    writer: LineWriter,
    can_add: bool,
    new_post_url: str,
    day_agenda_url: str,
    filter_query: str,
    today_word: str,
    blackout_word: str,
) -> str:
    e = escape_value
    iso = day.iso
    label = e(day.label)
    classes = "civic-cal-day"
    if not day.in_period:
        classes += " civic-cal-day--outside"
    if day.is_today:
        classes += " civic-cal-day--today"
    if day.blackouts:
        classes += " civic-cal-day--blackout"
    new_post = f"{new_post_url}?date={iso}"
    new_post_attribute = f' data-new-post="{new_post}"' if can_add else ""
    today = f' <span class="civic-cal-today">{today_word}</span>' if day.is_today else ""
    add = ""
    if can_add:
        new_post_words = _("New post on %(day)s") % {"day": label}
        add = (
            f'<a class="civic-cal-add" href="{new_post}"><svg class="usa-icon" aria-hidden="true" focusable="false">'
            f'<use href="{sprite}#add"></use></svg><span class="usa-sr-only">{new_post_words}</span></a>'
        )
    blackouts = "".join(
        f'<p class="civic-cal-blackout"><strong>{blackout_word}</strong> {e(item.blackout.reason)}</p>'
        for item in day.blackouts
    )
    shown = day.shown
    lines = f'<ul class="civic-cal-lines">{writer.lines(shown)}</ul>' if shown else ""
    more = ""
    hidden = len(day.entries) - len(shown)
    if hidden:
        more = (
            f'<a class="usa-link civic-cal-more" href="{day_agenda_url}?start={iso}&amp;days=1&amp;{filter_query}">'
            + ngettext("+%(counter)s more", "+%(counter)s more", hidden) % {"counter": hidden}
        )
        with_hints = day.hidden_with_hints
        if with_hints:
            more += " " + ngettext("(%(counter)s with a warning)", "(%(counter)s with warnings)", with_hints) % {
                "counter": with_hints
            }
        posts_on = _("posts on %(day)s") % {"day": label}
        more += f'<span class="usa-sr-only"> {posts_on}</span></a>'
    return (
        f'\n        <td class="{classes}" data-drop-date="{iso}"'
        f"{new_post_attribute}>\n"
        f'          <div class="civic-cal-daynum"><span aria-hidden="true">{day.date.day}</span>'
        f'<span class="usa-sr-only">{label}</span>{today}{add}</div>\n'
        f"          {blackouts}\n"
        f"          {lines}\n"
        f"          {more}\n"
        "        </td>\n        "
    )


def calendar_month_weeks(
    weeks: list[list[CalendarDay]],
    *,
    sprite: str,
    can_post: bool,
    today: dt.date,
    new_post_url: str,
    day_agenda_url: str,
    filter_query: str,
) -> SafeString:
    """The month's <tr> of each week with its day cells, as the region's template loops wrote them."""
    e = escape_value
    writer = LineWriter(sprite)
    sprite, new_post_url, day_agenda_url = e(sprite), e(new_post_url), e(day_agenda_url)
    filter_query = e(filter_query)
    today_word, blackout_word = e(_("Today")), e(_("Blackout:"))
    markup = "".join(
        "\n      <tr>\n        "
        + "".join(
            _cell(
                day,
                sprite=sprite,
                writer=writer,
                can_add=can_post and day.date >= today,
                new_post_url=new_post_url,
                day_agenda_url=day_agenda_url,
                filter_query=filter_query,
                today_word=today_word,
                blackout_word=blackout_word,
            )
            for day in week
        )
        + "\n      </tr>\n      "
        for week in weeks
    )
    # Every value above went through escape_value (Django's conditional_escape); the lines are already
    # safe (calendar_lines); the rest is our fixed markup.
    return mark_safe(markup)  # noqa: S308  # nosec B308 B703
