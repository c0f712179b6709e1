"""The city's default zone and local days as UTC instants. Imports no feature app.

Which zone a person sees pages in depends on their memberships: `departments.selectors.viewer_zone`.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

# A new department's zone (departments.models.Department.time_zone's default), and the zone of pages
# seen by someone who belongs to no department.
CITY_TIME_ZONE = "America/Chicago"


def default_zone() -> zoneinfo.ZoneInfo:
    """Returns the city's default zone."""
    return zoneinfo.ZoneInfo(CITY_TIME_ZONE)


def local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """Returns the first instant of a local day, in UTC."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
