"""The automation API over HTTP: authentication, validation, roles, and vendor isolation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.services.accounts import bootstrap_vendor
from tests.conftest import basic
from tests.registry.helpers import push_image, push_manifest
from tests.support.oci import OCI_INDEX, image, index


@pytest.fixture
def api(wharf):
    headers = {"Authorization": f"Bearer {wharf.token}"}

    class Api:
        async def post(self, path, json=None, token=None, expect=201):
            r = await wharf.client.post(f"/api/v1{path}", json=json, headers=_h(token) if token else headers)
            assert r.status_code == expect, r.text
            return r.json() if r.content else None

        async def get(self, path, token=None, expect=200):
            r = await wharf.client.get(f"/api/v1{path}", headers=_h(token) if token else headers)
            assert r.status_code == expect, r.text
            return r.json()

        async def patch(self, path, json, expect=200):
            r = await wharf.client.patch(f"/api/v1{path}", json=json, headers=headers)
            assert r.status_code == expect, r.text
            return r.json()

        async def delete(self, path, token=None, expect=204):
            r = await wharf.client.delete(f"/api/v1{path}", headers=_h(token) if token else headers)
            assert r.status_code == expect, r.text

    return Api()


def _h(token):
    return {"Authorization": f"Bearer {token}"}


async def test_requires_a_vendor_api_token(wharf, api):
    r = await wharf.client.get("/api/v1/customers")
    assert r.status_code == 401 and "API token" in r.json()["detail"]
    await api.get("/customers", token="wharf_api_wrong", expect=401)
    customer = await api.post("/customers", {"name": "Token Kinds"})
    pull = await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "ci"})
    await api.get("/customers", token=pull["token"], expect=403)


async def test_customers_crud_and_pagination(api):
    created = [await api.post("/customers", {"name": f"Acme Customer {i}"}) for i in range(3)]
    assert created[0]["slug"] == "acme-customer-0"
    again = await api.post("/customers", {"name": "Acme Customer 0"})
    assert again["slug"] == "acme-customer-0-2"
    first = await api.get("/customers?limit=2")
    assert len(first["items"]) == 2 and first["next_after"] == first["items"][-1]["id"]
    rest = await api.get(f"/customers?limit=200&after={first['next_after']}")
    ids = [c["id"] for c in first["items"] + rest["items"]]
    assert ids == sorted(ids) and {c["id"] for c in created} <= set(ids)
    one = created[1]
    assert (await api.get(f"/customers/{one['id']}"))["name"] == "Acme Customer 1"
    assert (await api.patch(f"/customers/{one['id']}", {"name": "Renamed"}))["name"] == "Renamed"
    await api.delete(f"/customers/{one['id']}")
    await api.get(f"/customers/{one['id']}", expect=404)
    await api.delete(f"/customers/{one['id']}", expect=404)


async def test_validation_errors_name_the_field(api):
    r = await api.post("/customers", {"nom": "x"}, expect=400)
    assert r["extra"]
    r = await api.post("/customers", {"name": "   "}, expect=400)
    assert r["extra"] == [{"key": "name", "message": "A customer needs a name."}]
    await api.get("/customers?limit=0", expect=400)
    customer = await api.post("/customers", {"name": "Validation"})
    cases = [
        ({"grants": [{"repository": "acme/app", "tags": [">=1.x"]}]}, "grants[0]"),
        ({"grants": [{"repository": "othervendor/app", "tags": ["*"]}]}, "grants[0].repository"),
        ({"grants": [], "valid_from": "2027-01-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}, "valid_until"),
        ({"grants": [], "grace_days": -1}, "grace_days"),
    ]
    for extra, field in cases:
        r = await api.post("/licenses", {"customer_id": customer["id"], "name": "L", **extra}, expect=400)
        assert r["extra"][0]["key"] == field, r
    r = await api.post(f"/customers/{customer['id']}/invitations", {"email": "nope", "role": "admin"}, expect=400)
    assert r["extra"][0]["key"] == "email"
    await api.post(f"/customers/{customer['id']}/invitations", {"email": "a@b.test", "role": "owner"}, expect=400)
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "x", "expires_at": past}, expect=400)


async def test_license_lifecycle(api):
    customer = await api.post("/customers", {"name": "Licensed"})
    until = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    lic = await api.post(
        "/licenses",
        {
            "customer_id": customer["id"],
            "name": "Prod",
            "notes": "PO 42",
            "grants": [{"repository": "acme/app", "tags": [">=1.0.0 <2.0.0", "*-lts"]}],
            "valid_until": until.isoformat(),
            "grace_days": 7,
        },
    )
    assert lic["status"] == "active" and lic["grace_days"] == 7
    assert lic["grants"] == [{"repository": "acme/app", "tags": [">=1.0.0 <2.0.0", "*-lts"]}]
    assert datetime.fromisoformat(lic["valid_until"]) == until
    assert (await api.patch(f"/licenses/{lic['id']}", {"status": "suspended"}))["status"] == "suspended"
    await api.patch(f"/licenses/{lic['id']}", {"status": "paused"}, expect=400)
    edited = await api.patch(
        f"/licenses/{lic['id']}", {"grants": [{"repository": "acme/**", "tags": ["^2"]}], "valid_until": None}
    )
    assert edited["grants"] == [{"repository": "acme/**", "tags": ["^2"]}] and edited["valid_until"] is None
    listed = await api.get(f"/licenses?customer_id={customer['id']}")
    assert [item["id"] for item in listed["items"]] == [lic["id"]]
    await api.delete(f"/licenses/{lic['id']}")
    await api.get(f"/licenses/{lic['id']}", expect=404)
    await api.post("/licenses", {"customer_id": 999999, "name": "x", "grants": []}, expect=404)


async def test_pull_tokens_and_invitations(wharf, api):
    customer = await api.post("/customers", {"name": "Tokens"})
    created = await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "k8s"})
    assert created["token"].startswith("wharf_pull_") and created["kind"] == "pull"
    listed = await api.get(f"/customers/{customer['id']}/pull-tokens")
    assert [t["name"] for t in listed["items"]] == ["k8s"] and "token" not in listed["items"][0]
    r = await wharf.client.get("/v2/", headers={"Authorization": basic("x", created["token"])})
    assert r.status_code == 200
    await api.delete(f"/pull-tokens/{created['id']}")
    r = await wharf.client.get("/v2/", headers={"Authorization": basic("x", created["token"])})
    assert r.status_code == 401
    invitation = await api.post(f"/customers/{customer['id']}/invitations", {"email": "Bob@Tokens.test"})
    assert invitation["email"] == "bob@tokens.test" and invitation["role"] == "member"
    assert invitation["accept_url"].startswith("http://testserver.local/portal/invitations/")


async def test_deleting_a_customer_revokes_its_tokens(wharf, api):
    customer = await api.post("/customers", {"name": "Leaving"})
    token = (await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "ci"}))["token"]
    await api.delete(f"/customers/{customer['id']}")
    r = await wharf.client.get("/v2/", headers={"Authorization": basic("x", token)})
    assert r.status_code == 401


async def test_vendor_tokens_are_capped_by_the_creators_role(wharf, api):
    auditor = await api.post("/tokens", {"name": "compliance", "role": "auditor"})
    push = await api.post("/tokens", {"name": "ci", "role": "release", "kind": "push"})
    assert push["token"].startswith("wharf_push_")
    await api.post("/tokens", {"name": "x", "role": "superuser"}, expect=400)
    # an auditor reads but changes nothing, and cannot mint itself more rights
    await api.get("/customers", token=auditor["token"])
    await api.post("/customers", {"name": "No"}, token=auditor["token"], expect=403)
    await api.post("/tokens", {"name": "x", "role": "admin"}, token=auditor["token"], expect=403)
    # an account manager may create customers but not admin tokens
    manager = await api.post("/tokens", {"name": "am", "role": "account_manager"})
    await api.post("/customers", {"name": "By AM"}, token=manager["token"])
    await api.post("/tokens", {"name": "x", "role": "admin"}, token=manager["token"], expect=403)
    await api.post("/tokens", {"name": "x", "role": "support"}, token=manager["token"])
    # push tokens push, but are not API tokens
    await api.get("/customers", token=push["token"], expect=403)
    listed = await api.get("/tokens")
    assert {"compliance", "ci", "am"} <= {t["name"] for t in listed["items"]}
    await api.delete(f"/tokens/{auditor['id']}")
    await api.get("/customers", token=auditor["token"], expect=401)


async def test_repositories_and_tags(wharf, api):
    repo = wharf.repo("listed")
    img = image("listed")
    await push_image(wharf, repo, img, "1.0.0")
    amd, arm = image("listed-m", "amd64"), image("listed-m", "arm64")
    await push_image(wharf, repo, amd)
    await push_image(wharf, repo, arm)
    await push_manifest(wharf, repo, "2.0.0", index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    repos = {r["name"]: r for r in (await api.get("/repositories"))["items"]}
    assert repos[repo]["tag_count"] == 2 and repos[repo]["last_pushed_at"]
    tags = {t["tag"]: t for t in (await api.get(f"/repositories/{repo}/tags"))["items"]}
    assert tags["1.0.0"]["digest"] == img.digest
    assert tags["1.0.0"]["size"] == len(img.manifest) + sum(len(b) for b in img.blobs.values())
    assert tags["2.0.0"]["platforms"] == ["linux/amd64", "linux/arm64"]
    assert tags["2.0.0"]["media_type"] == OCI_INDEX
    await api.get("/repositories/acme/never-pushed/tags", expect=404)
    await api.get("/repositories/othervendor/app/tags", expect=404)


async def test_another_vendors_objects_answer_404(wharf, api):
    slug = f"rival{uuid.uuid4().hex[:6]}"
    rival = await bootstrap_vendor(wharf.app.state.registry.metadata.engine, slug, f"a@{slug}.test", "correct-horse")
    customer = await api.post("/customers", {"name": "Mine"})
    lic = await api.post("/licenses", {"customer_id": customer["id"], "name": "Mine", "grants": []})
    pull = await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "mine"})
    await api.get(f"/customers/{customer['id']}", token=rival.token, expect=404)
    await api.get(f"/licenses/{lic['id']}", token=rival.token, expect=404)
    await api.delete(f"/pull-tokens/{pull['id']}", token=rival.token, expect=404)
    await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "x"}, token=rival.token, expect=404)
    await api.post(
        "/licenses", {"customer_id": customer["id"], "name": "x", "grants": []}, token=rival.token, expect=404
    )
    assert customer["id"] not in {c["id"] for c in (await api.get("/customers?limit=200", token=rival.token))["items"]}


async def test_openapi_schema_is_served(wharf):
    r = await wharf.client.get("/api/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/customers" in paths and "/api/v1/licenses/{license_id}" in paths
    assert not any(p.startswith("/v2") or p == "/token" for p in paths)


async def test_pull_token_last_use_is_recorded_off_the_request_path(wharf, api, count_queries):
    customer = await api.post("/customers", {"name": "Last Used"})
    token = await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "ci"})
    count_queries.statements.clear()
    assert (await wharf.client.get("/v2/", headers={"Authorization": basic("x", token["token"])})).status_code == 200
    assert not [s for s in count_queries.statements if s.lstrip().upper().startswith("UPDATE")]
    listed = await api.get(f"/customers/{customer['id']}/pull-tokens")
    assert listed["items"][0]["last_used_at"] is None
    assert await wharf.app.state.registry.auth.policy.flush_last_used() >= 1
    listed = await api.get(f"/customers/{customer['id']}/pull-tokens")
    assert listed["items"][0]["last_used_at"] is not None


async def test_integers_beyond_any_column_answer_404_in_paths_and_400_elsewhere(wharf, api):
    for huge in (3_000_000_000, 2**63, 10**30):
        for path in (f"/customers/{huge}", f"/licenses/{huge}", f"/customers/{huge}/pull-tokens"):
            await api.get(path, expect=404)
        await api.delete(f"/pull-tokens/{huge}", expect=404)
        await api.get(f"/licenses?customer_id={huge}", expect=400)
        await api.get(f"/pulls?customer_id={huge}", expect=400)
        r = await api.post("/licenses", {"customer_id": huge, "name": "x", "grants": []}, expect=400)
        assert r["status_code"] == 400
    customer = await api.post("/customers", {"name": "Bounds"})
    for grace in (1_000_000_000, 2**40):
        await api.post(
            "/licenses", {"customer_id": customer["id"], "name": "x", "grants": [], "grace_days": grace}, expect=400
        )
    r = await api.post(
        "/licenses", {"customer_id": customer["id"], "name": "x", "grants": [], "valid_until": "9999-12-31"}, expect=400
    )
    assert r["extra"][0]["key"] == "valid_until"


async def test_names_in_any_script_work_and_control_characters_do_not(api):
    customer = await api.post("/customers", {"name": "株式会社 Prod ✓"})
    assert customer["name"] == "株式会社 Prod ✓"
    r = await api.post("/customers", {"name": "line\r\nbreak"}, expect=400)
    assert "control characters" in r["detail"]
    r = await api.post("/licenses", {"customer_id": customer["id"], "name": "x" * 201, "grants": []}, expect=400)
    assert r["extra"][0]["key"] == "name"


async def test_moments_at_the_ends_of_the_calendar_are_refused_not_crashed(api):
    customer = await api.post("/customers", {"name": "Calendar"})
    for moment in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"):
        r = await api.post(f"/customers/{customer['id']}/pull-tokens", {"name": "x", "expires_at": moment}, expect=400)
        assert r["extra"][0]["key"] == "expires_at"
