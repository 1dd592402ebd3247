"""Times and dates: everything is UTC, stored timezone-aware, and read the same way everywhere.

The rule for a date given without a time: when it ends something (a license's `valid_until`, a token's
expiry, a report's `until`) it means the end of that UTC day; when it starts something, its beginning.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Literal, overload

Edge = Literal["start", "end"]
# Dates Wharf accepts for anything it stores: far enough for any real contract, and nowhere near the
# limits of datetime arithmetic (a year-9999 date plus a few grace days would overflow).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 12, 31, 23, 59, 59, tzinfo=UTC)


class BadMoment(ValueError):
    """A text that is not a date or a date and time; the message says what is expected."""


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A datetime with its timezone: naive values (as SQLite returns them) are UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    return aware(value).isoformat() if value is not None else None


def day_edge(day: date, edge: Edge) -> datetime:
    """The first (start) or last (end) moment of a UTC day."""
    return datetime.combine(day, time.min if edge == "start" else time.max, tzinfo=UTC)


def parse_moment(text: str | None, edge: Edge) -> datetime | None:
    """`2027-01-31` (a whole UTC day, taken at `edge`) or an ISO 8601 date and time; empty: None."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) <= 10:
            return day_edge(date.fromisoformat(text), edge)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return aware(moment).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
        raise BadMoment(f"{text[:40]!r} is not a date (YYYY-MM-DD) or a date and time (ISO 8601)") from None


def within_bounds(moment: datetime | None) -> bool:
    return moment is None or EARLIEST <= aware(moment) <= LATEST


def day_text(value: datetime | None) -> str:
    """The UTC day of a moment, as a form field shows it ("" for none)."""
    return aware(value).astimezone(UTC).date().isoformat() if value is not None else ""


def shown(value: datetime | date | None, with_time: bool = True) -> str:
    """How pages print a moment: `2026-11-30 14:05 UTC`, or just the day."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = aware(value).astimezone(UTC)
        return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")
    return value.isoformat()
