"""GET /api/v1/usage as a report: names beside ids (as they were), one or two dimensions, a concrete period,
totals with clients distinct over the period, CSV; and platform fetches that are part of a pull."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from app.models import DownloadEvent
from app.reports.rollup import mark_stale, roll_up_pending
from app.services.accounts import bootstrap_vendor


async def vendor_with_customer(wharf) -> tuple:
    engine = wharf.app.state.registry.metadata.engine
    vendor = await bootstrap_vendor(
        engine, f"rep-{uuid.uuid4().hex[:6]}", f"r@{uuid.uuid4().hex[:6]}.test", "correct-horse"
    )
    api = {"Authorization": f"Bearer {vendor.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Current Name"}, headers=api)).json()
    return engine, vendor, api, customer["id"]


async def store(engine, vendor_id: int, *rows: dict) -> None:
    base = {"action": "manifest.get", "status": 200, "bytes": 100, "repository": "rep/app", "reference": "1.0.0"}
    base |= dict.fromkeys(("customer_name", "license_id", "license_name", "token_id", "digest", "part_of_pull"))
    async with engine.begin() as conn:
        await conn.execute(
            insert(DownloadEvent), [{**base, "id": uuid.uuid4().hex, "vendor_id": vendor_id, **r} for r in rows]
        )
        # as the writer does: a day already rolled up (other tests' events made it a past day with a rollup) is stale
        await mark_stale(conn, {r["at"].date() for r in rows})


async def report(wharf, api: dict, **params) -> dict:
    r = await wharf.client.get("/api/v1/usage", params=params, headers=api)
    assert r.status_code == 200, r.text
    return r.json()


def by(items: list[dict], field: str) -> dict:
    return {item[field]: item for item in items}


async def test_usage_names_periods_two_dimensions_totals_and_csv(wharf):
    engine, vendor, api, current = await vendor_with_customer(wharf)
    await roll_up_pending(engine)  # other tests' days: from here on only this test's days are pending
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    d1, d2 = today - timedelta(days=3), today - timedelta(days=2)
    renamed, gone, nameless = 900_001, 900_002, 900_003  # customers deleted since; one renamed before that
    await store(
        engine,
        vendor.vendor_id,
        dict(
            at=d1 + timedelta(hours=1),
            customer_id=renamed,
            customer_name="Old Name Co",
            license_id=70,
            license_name="Gold",
            client_ip="10.0.0.1",
        ),
        dict(
            at=d2 + timedelta(hours=1),
            customer_id=renamed,
            customer_name="Old Name Co",
            license_id=70,
            license_name="Gold",
            client_ip="10.0.0.2",
            reference="1.1.0",
        ),
        # renamed later that day: every row of the day reads with the day's latest name once rolled up
        dict(
            at=d2 + timedelta(hours=5),
            customer_id=renamed,
            customer_name="New Name Co",
            license_id=70,
            license_name="Gold 2",
            client_ip="10.0.0.2",
            reference="1.2.0",
        ),
        dict(at=d1 + timedelta(hours=2), customer_id=gone, customer_name="Gone Ltd", client_ip="10.0.0.1"),
        dict(at=d1 + timedelta(hours=3), customer_id=current, client_ip="10.0.0.1"),  # stored before names were
        dict(at=d1 + timedelta(hours=4), customer_id=nameless, client_ip="10.0.0.3", action="denied", status=403),
        dict(at=d1 + timedelta(hours=4), customer_id=None, client_ip="10.0.0.9", action="manifest.head"),
    )
    for rolled_up in (False, True):
        if rolled_up:
            assert len(await roll_up_pending(engine)) >= 2
        whole = await report(wharf, api, group_by="customer")
        assert whole["period"]["since"] == (d1 + timedelta(hours=1)).isoformat()  # the first event
        assert datetime.fromisoformat(whole["period"]["until"]) <= datetime.fromisoformat(whole["generated_at"])
        assert whole["group_by"] == "customer"
        names = {i["customer_id"]: i["customer_name"] for i in whole["items"]}
        assert names == {
            renamed: "New Name Co",
            gone: "Gone Ltd",
            current: "Current Name",  # no name stored: the current one
            nameless: f"(deleted customer {nameless})",
            None: "(vendor tokens)",
        }, rolled_up
        rows = by(whole["items"], "customer_id")
        assert rows[renamed]["pulls"] == 3 and rows[renamed]["unique_clients"] == 2
        assert rows[nameless]["denials"] == 1 and rows[nameless]["unique_clients"] == 0
        clients_summed = sum(i["unique_clients"] for i in whole["items"])
        assert whole["totals"] == {
            "pulls": 5,
            "version_checks": 1,
            "unique_clients": 3,  # 10.0.0.1, .2 and .9: distinct over the period, not summed
            "bytes": 600,
            "denials": 1,
        }
        assert clients_summed == 5

        first_day = await report(
            wharf, api, group_by="customer", since=d1.isoformat(), until=(d1 + timedelta(days=1)).isoformat()
        )
        assert first_day["period"] == {"since": d1.isoformat(), "until": (d1 + timedelta(days=1)).isoformat()}
        assert by(first_day["items"], "customer_id")[renamed]["customer_name"] == "Old Name Co"  # as it was then

        pairs = await report(wharf, api, group_by="customer,day", customer_id=str(renamed))
        assert [(i["customer_name"], i["day"], i["pulls"]) for i in pairs["items"]] == [
            ("Old Name Co", d1.date().isoformat(), 1),
            ("New Name Co" if rolled_up else pairs["items"][1]["customer_name"], d2.date().isoformat(), 2),
        ]
        months = await report(wharf, api, group_by="month,license")
        assert {(i["month"], i["license_id"], i["license_name"]) for i in months["items"]} >= {
            (d2.strftime("%Y-%m"), 70, "Gold 2")
        }
        assert {i["license_name"] for i in months["items"] if i["license_id"] is None} == {"(no license)"}
        assert sum(i["pulls"] for i in months["items"]) == 5

    r = await wharf.client.get("/api/v1/usage", params={"group_by": "customer,month", "format": "csv"}, headers=api)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "usage-" in r.headers["content-disposition"]
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert list(table[0]) == [
        "customer_id",
        "customer_name",
        "month",
        "pulls",
        "version_checks",
        "unique_clients",
        "bytes",
        "denials",
    ]
    assert {row["customer_name"] for row in table} >= {"New Name Co", "Gone Ltd", "Current Name"}
    assert sum(int(row["pulls"]) for row in table) == 5

    for bad in ("planet", "customer,customer", "customer,day,month", "", "customer,"):
        r = await wharf.client.get("/api/v1/usage", params={"group_by": bad}, headers=api)
        assert r.status_code == 400 and "group" in r.json()["detail"], bad
    for bad in ({"format": "xml"}, {"since": "0001-01-01T00:00:00Z"}, {"until": "9999-12-31T23:59:59Z"}):
        r = await wharf.client.get("/api/v1/usage", params=bad, headers=api)
        assert r.status_code == 400, bad


async def test_a_platform_fetch_is_part_of_a_pull_exactly_when_the_event_says_so(wharf):
    engine, vendor, api, customer = await vendor_with_customer(wharf)
    at = datetime.now(UTC) - timedelta(minutes=30)
    digest = f"sha256:{1:064x}"
    await store(
        engine,
        vendor.vendor_id,
        dict(at=at, customer_id=customer, token_id=1, reference="2.0.0", digest=f"sha256:{2:064x}"),
        # the platform behind that index: platform detail of the same pull
        dict(at=at, customer_id=customer, token_id=1, reference=digest, digest=digest, part_of_pull=True),
        # a platform manifest fetched on its own (no index before it): a pull
        dict(at=at, customer_id=customer, token_id=2, reference="3.0.0", digest=digest, part_of_pull=False),
        # an ordinary manifest, not a platform: a pull
        dict(at=at, customer_id=customer, token_id=3, reference="4.0.0", digest=f"sha256:{4:064x}"),
    )
    result = await report(wharf, api, group_by="tag", customer_id=str(customer))
    assert {i["tag"]: i["pulls"] for i in result["items"]} == {"2.0.0": 1, "3.0.0": 1, "4.0.0": 1}
    assert result["totals"]["pulls"] == 3
