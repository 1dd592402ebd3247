"""Small builders for licenses in tests: one customer, a fixed `NOW`, grants given as plain strings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from licensing import License, parse_grant

NOW = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
ALL = (("acme/**", ("*",)),)


def days(n: float) -> timedelta:
    return timedelta(days=n)


def make_license(name: str = "Acme Prod", grants: Iterable[tuple[str, Iterable[str]]] = ALL, **fields: Any) -> License:
    """A license of customer `cust-1` whose id is derived from its name."""
    return License(
        id=fields.pop("id", "lic-" + name.lower().replace(" ", "-")),
        customer_id=fields.pop("customer_id", "cust-1"),
        name=name,
        grants=tuple(parse_grant(repository, rules) for repository, rules in grants),
        **fields,
    )
