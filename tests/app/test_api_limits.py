"""Networks and limits through /api/v1: pull tokens (POST, GET, PATCH) and licenses (limits, token defaults)."""

from __future__ import annotations

NO_LIMITS = {"pulls_per_day": None, "pulls_per_month": None, "bytes_per_month": None}


async def call(wharf, method, path, json=None, token=None, expect=200):
    headers = {"Authorization": f"Bearer {token or wharf.token}"}
    r = await wharf.client.request(method, f"/api/v1{path}", json=json, headers=headers)
    assert r.status_code == expect, r.text
    return r.json() if r.content else None


async def test_pull_token_networks_and_limits(wharf):
    customer = await call(wharf, "POST", "/customers", {"name": "API Limits"}, expect=201)
    tokens = f"/customers/{customer['id']}/pull-tokens"
    bad = await call(wharf, "POST", tokens, {"name": "x", "allowed_cidrs": ["10.0.0.0/8", "999.1.1.1"]}, expect=400)
    assert bad["extra"][0]["key"] == "allowed_cidrs[1]"
    bad = await call(wharf, "POST", tokens, {"name": "x", "limits": {"pulls_per_day": 0}}, expect=400)
    assert bad["extra"][0]["key"] == "limits.pulls_per_day"
    await call(wharf, "POST", tokens, {"name": "x", "limits": {"pulls_a_year": 5}}, expect=400)

    token = await call(wharf, "POST", tokens, {"name": "ci", "limits": {"pulls_per_day": 10}}, expect=201)
    assert token["allowed_cidrs"] == [] and token["limits"] == {**NO_LIMITS, "pulls_per_day": 10}
    changed = await call(wharf, "PATCH", f"/pull-tokens/{token['id']}", {"allowed_cidrs": ["192.0.2.9"]})
    assert changed["allowed_cidrs"] == ["192.0.2.9/32"] and changed["limits"]["pulls_per_day"] == 10  # untouched
    assert changed["usage"] == {"pulls_today": 0, "pulls_this_month": 0, "bytes_this_month": 0}
    changed = await call(wharf, "PATCH", f"/pull-tokens/{token['id']}", {"limits": None, "name": "edge"})
    assert changed["limits"] == NO_LIMITS and changed["name"] == "edge"
    await call(wharf, "PATCH", f"/pull-tokens/{token['id']}", {"kind": "api"}, expect=400)
    await call(wharf, "PATCH", "/pull-tokens/999999", {"name": "x"}, expect=404)
    listed = await call(wharf, "GET", tokens)
    assert [t["allowed_cidrs"] for t in listed["items"]] == [["192.0.2.9/32"]]

    support = await call(wharf, "POST", "/tokens", {"name": "support", "role": "support"}, expect=201)
    await call(wharf, "GET", f"/pull-tokens/{token['id']}", token=support["token"])
    await call(wharf, "PATCH", f"/pull-tokens/{token['id']}", {"limits": None}, token=support["token"], expect=403)


async def test_license_limits_and_token_defaults(wharf):
    customer = await call(wharf, "POST", "/customers", {"name": "API License Limits"}, expect=201)
    body = {
        "customer_id": customer["id"],
        "name": "Metered",
        "grants": [{"repository": "acme/app", "tags": ["*"]}],
        "limits": {"bytes_per_month": 5 * 10**9},
        "token_defaults": {"allowed_cidrs": ["10.0.0.0/8"], "limits": {"pulls_per_month": 100}},
    }
    lic = await call(wharf, "POST", "/licenses", body, expect=201)
    assert lic["limits"] == {**NO_LIMITS, "bytes_per_month": 5 * 10**9}
    assert lic["token_defaults"] == {"allowed_cidrs": ["10.0.0.0/8"], "limits": {**NO_LIMITS, "pulls_per_month": 100}}
    assert lic["usage"] == {"pulls_today": 0, "pulls_this_month": 0, "bytes_this_month": 0}
    token = await call(wharf, "POST", f"/customers/{customer['id']}/pull-tokens", {"name": "ci"}, expect=201)
    assert token["allowed_cidrs"] == ["10.0.0.0/8"] and token["limits"]["pulls_per_month"] == 100  # the defaults

    lic = await call(wharf, "PATCH", f"/licenses/{lic['id']}", {"token_defaults": None, "limits": {"pulls_per_day": 7}})
    assert lic["token_defaults"] == {"allowed_cidrs": [], "limits": NO_LIMITS}
    assert lic["limits"] == {**NO_LIMITS, "pulls_per_day": 7}
    bad = await call(wharf, "PATCH", f"/licenses/{lic['id']}", {"token_defaults": {"allowed_cidrs": ["x"]}}, expect=400)
    assert bad["extra"][0]["key"] == "token_defaults.allowed_cidrs[0]"
    listed = await call(wharf, "GET", f"/licenses?customer_id={customer['id']}")
    assert listed["items"][0]["limits"]["pulls_per_day"] == 7 and "usage" in listed["items"][0]
