"""Report periods: UTC calendar weeks (Monday to Sunday) and months, as half-open ranges [start, end)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Cadence = Literal["weekly", "monthly"]
CADENCES: tuple[Cadence, ...] = ("weekly", "monthly")


def period_start(cadence: Cadence, moment: datetime) -> datetime:
    """The start of the period `moment` falls in (Monday 00:00 UTC, or the 1st of the month 00:00 UTC)."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "weekly":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_boundary(cadence: Cadence, moment: datetime) -> datetime:
    """The first period boundary strictly after `moment`: when the period `moment` falls in ends."""
    start = period_start(cadence, moment)
    if cadence == "weekly":
        return start + timedelta(days=7)
    return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)


def previous_boundary(cadence: Cadence, end: datetime) -> datetime:
    """The start of the period that ends at the boundary `end`."""
    return period_start(cadence, end - timedelta(microseconds=1))


def due_periods(cadence: Cadence, next_run_at: datetime, now: datetime, most: int) -> list[tuple[datetime, datetime]]:
    """The periods ended by `now`, from the one ending at `next_run_at` on, oldest first: at most `most`
    (the latest ones) when a server was down for longer than that."""
    ends: list[datetime] = []
    end = next_boundary(cadence, next_run_at - timedelta(microseconds=1))  # next_run_at itself, as a boundary
    while end <= now:
        ends.append(end)
        end = next_boundary(cadence, end)
    return [(previous_boundary(cadence, e), e) for e in ends[-most:]] if most > 0 else []


def label(cadence: Cadence, start: datetime) -> str:
    """How a mail names a period: `2026-11` for a month, `2026-W48 (2026-11-23 to 2026-11-29)` for a week."""
    if cadence == "monthly":
        return f"{start:%Y-%m}"
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d} ({start:%Y-%m-%d} to {start + timedelta(days=6):%Y-%m-%d})"
