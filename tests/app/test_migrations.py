"""Migration 0008 on existing data: ids never come back on SQLite (AUTOINCREMENT, sequences seeded above every
id still named by download events or the admin log), and license rows are clamped into what pulls can use."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.db import upgrade
from registry.sql import create_engine
from tests.support import postgres


async def test_a_customer_created_after_a_deletion_gets_a_new_id(wharf):
    """Otherwise it would see the deleted customer's download history (and its licenses' and tokens')."""
    api = {"Authorization": f"Bearer {wharf.token}"}
    ids: dict[str, list[int]] = {"customer": [], "license": []}
    for _ in range(2):
        customer = (
            await wharf.client.post("/api/v1/customers", json={"name": f"Gone {uuid.uuid4().hex[:6]}"}, headers=api)
        ).json()
        body = {"customer_id": customer["id"], "name": "L", "grants": [{"repository": "acme/x", "tags": ["*"]}]}
        lic = (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).json()
        ids["customer"].append(customer["id"])
        ids["license"].append(lic["id"])
        assert (await wharf.client.delete(f"/api/v1/licenses/{lic['id']}", headers=api)).status_code == 204
        assert (await wharf.client.delete(f"/api/v1/customers/{customer['id']}", headers=api)).status_code == 204
    assert ids["customer"][1] > ids["customer"][0] and ids["license"][1] > ids["license"][0], ids


async def _database_at_0007(backend: str, tmp_path, request) -> str:
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    else:
        base = request.getfixturevalue("postgres_base")
        url = await postgres.create_database(base, f"wharf_mig_{uuid.uuid4().hex[:10]}")
    await asyncio.to_thread(upgrade, url, "0007")
    return url


OLD_ROWS = """
INSERT INTO organizations (id, kind, slug, name, vendor_id) VALUES (1, 'vendor', 'acme', 'Acme', NULL);
INSERT INTO organizations (id, kind, slug, name, vendor_id) VALUES (2, 'customer', 'globex', 'Globex', 1);
INSERT INTO organizations (id, kind, slug, name, vendor_id) VALUES (3, 'customer', 'gone', 'Gone', 1);
INSERT INTO users (id, email, name) VALUES (1, 'a@acme.test', 'A');
INSERT INTO memberships (user_id, organization_id, role) VALUES (1, 1, 'admin');
INSERT INTO tokens (id, kind, name, secret_hash, hint, organization_id, role) VALUES (4, 'pull', 't', 'h4', 'x', 2, 'pull');
INSERT INTO licenses (id, vendor_id, customer_id, name, notes, status, grace_days, valid_from, valid_until)
  VALUES (5, 1, 2, :name, '', 'active', 1000000000, :ancient, :far);
INSERT INTO license_grants (license_id, repository, tags) VALUES (5, 'acme/*', '["*"]');
INSERT INTO download_events (id, at, action, customer_id, license_id, token_id, repository, bytes, status)
  VALUES ('e1', :now, 'manifest.get', 7, 9, 12, 'acme/app', 0, 200);
INSERT INTO usage_daily (day, vendor_id, customer_id, license_id, repository, tag, client_ip, pulls, version_checks,
  reads, bytes, denials) VALUES ('2026-01-01', 1, 8, 14, 'acme/app', '1.0', '10.0.0.1', 1, 0, 1, 0, 0);
INSERT INTO admin_audit (vendor_id, actor, action, object_type, object_id)
  VALUES (1, 'user:6 (gone@acme.test)', 'customer.delete', 'customer', '11');
INSERT INTO admin_audit (vendor_id, actor, action, object_type, object_id) VALUES (1, 'token:20 (ci)', 'x', 'user', '3');
INSERT INTO admin_audit (vendor_id, actor, action, object_type, object_id) VALUES (1, 'system', 'x', 'token', '15');
INSERT INTO admin_audit (vendor_id, actor, action, object_type, object_id) VALUES (1, 'system', 'x', 'invitation', '30');
INSERT INTO admin_audit (vendor_id, actor, action, object_type, object_id) VALUES (1, 'system', 'x', 'vendor', 'n/a');
DELETE FROM organizations WHERE id = 3;
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_0008_keeps_the_data_seeds_ids_and_clamps_licenses(backend, tmp_path, request):
    url = await _database_at_0007(backend, tmp_path, request)
    engine = create_engine(url)
    tail = "x" * (300 if backend == "sqlite" else 186)  # PostgreSQL itself holds no more than 200 characters
    name = "株式会社\r\nProd\x07 ✓ " + tail
    params = {
        "name": name,
        "ancient": datetime(1900, 1, 1, tzinfo=UTC),
        "far": datetime(9999, 12, 31, tzinfo=UTC),
        "now": datetime.now(UTC),
    }
    async with engine.begin() as conn:
        for statement in filter(str.strip, OLD_ROWS.split(";")):
            await conn.execute(text(statement), {k: v for k, v in params.items() if f":{k}" in statement})
    await engine.dispose()
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            # nothing was lost to the tables' rebuild (SQLite would cascade a dropped parent's deletes)
            assert (await conn.execute(text("SELECT count(*) FROM memberships"))).scalar() == 1
            assert (await conn.execute(text("SELECT count(*) FROM tokens"))).scalar() == 1
            assert (await conn.execute(text("SELECT count(*) FROM license_grants"))).scalar() == 1
            lic = (await conn.execute(text("SELECT name, grace_days, valid_from, valid_until FROM licenses"))).one()
            assert lic.name == ("株式会社 Prod ✓ " + tail)[:200]
            assert lic.grace_days == 3650
            assert str(lic.valid_from)[:4] == "2000" and str(lic.valid_until)[:4] == "9000"
            new_ids = {}
            for table, insert in (
                (
                    "organizations",
                    "INSERT INTO organizations (kind, slug, name, vendor_id) VALUES ('customer', 'n', 'N', 1)",
                ),
                ("users", "INSERT INTO users (email, name) VALUES ('n@acme.test', 'N')"),
                (
                    "tokens",
                    "INSERT INTO tokens (kind, name, secret_hash, hint, organization_id, role) VALUES ('pull', 'n', 'hn', 'x', 2, 'pull')",
                ),
                (
                    "licenses",
                    "INSERT INTO licenses (vendor_id, customer_id, name, notes, status, grace_days) VALUES (1, 2, 'n', '', 'active', 0)",
                ),
                (
                    "invitations",
                    "INSERT INTO invitations (organization_id, email, role, secret_hash, expires_at) VALUES (2, 'i@x.test', 'member', 'hi', :now)",
                ),
            ):
                await conn.execute(text(insert), {"now": params["now"]})
                new_ids[table] = (await conn.execute(text(f"SELECT max(id) FROM {table}"))).scalar()
    finally:
        await engine.dispose()
    # above every id still named anywhere (on PostgreSQL the sequences are only ever raised too)
    assert new_ids == {"organizations": 12, "users": 7, "tokens": 21, "licenses": 15, "invitations": 31}


async def test_sqlite_never_hands_out_a_deleted_id_again(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'ids.db'}"
    await asyncio.to_thread(upgrade, url)
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO organizations (kind, slug, name) VALUES ('vendor', 'a', 'A')"))
            await conn.execute(
                text("INSERT INTO organizations (kind, slug, name, vendor_id) VALUES ('customer', 'b', 'B', 1)")
            )
            await conn.execute(text("DELETE FROM organizations WHERE id = 2"))
            await conn.execute(
                text("INSERT INTO organizations (kind, slug, name, vendor_id) VALUES ('customer', 'c', 'C', 1)")
            )
            assert (await conn.execute(text("SELECT max(id) FROM organizations"))).scalar() == 3
    finally:
        await engine.dispose()
