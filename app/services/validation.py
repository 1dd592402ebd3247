"""Rules for what services store, shared by every way in (API, portals, CLI, integrations)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from ipaddress import ip_network

from app.limits import LIMIT_FIELDS, Limits, Restrictions
from app.services.errors import Invalid
from app.times import aware, within_bounds

MAX_NAME = 200
MAX_NOTES = 10_000
MAX_GRACE_DAYS = 3650
MAX_NETWORKS = 100
MAX_PULLS = 10**9
MAX_BYTES = 10**18  # an exabyte: larger is a typo, and still fits a bigint
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Characters that change how text around them is shown (bidirectional overrides and isolates): a name
# holding them can show as something else in a list.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
# Control characters, lone surrogates, and the Unicode line and paragraph separators (U+2028, U+2029): a name
# reaches mail headers (a subject), where any line break is refused, and lines of logs and CSV files.
_UNPRINTABLE = ("Cc", "Cs", "Zl", "Zp")


def name(field: str, value: str, what: str) -> str:
    """A name people read: any script, at most 200 characters, no control characters."""
    value = value.strip()
    if not value:
        raise Invalid(field, f"A {what} needs a name.")
    if len(value) > MAX_NAME:
        raise Invalid(field, f"Keep the {what}'s name to {MAX_NAME} characters (this one has {len(value)}).")
    if any(unicodedata.category(ch) in _UNPRINTABLE or ch in _BIDI_CONTROLS for ch in value):
        raise Invalid(field, f"The {what}'s name cannot contain control characters (line breaks, tabs, …).")
    return value


def notes(field: str, value: str) -> str:
    if len(value) > MAX_NOTES:
        raise Invalid(field, f"Keep the notes to {MAX_NOTES:,} characters.")
    return value


def email(field: str, value: str) -> str:
    value = value.strip().lower()
    unprintable = any(unicodedata.category(ch) in _UNPRINTABLE for ch in value)  # NUL and the like reach SMTP
    if len(value) > 320 or unprintable or not EMAIL_RE.fullmatch(value):
        raise Invalid(field, f"{value[:80]!r} is not an email address like name@example.com.")
    return value


def moment(field: str, value: datetime | None) -> datetime | None:
    if not within_bounds(value):
        raise Invalid(field, "Choose a date between the years 2000 and 9000.")
    return aware(value)


def window(valid_from: datetime | None, valid_until: datetime | None, grace_days: int) -> None:
    """A license's validity: dates within bounds, the end after the start, 0 to 3650 grace days."""
    moment("valid_from", valid_from)
    moment("valid_until", valid_until)
    if not 0 <= grace_days <= MAX_GRACE_DAYS:
        raise Invalid("grace_days", f"Grace days go from 0 to {MAX_GRACE_DAYS}.")
    if valid_from is not None and valid_until is not None and aware(valid_until) <= aware(valid_from):
        raise Invalid("valid_until", "The end must come after the start.")


def networks(field: str, values: Iterable[str]) -> tuple[str, ...]:
    """IPv4 and IPv6 networks in CIDR form (a bare address is one host), normalised (`10.1.2.3/8` is
    `10.0.0.0/8`) and without repeats; none means anywhere."""
    found: list[str] = []
    for i, value in enumerate(v.strip() for v in values):
        if not value:
            continue
        try:
            network = str(ip_network(value, strict=False))
        except ValueError:
            raise Invalid(
                f"{field}[{i}]", f"{value[:60]!r} is not a network like 10.0.0.0/8 or 2001:db8::/32."
            ) from None
        if network not in found:
            found.append(network)
    if len(found) > MAX_NETWORKS:
        raise Invalid(field, f"List at most {MAX_NETWORKS} networks.")
    return tuple(found)


def limits(field: str, value: Limits) -> Limits:
    """Whole numbers of at least 1 (None: no limit); pulls up to a billion, bytes up to an exabyte."""
    for name in LIMIT_FIELDS:
        number = getattr(value, name)
        if number is None:
            continue
        ceiling = MAX_BYTES if name.startswith("bytes") else MAX_PULLS
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= ceiling:
            what = "bytes" if name.startswith("bytes") else "pulls"
            raise Invalid(
                f"{field}.{name}", f"Give a whole number of {what} from 1 to {ceiling:,}, or none for no limit."
            )
    return value


def restrictions(field: str, value: Restrictions) -> Restrictions:
    """A token's (or a license's defaults for tokens) networks and limits."""
    cidrs = networks(f"{field}allowed_cidrs", value.allowed_cidrs)
    return Restrictions(cidrs, limits(f"{field}limits", value.limits))
