"""`{% load calendar_lines %}`: `{% calendar_lines entries sprite %}` writes the month's and week's lines
(scheduler/calendar/line_markup.py), one tag per cell instead of one included template per line."""

from __future__ import annotations

from django import template

from scheduler.calendar.line_markup import calendar_lines
from scheduler.calendar.month_markup import calendar_month_weeks

register = template.Library()

register.simple_tag(calendar_lines, name="calendar_lines")
register.simple_tag(calendar_month_weeks, name="calendar_month_weeks")
