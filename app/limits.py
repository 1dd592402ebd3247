"""What a pull token may do beyond its license: the networks it may be used from and how much it may
download (pulls a day and a month, bytes a month). Licenses carry the same limits, shared by all of
their pulls, and the restrictions that new tokens of their customer start with.

Stored as JSON text on `tokens` and `licenses`; checked by app.policy and counted by app.quotas.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from app.sizes import human_size

Network = IPv4Network | IPv6Network
LIMIT_FIELDS = ("pulls_per_day", "pulls_per_month", "bytes_per_month")


class NoOverlap(ValueError):
    """Two lists of networks have no address in common: what both allow is nowhere."""


@dataclass(frozen=True)
class Limits:
    """Each limit is a whole number, or None for no limit."""

    pulls_per_day: int | None = None
    pulls_per_month: int | None = None
    bytes_per_month: int | None = None

    def __bool__(self) -> bool:
        return any(getattr(self, f) is not None for f in LIMIT_FIELDS)

    def json(self) -> dict[str, int | None]:
        return {f: getattr(self, f) for f in LIMIT_FIELDS}

    @classmethod
    def of(cls, value: Any) -> Limits:
        """From stored JSON (text or a dict); unknown keys are ignored, nothing stored means no limits."""
        data = json.loads(value) if isinstance(value, str) else value
        if not isinstance(data, dict):
            return cls()
        return cls(**{f: data[f] for f in LIMIT_FIELDS if isinstance(data.get(f), int)})

    def tightest(self, other: Limits) -> Limits:
        """Each limit the lower of the two (a missing one takes the other's)."""
        pairs = {f.name: (getattr(self, f.name), getattr(other, f.name)) for f in fields(self)}
        return replace(self, **{k: min((v for v in pair if v is not None), default=None) for k, pair in pairs.items()})


@dataclass(frozen=True)
class Restrictions:
    """A pull token's networks (none: anywhere) and limits; a license's defaults for new tokens."""

    allowed_cidrs: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)

    def __bool__(self) -> bool:
        return bool(self.allowed_cidrs) or bool(self.limits)

    def json(self) -> dict[str, Any]:
        return {"allowed_cidrs": list(self.allowed_cidrs), "limits": self.limits.json()}

    @classmethod
    def of(cls, value: Any) -> Restrictions:
        data = json.loads(value) if isinstance(value, str) else value
        if not isinstance(data, dict):
            return cls()
        cidrs = data.get("allowed_cidrs") or []
        return cls(tuple(str(c) for c in cidrs), Limits.of(data.get("limits")))

    def tightest(self, other: Restrictions) -> Restrictions:
        """What both allow: the overlap of the networks (either may be 'anywhere') and the lower limits."""
        if not self.allowed_cidrs or not other.allowed_cidrs:
            cidrs = self.allowed_cidrs or other.allowed_cidrs
        else:
            cidrs = overlap(self.allowed_cidrs, other.allowed_cidrs)
            if not cidrs:
                raise NoOverlap(f"{listed(self.allowed_cidrs)} and {listed(other.allowed_cidrs)}")
        return Restrictions(cidrs, self.limits.tightest(other.limits))


def networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    """Stored networks as objects (they were validated and normalised on write)."""
    return tuple(ip_network(c, strict=False) for c in cidrs)


def overlap(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    """The networks in both lists. Two CIDR blocks either nest or do not meet, so their overlap is the
    smaller one. Empty when nothing is in both."""
    found: list[str] = []
    for x in networks(a):
        for y in networks(b):
            if x.version == y.version and (x.subnet_of(y) or y.subnet_of(x)):  # type: ignore[arg-type]
                smaller = str(x if x.prefixlen >= y.prefixlen else y)
                if smaller not in found:
                    found.append(smaller)
    return tuple(found)


def permits(allowed: tuple[Network, ...], address: str | None) -> bool:
    """True when there is no restriction, or the address is inside one of the networks."""
    if not allowed:
        return True
    try:
        ip = ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:  # ::ffff:10.1.2.3 is 10.1.2.3
        ip = ip.ipv4_mapped
    return any(ip in network for network in allowed)


def listed(items: tuple[str, ...] | list[str]) -> str:
    """`a`, `a or b`, `a, b or c`: how messages name several networks."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def amount(what: str, span: str, limit: int) -> str:
    """`3 pulls a day`, `10.0 GB a month`: how messages and pages name a limit."""
    if what == "bytes":
        return f"{human_size(limit)} a {span}"
    return f"{limit:,} pull{'s' if limit != 1 else ''} a {span}"


def limit_phrases(limits: Limits) -> list[str]:
    found = [("pulls", "day", limits.pulls_per_day), ("pulls", "month", limits.pulls_per_month)]
    found.append(("bytes", "month", limits.bytes_per_month))
    return [amount(what, span, limit) for what, span, limit in found if limit is not None]


def usage_lines(limits: Limits, usage: dict[str, int]) -> list[str]:
    """How pages show use next to limits: `2 of 3 pulls today`, `1.2 GB of 10.0 GB this month`."""

    def pulls(used: int, limit: int | None, when: str) -> str:
        if limit is not None:
            return f"{used:,} of {limit:,} pulls {when}"
        return f"{used:,} pull{'s' if used != 1 else ''} {when}"

    size = f" of {human_size(limits.bytes_per_month)}" if limits.bytes_per_month is not None else ""
    return [
        pulls(usage["pulls_today"], limits.pulls_per_day, "today"),
        pulls(usage["pulls_this_month"], limits.pulls_per_month, "this month"),
        f"{human_size(usage['bytes_this_month'])}{size} downloaded this month",
    ]


def summary(restrictions: Restrictions, usage: dict[str, int]) -> dict[str, Any]:
    """What the portals' token lists show (templates/partials/limits.html)."""
    return {
        "networks": list(restrictions.allowed_cidrs),
        "lines": usage_lines(restrictions.limits, usage),
        "limited": bool(restrictions.limits),
    }
