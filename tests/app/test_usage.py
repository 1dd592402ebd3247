"""GET /api/v1/usage: a pull of a multi-arch tag counts once; HEADs are version checks; bytes add up."""

from __future__ import annotations

from tests.app.test_audit import customer_token, events
from tests.conftest import basic
from tests.registry.helpers import push_image, push_manifest
from tests.support.oci import OCI_INDEX, image, index, sha256


async def test_usage_counts_pulls_checks_clients_and_bytes(wharf):
    repo = wharf.repo("usage")
    amd, arm, single = image("usage", "amd64"), image("usage", "arm64"), image("usage-single")
    await push_image(wharf, repo, amd)
    await push_image(wharf, repo, arm)
    await push_manifest(wharf, repo, "1.0.0", index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    await push_image(wharf, repo, single, "1.1.0")
    await push_image(wharf, repo, image("usage-denied"), "2.0.0")
    ids, token = await customer_token(wharf, repo, ["^1"])
    auth = {"Authorization": basic("x", token)}

    # docker-style pull of the multi-arch tag: the index, then one platform, then its layer — twice
    for _ in range(2):
        await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)
        await wharf.client.get(f"/v2/{repo}/manifests/{amd.digest}", headers=auth)
        await wharf.client.get(f"/v2/{repo}/blobs/{sha256(amd.layers[0])}", headers=auth)
    await wharf.client.get(f"/v2/{repo}/manifests/1.1.0", headers=auth)
    for _ in range(3):
        await wharf.client.head(f"/v2/{repo}/manifests/1.1.0", headers=auth)
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    await wharf.app.state.audit_writer.drain()

    platform_fetches = await events(wharf, customer_id=ids["customer"]["id"], reference=amd.digest)
    assert [e.platform for e in platform_fetches] == ["linux/amd64", "linux/amd64"]
    assert {e.platform for e in await events(wharf, customer_id=ids["customer"]["id"], reference="1.0.0")} == {None}

    api = {"Authorization": f"Bearer {wharf.token}"}
    params = {"customer_id": ids["customer"]["id"]}
    by_tag = (await wharf.client.get("/api/v1/usage", params={**params, "group_by": "tag"}, headers=api)).json()
    rows = {row["tag"]: row for row in by_tag["items"]}
    # the index fetched twice counts once per minute (the two fetches may straddle a minute boundary);
    # its platform child is platform detail, not a pull
    minutes = {
        e.at.strftime("%H:%M")
        for e in await events(wharf, customer_id=ids["customer"]["id"], action="manifest.get", reference="1.0.0")
    }
    assert rows["1.0.0"]["pulls"] == len(minutes) == 1 or rows["1.0.0"]["pulls"] == len(minutes) == 2
    assert rows["1.1.0"]["pulls"] == 1 and rows["1.1.0"]["version_checks"] == 3
    assert rows["2.0.0"]["pulls"] == 0 and rows["2.0.0"]["denials"] == 1

    by_customer = (
        await wharf.client.get("/api/v1/usage", params={**params, "group_by": "customer"}, headers=api)
    ).json()["items"]
    assert len(by_customer) == 1
    total = by_customer[0]
    assert total["customer_id"] == ids["customer"]["id"] and total["pulls"] == 1 + len(minutes)
    assert total["unique_clients"] == 1
    expected_bytes = 2 * (len(index([(amd, "amd64"), (arm, "arm64")])) + len(amd.manifest) + len(amd.layers[0]))
    assert total["bytes"] == expected_bytes + len(single.manifest)
    by_day = (await wharf.client.get("/api/v1/usage", params={**params, "group_by": "day"}, headers=api)).json()
    assert all(len(row["day"]) == 10 and row["day"].count("-") == 2 for row in by_day["items"])  # YYYY-MM-DD
    for group in ("license", "repository", "day", "month"):
        r = await wharf.client.get("/api/v1/usage", params={**params, "group_by": group}, headers=api)
        assert r.status_code == 200 and sum(row["pulls"] for row in r.json()["items"]) == 1 + len(minutes), group
    r = await wharf.client.get("/api/v1/usage", params={"group_by": "planet"}, headers=api)
    assert r.status_code == 400
