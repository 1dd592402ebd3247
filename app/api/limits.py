"""How the API takes a pull token's networks and limits, and a license's limits and token defaults."""

from __future__ import annotations

import msgspec

from app.limits import Limits, Restrictions


class LimitsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Each limit a whole number, or null (or left out) for none. Pulls are counted as usage reports
    count them; days and months are UTC calendar periods."""

    pulls_per_day: int | None = None
    pulls_per_month: int | None = None
    bytes_per_month: int | None = None

    def limits(self) -> Limits:
        return Limits(self.pulls_per_day, self.pulls_per_month, self.bytes_per_month)


class RestrictionsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Networks (CIDR, IPv4 or IPv6; empty: anywhere) and limits."""

    allowed_cidrs: list[str] = msgspec.field(default_factory=list)
    limits: LimitsIn | None = None

    def restrictions(self) -> Restrictions:
        return Restrictions(tuple(self.allowed_cidrs), self.limits.limits() if self.limits else Limits())
