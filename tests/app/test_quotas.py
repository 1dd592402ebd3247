"""Quota counters shared through the database by several processes, the periods they count in, and the
pure pieces: networks, limits, the request rate."""

from __future__ import annotations

from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from sqlalchemy import func, select

from app.limits import Limits, NoOverlap, Restrictions, overlap, permits
from app.models import QuotaUsage
from app.quotas import QuotaCounters, period_end, period_seconds, usage_of
from app.rate_limit import RateLimiter, parse_rate
from registry.sql import create_engine

NOW = datetime(2032, 2, 29, 23, 59, 59, tzinfo=UTC)


def node(engine, now=NOW):
    return QuotaCounters(engine, clock=lambda: now)


@pytest.fixture
def engine(wharf):
    return wharf.app.state.registry.metadata.engine


async def test_processes_share_their_counts_through_the_database(engine):
    a, b = node(engine), node(engine)
    owner = 900_000 + id(a) % 10_000  # no other test counts for it
    a.add([("token", owner), ("license", owner)], NOW, pulls=3, size=300)
    b.add([("token", owner)], NOW, pulls=2, size=200)
    assert a.used("token", owner, "day", NOW).pulls == 3 and b.used("token", owner, "day", NOW).pulls == 2

    await a.merge()
    await b.merge()  # B writes its own, and reads A's
    await a.merge()  # A reads B's
    for counters in (a, b):
        assert counters.used("token", owner, "day", NOW).pulls == 5
        assert counters.used("token", owner, "month", NOW).bytes == 500
    assert a.used("license", owner, "month", NOW).pulls == b.used("license", owner, "month", NOW).pulls == 3

    await a.merge()  # figures are absolute: writing again adds nothing
    async with engine.connect() as conn:
        assert (await usage_of(conn, "token", [owner], NOW))[owner] == {
            "pulls_today": 5,
            "pulls_this_month": 5,
            "bytes_this_month": 500,
        }
    restarted = node(engine)  # a process started later counts what earlier ones did
    await restarted.merge()
    assert restarted.used("token", owner, "day", NOW).pulls == 5


async def test_counts_a_merge_could_not_write_go_with_the_next(engine, tmp_path):
    counters = node(engine)
    owner = 910_000 + id(counters) % 10_000
    counters.add([("token", owner)], NOW, pulls=1)
    good, counters.engine = counters.engine, create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a database it cannot open
        await counters.merge()
    await counters.engine.dispose()
    counters.engine = good
    await counters.merge()
    async with engine.connect() as conn:
        assert (await usage_of(conn, "token", [owner], NOW))[owner]["pulls_today"] == 1


async def test_periods_that_ended_are_swept(engine):
    old = node(engine, datetime(2031, 11, 5, tzinfo=UTC))
    owner = 920_000 + id(old) % 10_000
    old.add([("token", owner)], old.clock(), pulls=1)
    await old.merge()
    await node(engine).merge()  # months later: the old day and month go
    async with engine.connect() as conn:
        left = await conn.scalar(select(func.count()).select_from(QuotaUsage).where(QuotaUsage.owner_id == owner))
    assert left == 0


def test_periods_are_utc_calendar_days_and_months():
    assert period_end("day", NOW) == datetime(2032, 3, 1, tzinfo=UTC)
    assert period_end("month", NOW) == datetime(2032, 3, 1, tzinfo=UTC)
    assert period_seconds("month", NOW) == 29 * 86400  # a leap year's February
    december = datetime(2031, 12, 31, 12, tzinfo=UTC)
    assert period_end("month", december) == datetime(2032, 1, 1, tzinfo=UTC)
    assert period_seconds("day", december) == 86400


def test_networks():
    assert overlap(("10.0.0.0/8", "192.0.2.0/24"), ("10.1.0.0/16", "2001:db8::/32")) == ("10.1.0.0/16",)
    assert overlap(("10.0.0.0/8",), ("172.16.0.0/12",)) == ()
    allowed = (ip_network("10.0.0.0/8"),)
    assert permits(allowed, "10.9.9.9") and permits(allowed, "::ffff:10.1.2.3")
    assert not permits(allowed, "192.0.2.1") and not permits(allowed, None) and not permits(allowed, "unknown")
    assert permits((), None)  # no networks: anywhere
    with pytest.raises(NoOverlap):
        Restrictions(("10.0.0.0/8",)).tightest(Restrictions(("172.16.0.0/12",)))
    assert Limits(pulls_per_day=5).tightest(Limits(pulls_per_day=9, bytes_per_month=1)) == Limits(5, None, 1)


def test_request_rates():
    assert parse_rate("") is None
    assert parse_rate("50/s") == (50.0, 50)
    assert parse_rate(" 600 / m ") == (10.0, 600)
    for bad in ("50", "50/d", "-1/s", "0/s", "fast"):
        with pytest.raises(ValueError, match="WHARF_RATE_LIMIT"):
            parse_rate(bad)
    limiter = RateLimiter.from_settings("120/m", 0)
    assert limiter is not None and limiter.burst == 120 and limiter.describe() == "2 requests a second"
    assert RateLimiter(1 / 60, 1).describe() == "1 request a minute"
