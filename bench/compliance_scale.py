"""Compliance reports at scale: the events of bench.audit_scale (uniform: 500 customers, each with one token
and one license, client addresses out of 250 per customer), then the sharing signal over 30 days for the whole
vendor (the dashboard), one license's month, one customer's statement and the adoption query over a year.

Run: .venv/bin/python -m bench.compliance_scale [--events 2000000] [--days 73] [--reuse DB] [--keep]
(2 M events over 73 days is the density of 10 M over a year: about 27,000 events a day.)
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from app import adoption
from app.db import upgrade
from app.models import License, Organization
from app.reports import compliance, statements
from bench.audit_scale import drop_unless_kept, load

CUSTOMER = 7  # its license is 14 and its token 21 in the generated events


async def setup(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO organizations (id, kind, slug, name, vendor_id) VALUES (1, 'vendor', 'acme', 'Acme', NULL),"
            f" ({CUSTOMER}, 'customer', 'c7', 'Customer 7', 1) ON CONFLICT DO NOTHING"
        )
        await conn.execute(
            "INSERT INTO licenses (id, vendor_id, customer_id, name, notes, status, grace_days)"
            f" VALUES ({CUSTOMER * 2}, 1, {CUSTOMER}, 'c7 prod', '', 'active', 0) ON CONFLICT DO NOTHING"
        )
    finally:
        await conn.close()


async def timed(label: str, work, runs: int = 3) -> None:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        found = await work()
        times.append(time.perf_counter() - started)
    print(f"  {label}: {min(times):.2f} s best, {max(times):.2f} s worst of {runs} ({found})")


async def measure(url: str) -> None:
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    month = (now - timedelta(days=30), now)
    try:
        async with AsyncSession(engine) as session:
            vendor = await session.get(Organization, 1)
            customer = await session.get(Organization, CUSTOMER)
            lic = await session.get(License, CUSTOMER * 2)
            assert vendor and customer and lic

            async def sharing() -> str:
                flags = await compliance.sharing_flags(session, 1, 5, *compliance.recent_days(now))
                return f"{len(flags)} flags"

            async def one_license() -> str:
                c = await compliance.license_compliance(session, vendor, lic, *month, now)
                return f"{c.pulls} pulls, {c.networks} networks"

            async def statement() -> str:
                s = await statements.statement(session, vendor, customer, *month, now)
                return f"{s.pulls} pulls, {len(s.pulled)} versions"

            async def last_pulls() -> str:
                found = await adoption.last_pulls(session, 1, since=now - timedelta(days=365))
                return f"{len(found)} customer-products"

            await timed("sharing signal, whole vendor, 30 days (dashboard)", sharing)
            await timed("one license, 30 days", one_license)
            await timed("one customer's statement, 30 days (raw events)", statement)
            await timed("last pull per customer and product, a year (adoption)", last_pulls)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=73)
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", metavar="DB")
    args = parser.parse_args()
    name = args.reuse or f"wharf_compliance_scale_{uuid.uuid4().hex[:6]}"
    admin = args.server.replace("postgresql+asyncpg", "postgresql") + "/postgres"

    async def run() -> None:
        url = f"{args.server}/{name}"
        plain = url.replace("postgresql+asyncpg", "postgresql")
        if not args.reuse:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
        try:
            await asyncio.to_thread(upgrade, url)
            if not args.reuse:
                print(f"loading {args.events:,} events over {args.days} days into {name} …")
                print(f"\n  loaded in {await load(plain, args.events, args.days, 'uniform'):.0f} s")
            await setup(plain)
            await measure(url)
        finally:
            await drop_unless_kept(admin, name, args.keep or args.reuse)

    asyncio.run(run())


if __name__ == "__main__":
    main()
