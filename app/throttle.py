"""Sign-in and password-reset throttles, counted in the database (one table for every node, kept across
restarts): a fixed window per key, and a lock once a key's count reaches its limit.

Failed sign-ins count per account-and-address first (5 lock that pair), then per account (50 lock it for
everyone: a slow botnet) and per address (50: one address spraying many accounts). So a stranger who
knows an admin's email locks out only their own address. IPv6 addresses count per /64, which one
attacker usually holds whole. Reset requests count per account (whether it exists or not) and address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network
from typing import cast

from sqlalchemy import Table, case, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import ThrottleCounter
from app.times import aware
from registry.sql import dialect_insert, write_transaction

counters = cast(Table, ThrottleCounter.__table__)
MAX_EMAIL = 320  # longer input is no address of ours; its counter still counts
PRUNE_EVERY = 1_000  # failures between two removals of expired counters (a spray leaves many behind)


@dataclass(frozen=True)
class Rule:
    name: str  # the key's prefix
    limit: int  # events within `window` that lock the key
    window: timedelta
    lock: timedelta


PAIR = Rule("signin-pair", 5, timedelta(minutes=15), timedelta(minutes=15))
ACCOUNT = Rule("signin-account", 50, timedelta(minutes=15), timedelta(minutes=15))
ADDRESS = Rule("signin-address", 50, timedelta(minutes=15), timedelta(minutes=15))
RESET_ACCOUNT = Rule("reset-account", 3, timedelta(hours=1), timedelta(hours=1))
RESET_ADDRESS = Rule("reset-address", 10, timedelta(hours=1), timedelta(hours=1))


def address_key(ip: str | None) -> str | None:
    """The address as counted: IPv6 by its /64."""
    try:
        address = ip_address(ip or "")
    except ValueError:
        return ip or None
    return str(ip_network(f"{address}/64", strict=False)) if isinstance(address, IPv6Address) else str(address)


async def wait_seconds(engine: AsyncEngine, keys: list[tuple[Rule, str]]) -> int:
    """0 when none of the keys is locked; else the seconds until the last of their locks ends."""
    now = datetime.now(UTC)
    names = [f"{rule.name}:{value}" for rule, value in keys]
    async with engine.connect() as conn:
        locks = (await conn.execute(select(counters.c.locked_until).where(counters.c.key.in_(names)))).scalars()
        ends = [aware(lock) for lock in locks if lock is not None]
    return max([int((end - now).total_seconds()) + 1 for end in ends if end > now], default=0)


async def count(engine: AsyncEngine, keys: list[tuple[Rule, str]]) -> None:
    """One more event under each key (a new window if its last one is over); lock the keys at their limit."""
    now = datetime.now(UTC)
    async with write_transaction(engine) as conn:
        for rule, value in keys:
            expired = counters.c.window_start <= now - rule.window
            new_count = case((expired, 1), else_=counters.c.count + 1)
            stmt = dialect_insert(conn, counters).values(
                key=f"{rule.name}:{value}",
                count=1,
                window_start=now,
                locked_until=now + rule.lock if rule.limit <= 1 else None,
            )
            await conn.execute(
                stmt.on_conflict_do_update(  # type: ignore[attr-defined]
                    index_elements=["key"],
                    set_={
                        "count": new_count,
                        "window_start": case((expired, now), else_=counters.c.window_start),
                        "locked_until": case((new_count >= rule.limit, now + rule.lock), else_=counters.c.locked_until),
                    },
                )
            )


async def clear(engine: AsyncEngine, rule: Rule, value: str) -> None:
    async with write_transaction(engine) as conn:
        await conn.execute(delete(counters).where(counters.c.key == f"{rule.name}:{value}"))


async def prune(engine: AsyncEngine, longest_window: timedelta = timedelta(hours=1)) -> int:
    """Remove counters whose window and lock are both over; a lock in force is never removed."""
    now = datetime.now(UTC)
    async with write_transaction(engine) as conn:
        result = await conn.execute(
            delete(counters).where(
                counters.c.window_start <= now - longest_window,
                or_(counters.c.locked_until.is_(None), counters.c.locked_until <= now),
            )
        )
    return int(result.rowcount or 0)


class SignInThrottle:
    """The throttles of the sign-in and password-reset pages (state in the database; this only counts
    failures between two prunes)."""

    def __init__(self) -> None:
        self._since_prune = 0

    @staticmethod
    def _sign_in_keys(email: str, ip: str | None) -> list[tuple[Rule, str]]:
        account, address = email[:MAX_EMAIL], address_key(ip)
        if address is None:
            return [(ACCOUNT, account)]
        return [(PAIR, f"{account}|{address}"), (ACCOUNT, account), (ADDRESS, address)]

    async def wait_seconds(self, engine: AsyncEngine, email: str, ip: str | None) -> int:
        return await wait_seconds(engine, self._sign_in_keys(email, ip))

    async def failed(self, engine: AsyncEngine, email: str, ip: str | None) -> None:
        await count(engine, self._sign_in_keys(email, ip))
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            await self.prune(engine)

    async def succeeded(self, engine: AsyncEngine, email: str, ip: str | None) -> None:
        """The owner got in from this address: forget its failures there (the account's total stays)."""
        await clear(engine, PAIR, f"{email[:MAX_EMAIL]}|{address_key(ip)}")

    async def prune(self, engine: AsyncEngine) -> int:
        return await prune(engine, max(rule.window for rule in (PAIR, ACCOUNT, ADDRESS, RESET_ACCOUNT, RESET_ADDRESS)))

    @staticmethod
    def _reset_keys(email: str, ip: str | None) -> list[tuple[Rule, str]]:
        address = address_key(ip)
        return [(RESET_ACCOUNT, email[:MAX_EMAIL]), *([(RESET_ADDRESS, address)] if address else [])]

    async def reset_wait_seconds(self, engine: AsyncEngine, email: str, ip: str | None) -> int:
        return await wait_seconds(engine, self._reset_keys(email, ip))

    async def reset_requested(self, engine: AsyncEngine, email: str, ip: str | None) -> None:
        await count(engine, self._reset_keys(email, ip))
