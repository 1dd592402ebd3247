"""The admin audit log: every change with actor, IP, before and after; never a secret; auditors read it."""

from __future__ import annotations

import csv
import io
import json

from app.admin_log import COLUMNS


async def test_changes_are_logged_with_before_and_after(wharf):
    api = {"Authorization": f"Bearer {wharf.token}", "User-Agent": "audit-log-test"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Logged"}, headers=api)).json()
    lic = (
        await wharf.client.post(
            "/api/v1/licenses",
            headers=api,
            json={
                "customer_id": customer["id"],
                "name": "Logged",
                "grants": [{"repository": "acme/app", "tags": ["^1"]}],
            },
        )
    ).json()
    await wharf.client.patch(
        f"/api/v1/licenses/{lic['id']}",
        headers=api,
        json={"grants": [{"repository": "acme/app", "tags": ["^2"]}], "status": "suspended"},
    )
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "ci"}, headers=api)
    ).json()
    await wharf.client.delete(f"/api/v1/pull-tokens/{token['id']}", headers=api)
    auditor = (
        await wharf.client.post("/api/v1/tokens", json={"name": "compliance", "role": "auditor"}, headers=api)
    ).json()

    log = (
        await wharf.client.get(
            "/api/v1/audit-log", params={"limit": 200}, headers={"Authorization": f"Bearer {auditor['token']}"}
        )
    ).json()["items"]
    ours = {("customer", customer["id"]), ("license", lic["id"]), ("token", token["id"]), ("token", auditor["id"])}
    ours = {(kind, str(object_id)) for kind, object_id in ours}  # repositories are named, not numbered
    mine = {e["action"]: e for e in log if (e["object_type"], str(e["object_id"])) in ours}
    assert mine["customer.created"]["after"] == {"name": "Logged", "slug": customer["slug"]}
    update = mine["license.updated"]
    assert update["before"]["grants"] == [{"repository": "acme/app", "tags": ["^1"]}]
    assert update["after"]["grants"] == [{"repository": "acme/app", "tags": ["^2"]}]
    suspended = mine["license.suspended"]  # one PATCH, two changes: each is its own event
    assert (suspended["before"]["status"], suspended["after"]["status"]) == ("active", "suspended")
    assert update["actor"].startswith("token:") and update["client_ip"] and update["via"] == "api"
    assert (
        mine["pull_token.revoked"]["before"]["revoked_at"] is None and mine["pull_token.revoked"]["after"]["revoked_at"]
    )
    assert mine["vendor_token.created"]["after"]["role"] == "auditor"
    assert token["token"] not in json.dumps(log) and auditor["token"] not in json.dumps(log)  # never a secret

    # the auditor reads and exports, and changes nothing; support cannot read the audit log
    auditor_h = {"Authorization": f"Bearer {auditor['token']}"}
    r = await wharf.client.get("/api/v1/audit-log/export", headers=auditor_h)
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) - 1 >= len(log)
    assert (await wharf.client.get("/api/v1/pulls", headers=auditor_h)).status_code == 200
    assert (await wharf.client.get("/api/v1/usage", headers=auditor_h)).status_code == 200
    assert (await wharf.client.post("/api/v1/customers", json={"name": "x"}, headers=auditor_h)).status_code == 403
    assert (
        await wharf.client.patch(f"/api/v1/licenses/{lic['id']}", json={"status": "active"}, headers=auditor_h)
    ).status_code == 403
    support = (await wharf.client.post("/api/v1/tokens", json={"name": "s", "role": "support"}, headers=api)).json()
    r = await wharf.client.get("/api/v1/audit-log", headers={"Authorization": f"Bearer {support['token']}"})
    assert r.status_code == 403


async def test_a_failed_change_leaves_no_entry(wharf):
    api = {"Authorization": f"Bearer {wharf.token}"}
    before = (await wharf.client.get("/api/v1/audit-log", params={"limit": 1}, headers=api)).json()["items"]
    r = await wharf.client.post("/api/v1/licenses", headers=api, json={"customer_id": 10**9, "name": "x", "grants": []})
    assert r.status_code == 404
    after = (await wharf.client.get("/api/v1/audit-log", params={"limit": 1}, headers=api)).json()["items"]
    assert after == before
