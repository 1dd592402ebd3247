"""Daily rollups answer usage reports exactly as raw events do, and a late event makes its day's rollup stale."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.identity import TokenIdentity
from app.models import UsageRolledUpDay
from app.reports.rollup import roll_up_pending
from app.services.accounts import bootstrap_vendor
from registry.events import RegistryEvent

GROUPS = ("customer", "license", "repository", "tag", "day", "month", "customer,month", "tag,license")


def synthetic_events(vendor_id: int, now: datetime, seed: int) -> list[RegistryEvent]:
    """Four days of mixed traffic: repeated pulls within a minute, by tag and by digest, checks, blobs, denials."""
    rng = random.Random(seed)
    events = []
    start = (now - timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    for _ in range(600):
        token = rng.randrange(1, 6)
        at = start + timedelta(seconds=rng.randrange(int((now - start).total_seconds())))
        repo = f"rollupco/app-{rng.randrange(3)}"
        digest = f"sha256:{rng.randrange(4):064x}"
        action, status, reason = rng.choices(
            [("manifest.get", 200, None), ("manifest.head", 200, None), ("blob.get", 206, None), ("denied", 403, "no")],
            [5, 2, 2, 1],
        )[0]
        customer = 100 + token % 3
        actor = TokenIdentity(
            token, "pull", f"t{token}", "pull", customer, "customer", "c", vendor_id, "rollupco", None
        )
        burst = rng.randrange(1, 4)  # a client retrying, or asking by tag and then by digest, in one minute
        for n in range(burst):
            events.append(
                RegistryEvent(
                    action=action,
                    repository=repo,
                    subject=f"token:{token}",
                    reference=rng.choice([f"1.{rng.randrange(3)}.0", digest]),
                    digest=digest,
                    bytes=rng.randrange(1, 10_000),
                    status=status,
                    reason=reason,
                    client_ip=f"10.0.0.{rng.randrange(4)}",
                    license=str(token % 2 + 1),
                    actor=actor,
                    at=min(at + timedelta(milliseconds=300 * n), now),
                )
            )
    return events


async def usage(wharf, token: str, **params) -> dict[str, list]:
    api = {"Authorization": f"Bearer {token}"}
    answers = {}
    for group in GROUPS:
        r = await wharf.client.get("/api/v1/usage", params={**params, "group_by": group}, headers=api)
        assert r.status_code == 200, r.text
        answers[group] = r.json()["items"]
    return answers


async def test_rolled_up_days_answer_exactly_like_raw_events(wharf):
    engine = wharf.app.state.registry.metadata.engine
    vendor = await bootstrap_vendor(engine, f"rollup-{uuid.uuid4().hex[:6]}", "r@rollup.test", "correct-horse")
    now = datetime.now(UTC)
    writer = wharf.app.state.audit_writer
    await writer.drain()
    await roll_up_pending(engine)  # other tests' days: from here on only this test's days are pending
    for event in synthetic_events(vendor.vendor_id, now, seed=7):
        writer.spool.emit(event)
    await writer.drain()

    two_days_ago = (now - timedelta(days=2)).replace(hour=13, minute=7, second=30)
    windows = [
        {},
        {"since": two_days_ago.isoformat()},
        {"since": (now - timedelta(days=3)).date().isoformat() + "T00:00:00Z", "until": now.isoformat()},
        {"customer_id": 101},
        {"repository": "rollupco/app-1", "until": (now - timedelta(days=1)).replace(hour=5).isoformat()},
    ]
    raw = [await usage(wharf, vendor.token, **w) for w in windows]
    assert sum(row["pulls"] for row in raw[0]["customer"]) > 100  # the data is not trivially empty

    rolled = await roll_up_pending(engine)
    assert len(rolled) >= 3  # the three complete days before today
    for window, expected in zip(windows, raw, strict=True):
        assert await usage(wharf, vendor.token, **window) == expected, window

    # an event arriving late for a rolled-up day (a node's spool replayed after an outage) is counted
    late_day = (now - timedelta(days=2)).date()
    actor = TokenIdentity(1, "pull", "t1", "pull", 101, "customer", "c", vendor.vendor_id, "rollupco", None)
    late_at = datetime.combine(late_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23, minutes=59)
    late = RegistryEvent(
        action="manifest.get",
        repository="rollupco/late",
        subject="token:1",
        reference="9.9.9",
        digest=f"sha256:{9:064x}",
        bytes=5,
        client_ip="10.9.9.9",
        actor=actor,
        at=late_at,
    )
    writer.spool.emit(late)
    await writer.drain()
    async with engine.connect() as conn:
        days = set((await conn.execute(select(UsageRolledUpDay.day))).scalars())
    assert late_day not in days  # its rollup is stale now
    after = await usage(wharf, vendor.token)
    assert {r["repository"]: r["pulls"] for r in after["repository"]}["rollupco/late"] == 1
    assert await roll_up_pending(engine) == [late_day]
    assert await usage(wharf, vendor.token) == after
