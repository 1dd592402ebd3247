"""Download audit at scale: N events in PostgreSQL, then a month's usage report and a full export.

Run: .venv/bin/python -m bench.audit_scale [--events 10000000] [--database-url postgresql+asyncpg://…/db]
The database is created (and dropped afterwards) on the server given, default the local one.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from app.api.usage import usage_query
from app.db import upgrade

CUSTOMERS, REPOSITORIES, TAGS = 500, 40, 60


def rows(count: int, start: datetime, span_days: int, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    span = span_days * 86400
    for _ in range(count):
        customer = rng.randrange(1, CUSTOMERS + 1)
        action = rng.choices(("manifest.get", "manifest.head", "blob.get", "denied"), (50, 20, 28, 2))[0]
        yield (
            uuid.uuid4().hex,
            start + timedelta(seconds=rng.randrange(span)),
            action,
            1,
            customer,
            customer * 2,
            customer * 3,
            f"acme/product-{rng.randrange(REPOSITORIES)}",
            f"1.{rng.randrange(TAGS)}.0",
            f"sha256:{rng.getrandbits(256):064x}",
            None,
            rng.randrange(100, 50_000_000) if action == "blob.get" else 900,
            403 if action == "denied" else 200,
            "tag not covered" if action == "denied" else None,
            f"10.{customer % 250}.0.{rng.randrange(250)}",
            "containerd/1.7",
        )


async def load(dsn: str, count: int, span_days: int) -> float:
    start = datetime.now(UTC) - timedelta(days=span_days)
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        chunk = 200_000
        for offset in range(0, count, chunk):
            await conn.copy_records_to_table(
                "download_events",
                records=list(rows(min(chunk, count - offset), start, span_days, offset)),
                columns=[
                    "id",
                    "at",
                    "action",
                    "vendor_id",
                    "customer_id",
                    "license_id",
                    "token_id",
                    "repository",
                    "reference",
                    "digest",
                    "media_type",
                    "bytes",
                    "status",
                    "reason",
                    "client_ip",
                    "user_agent",
                ],
            )
            print(f"  {offset + chunk:>10,} events", end="\r", flush=True)
        await conn.execute("ANALYZE download_events")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def export_month(url: str) -> None:
    """Stream a month of events as CSV the way /api/v1/pulls/export does, watching this process's memory."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.api.export import stream_rows
    from app.downloads import COLUMNS, event_json, filtered
    from app.models import DownloadEvent

    engine = create_async_engine(url)
    since = datetime.now(UTC) - timedelta(days=30)
    stmt = filtered(1, since, None, None, None, None, None, None)
    stmt = stmt.order_by(DownloadEvent.at, DownloadEvent.id).execution_options(yield_per=1000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, size, lines = time.perf_counter(), 0, 0
    try:
        async for chunk in stream_rows(engine, stmt, COLUMNS, event_json, "csv"):
            size += len(chunk)
            lines += chunk.count(b"\n")
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(
        f"  export of a month: {lines - 1:,} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s "
        f"({(lines - 1) / seconds:,.0f} rows/s), peak RSS growth {growth:.0f} MiB"
    )


async def usage_seconds(url: str, group_by: str) -> float:
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    since = datetime.now(UTC) - timedelta(days=30)
    stmt = usage_query("postgresql", 1, group_by, since, None, None, None)  # type: ignore[arg-type]
    try:
        times = []
        for _ in range(3):
            async with engine.connect() as conn:
                started = time.perf_counter()
                result = (await conn.execute(stmt)).all()
                times.append(time.perf_counter() - started)
        print(f"  usage by {group_by:<10} {len(result):>5} groups: best {min(times):.2f} s, runs {times}")
        return min(times)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365, help="the events spread over this many days")
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    name = f"wharf_audit_scale_{uuid.uuid4().hex[:6]}"
    admin = args.server.replace("postgresql+asyncpg", "postgresql") + "/postgres"

    async def run() -> None:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = f"{args.server}/{name}"
        try:
            await asyncio.to_thread(upgrade, url)
            print(f"loading {args.events:,} events over {args.days} days …")
            seconds = await load(url.replace("postgresql+asyncpg", "postgresql"), args.events, args.days)
            print(f"\n  loaded in {seconds:.0f} s")
            for group in ("customer", "repository", "day"):
                await usage_seconds(url, group)
            await export_month(url)
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
