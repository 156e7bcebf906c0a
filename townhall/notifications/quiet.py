"""Quiet hours: email goes out only inside a person's working hours (directory
profile: time zone, start, end). Pure functions of a clock, so tests fix the time.

No working hours set means no quiet hours. An end before the start is a night shift
(22:00-06:00). An unknown time zone counts as UTC.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from townhall.notifications.registry import WorkingHours


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_working(hours: WorkingHours | None, now: datetime) -> bool:
    if hours is None or hours.start is None or hours.end is None or hours.start == hours.end:
        return True
    local = now.astimezone(_zone(hours.timezone)).time()
    if hours.start < hours.end:
        return hours.start <= local < hours.end
    return local >= hours.start or local < hours.end


def next_start(hours: WorkingHours, now: datetime) -> datetime:
    """The next moment working hours begin, after `now` (an aware datetime, in UTC)."""
    zone = _zone(hours.timezone)
    local = now.astimezone(zone)
    start = hours.start or time(0, 0)
    for days in range(0, 3):
        day = (local + timedelta(days=days)).date()
        candidate = datetime.combine(day, start, tzinfo=zone)
        if candidate > local:
            return candidate.astimezone(ZoneInfo("UTC"))
    return now + timedelta(days=1)  # unreachable: a start time recurs daily


def local_time(hours: WorkingHours | None, now: datetime) -> datetime:
    return now.astimezone(_zone(hours.timezone if hours else "UTC"))
