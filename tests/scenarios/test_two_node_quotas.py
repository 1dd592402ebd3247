"""Two `wharf serve` processes on one PostgreSQL share one download quota: each counts in memory and
merges through the database, so a count made on one reaches the other within one merge interval, and
the quota can be exceeded by at most what the other node serves meanwhile (docs/operations.md)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.scenarios.test_two_nodes import push, seconds_until, two_nodes
from tests.support.server import LiveServer

pytestmark = pytest.mark.slow
MERGE_SECONDS = 1  # WHARF_QUOTA_MERGE_SECONDS on both nodes


@pytest.fixture
def quota_nodes(postgres_base, s3_server, tmp_path):
    env = {"WHARF_QUOTA_MERGE_SECONDS": str(MERGE_SECONDS)}
    with two_nodes(postgres_base, s3_server, tmp_path, env) as pair:
        yield pair


class Puller:
    def __init__(self, node: LiveServer, repo: str, secret: str) -> None:
        self.node, self.repo, self.secret = node, repo, secret

    def get(self, version: str) -> httpx.Response:
        return httpx.get(f"{self.node.url}/v2/{self.repo}/manifests/{version}", auth=("x", self.secret), timeout=30)

    def left(self, version: str = "1.0.0") -> int:
        """What this node believes is left of the day's pulls, asked with a version check (never a pull)."""
        r = httpx.head(f"{self.node.url}/v2/{self.repo}/manifests/{version}", auth=("x", self.secret), timeout=30)
        assert r.status_code == 200, r.status_code
        return int(re.search(r'"token-pulls-day";r=(\d+)', r.headers["RateLimit"])[1])


def test_two_nodes_share_one_quota_within_the_documented_bound(quota_nodes):
    a = quota_nodes[0]
    with httpx.Client(base_url=a.url, headers={"Authorization": f"Bearer {a.token}"}, timeout=30) as api:
        share_one_quota(*quota_nodes, api)


def share_one_quota(a: LiveServer, b: LiveServer, api: httpx.Client) -> None:
    repo = f"acme/quota-nodes-{uuid.uuid4().hex[:8]}"
    versions = [f"{n}.0.0" for n in range(1, 13)]
    for version in versions:
        push(a, repo, version, f"quota-nodes-{repo}-{version}")
    customer = api.post("/api/v1/customers", json={"name": "Two Node Quota"}).json()
    grants = [{"repository": repo, "tags": ["*"]}]
    api.post("/api/v1/licenses", json={"customer_id": customer["id"], "name": "Shared", "grants": grants})

    def token(limit: int) -> dict:
        body = {"name": f"ci-{limit}", "limits": {"pulls_per_day": limit}}
        return api.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json=body).json()

    def pulls_today(token_id: int) -> int:
        return int(api.get(f"/api/v1/pull-tokens/{token_id}").json()["usage"]["pulls_today"])

    # A serves two pulls of a quota of four; B learns of them within one merge interval
    shared = token(4)
    on_a, on_b = Puller(a, repo, shared["token"]), Puller(b, repo, shared["token"])
    assert [on_a.get(v).status_code for v in versions[:2]] == [200, 200]
    learned = seconds_until(lambda: on_b.left() == 2)
    assert [on_b.get(v).status_code for v in versions[2:4]] == [200, 200]
    refused = on_b.get(versions[4])
    assert refused.status_code == 429 and refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert "reached its limit of 4 pulls a day" in refused.json()["errors"][0]["message"]
    seconds_until(lambda: on_a.left() == 0)
    assert on_a.get(versions[5]).status_code == 429
    seconds_until(lambda: pulls_today(shared["id"]) == 4)  # every pull counted once, across both nodes

    # both serve at once, before either has merged the other's counts: each node still holds to the
    # quota with what it knows, so the quota is exceeded by at most what the other node served meanwhile
    racing = token(3)
    on_a, on_b = Puller(a, repo, racing["token"]), Puller(b, repo, racing["token"])
    served_a = sum(on_a.get(v).status_code == 200 for v in versions[:5])
    served_b = sum(on_b.get(v).status_code == 200 for v in versions[5:10])
    assert served_a == 3 and served_b <= 3  # over by at most B's, which it served not knowing of A's
    seconds_until(lambda: on_a.left() == 0 and on_b.left() == 0)
    assert on_a.get(versions[10]).status_code == 429 and on_b.get(versions[11]).status_code == 429
    seconds_until(lambda: pulls_today(racing["id"]) == served_a + served_b)
    print(f"\nnode B learned of node A's pulls in {learned:.2f} s; racing, the quota of 3 served {served_a + served_b}")
