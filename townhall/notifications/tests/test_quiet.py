"""Quiet hours as pure functions of a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime, time

from townhall.notifications.quiet import is_working, next_start
from townhall.notifications.registry import WorkingHours

OFFICE = WorkingHours(timezone="Europe/Berlin", start=time(9, 0), end=time(17, 0))
NIGHTS = WorkingHours(timezone="UTC", start=time(22, 0), end=time(6, 0))


def test_quiet_hours_follow_the_persons_time_zone() -> None:
    assert is_working(OFFICE, datetime(2026, 7, 1, 7, 30, tzinfo=UTC))  # 09:30 in Berlin (summer)
    assert not is_working(OFFICE, datetime(2026, 7, 1, 15, 30, tzinfo=UTC))  # 17:30 in Berlin
    assert next_start(OFFICE, datetime(2026, 7, 1, 15, 30, tzinfo=UTC)) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    # Before the day starts, the next start is the same day.
    assert next_start(OFFICE, datetime(2026, 1, 5, 5, 0, tzinfo=UTC)) == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def test_night_shift_and_missing_hours() -> None:
    assert is_working(NIGHTS, datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    assert is_working(NIGHTS, datetime(2026, 1, 5, 5, 59, tzinfo=UTC))
    assert not is_working(NIGHTS, datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    assert is_working(None, datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    assert is_working(WorkingHours(timezone="UTC"), datetime(2026, 1, 5, 3, 0, tzinfo=UTC))
    unknown = WorkingHours(timezone="Mars/Olympus", start=time(9, 0), end=time(17, 0))
    assert is_working(unknown, datetime(2026, 1, 5, 10, 0, tzinfo=UTC))  # counted as UTC
