"""Rules for what services store, shared by every way in (API, portals, CLI, integrations)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from app.services.errors import Invalid
from app.times import aware, within_bounds

MAX_NAME = 200
MAX_NOTES = 10_000
MAX_GRACE_DAYS = 3650
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Characters that change how text around them is shown (bidirectional overrides and isolates): a name
# holding them can show as something else in a list.
_BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def name(field: str, value: str, what: str) -> str:
    """A name people read: any script, at most 200 characters, no control characters."""
    value = value.strip()
    if not value:
        raise Invalid(field, f"A {what} needs a name.")
    if len(value) > MAX_NAME:
        raise Invalid(field, f"Keep the {what}'s name to {MAX_NAME} characters (this one has {len(value)}).")
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in _BIDI_CONTROLS for ch in value):
        raise Invalid(field, f"The {what}'s name cannot contain control characters (line breaks, tabs, …).")
    return value


def notes(field: str, value: str) -> str:
    if len(value) > MAX_NOTES:
        raise Invalid(field, f"Keep the notes to {MAX_NOTES:,} characters.")
    return value


def email(field: str, value: str) -> str:
    value = value.strip().lower()
    if len(value) > 320 or not EMAIL_RE.fullmatch(value):
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
