"""The ages at which a published delivery's metrics are read (setting CIVICPOST_METRICS_AGES)."""

from __future__ import annotations

import datetime as dt
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_AGE = re.compile(r"^(\d+)([mhd])$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_age(label: str) -> int:
    """Returns the seconds of an age label such as "90m", "24h" or "7d". Raises ImproperlyConfigured."""
    match = _AGE.match(label.strip())
    if not match or int(match.group(1)) == 0:
        raise ImproperlyConfigured(f'CIVICPOST_METRICS_AGES: "{label}" is not an age such as 1h, 24h or 7d.')
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def metric_ages() -> list[tuple[str, int]]:
    """Returns (label, seconds) for each configured age, youngest first."""
    ages = {label.strip(): parse_age(label) for label in settings.CIVICPOST_METRICS_AGES if label.strip()}
    return sorted(ages.items(), key=lambda item: item[1])


def due_age(*, published_at: dt.datetime, now: dt.datetime, taken: set[str]) -> tuple[str, int] | None:
    """The age to read now: the oldest age already reached, unless it was taken. A younger age that was missed
    (the collector was stopped) is not read late: a "1h" figure taken at day 3 would mislead."""
    reached = [age for age in metric_ages() if published_at + dt.timedelta(seconds=age[1]) <= now]
    if not reached or reached[-1][0] in taken:
        return None
    return reached[-1]
