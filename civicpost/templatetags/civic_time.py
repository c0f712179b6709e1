"""`{% load civic_time %}`: the time labels of civicpost.timelabels as template filters."""

from __future__ import annotations

from django import template

from civicpost import timelabels

register = template.Library()

register.filter("in_zone", timelabels.in_zone)
register.filter("clock", timelabels.clock)
register.filter("iso_utc", timelabels.iso_utc)
register.filter("day_label", timelabels.day_label)
