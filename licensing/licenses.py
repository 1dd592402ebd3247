"""Licenses: a customer's grants, the window in which they hold, and whether the vendor suspended them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from licensing.errors import InvalidLicense
from licensing.grants import Grant

LicenseStatus = Literal["active", "suspended"]
LicenseState = Literal["in_force", "suspended", "not_yet_valid", "expired"]
END_OF_CALENDAR = datetime.max.replace(tzinfo=UTC)


def is_aware(moment: datetime) -> bool:
    return moment.tzinfo is not None and moment.utcoffset() is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class License:
    """One customer's license: in force while active, from `valid_from` (inclusive) until `valid_until`
    plus `grace_days` (exclusive); either end may be open. Datetimes must be timezone-aware."""

    id: str
    customer_id: str
    name: str
    grants: tuple[Grant, ...]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    grace_days: int = 0
    status: LicenseStatus = "active"
    access_ends: datetime | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.status not in ("active", "suspended"):
            raise InvalidLicense(f"status must be 'active' or 'suspended', not {self.status!r}")
        if self.grace_days < 0:
            raise InvalidLicense("grace days cannot be negative")
        if any(moment is not None and not is_aware(moment) for moment in (self.valid_from, self.valid_until)):
            raise InvalidLicense("validity dates must carry a timezone")
        if self.valid_from is not None and self.valid_until is not None and self.valid_until <= self.valid_from:
            raise InvalidLicense("the license must end after it starts")
        ends = None if self.valid_until is None else plus_days(self.valid_until, self.grace_days)
        object.__setattr__(self, "access_ends", ends)

    def state(self, now: datetime) -> LicenseState:
        """Where the license stands at `now`; a suspension outranks the dates."""
        if self.status == "suspended":
            return "suspended"
        if self.valid_from is not None and now < self.valid_from:
            return "not_yet_valid"
        if self.access_ends is not None and now >= self.access_ends:
            return "expired"
        return "in_force"

    def in_force(self, now: datetime) -> bool:
        return self.state(now) == "in_force"

    def in_grace(self, now: datetime) -> bool:
        """Past `valid_until` but still in force thanks to grace days."""
        return self.valid_until is not None and now >= self.valid_until and self.in_force(now)

    def covers_repository(self, repository: str) -> bool:
        """Whether some grant's pattern matches the repository, whatever the license's state."""
        return any(grant.covers_repository(repository) for grant in self.grants)


def plus_days(moment: datetime, days: int) -> datetime:
    """`moment` plus `days`, or the last moment of the calendar when that lies past the year 9999."""
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return END_OF_CALENDAR
