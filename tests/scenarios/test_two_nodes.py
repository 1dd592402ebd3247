"""Two `wharf serve` processes on one PostgreSQL database and one S3 bucket, as behind a load balancer:
what one node is told, the other enforces within seconds."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack, contextmanager

import httpx
import pytest

from tests.conftest import in_thread
from tests.support import postgres
from tests.support.oci import OCI_MANIFEST, image, sha256
from tests.support.server import LiveServer, start_server

pytestmark = pytest.mark.slow
WITHIN = 5.0  # seconds: what the product promises for changes to reach every node


def push(node: LiveServer, repo: str, tag: str, label: str) -> str:
    img = image(label)
    with httpx.Client(base_url=node.url, auth=("ci", node.token), timeout=60) as client:
        for data in img.blobs.values():
            r = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
            assert r.status_code == 201, r.text
        r = client.put(f"/v2/{repo}/manifests/{tag}", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, r.text
    return img.digest


def seconds_until(condition: Callable[[], bool]) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < WITHIN, f"not seen within {WITHIN} s"
        time.sleep(0.1)
    return time.monotonic() - started


@contextmanager
def two_nodes(postgres_base, s3_server, tmp_path, extra_env=None):
    """Nodes A and B on a new database and bucket prefix, with `extra_env` on both."""
    name = f"wharf_nodes_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(postgres_base, name))
    s3 = {**s3_server.env(f"nodes-{uuid.uuid4().hex[:8]}/"), **(extra_env or {})}
    a = start_server(tmp_path / "a", url, extra_env={**s3, "WHARF_NODE_NAME": "a"})
    b = start_server(tmp_path / "b", url, vendor="othervendor", extra_env={**s3, "WHARF_NODE_NAME": "b"})
    try:
        yield a, b
    finally:
        b.stop()
        a.stop()
        in_thread(asyncio.run, postgres.drop_database(postgres_base, name))


@pytest.fixture
def nodes(postgres_base, s3_server, tmp_path):
    with two_nodes(postgres_base, s3_server, tmp_path) as pair:
        yield pair


def test_what_one_node_is_told_the_other_enforces_within_seconds(nodes):
    a, b = nodes
    assert a.env["WHARF_DATA_DIR"] != b.env["WHARF_DATA_DIR"]  # nothing shared but the database and the bucket
    with ExitStack() as clients:
        enforce_across_nodes(*nodes, lambda **kw: clients.enter_context(httpx.Client(timeout=30, **kw)))


def enforce_across_nodes(a: LiveServer, b: LiveServer, client: Callable[..., httpx.Client]) -> None:
    """Changes made through A reach B within WITHIN seconds (A and B may be one server with several workers)."""
    repo = f"acme/nodes-{uuid.uuid4().hex[:8]}"
    one = push(a, repo, "1.0.0", "nodes-one")
    push(a, repo, "2.0.0", "nodes-two")
    api = client(base_url=a.url, headers={"Authorization": f"Bearer {a.token}"})
    vendor = client(base_url=b.url, auth=("ci", a.token), follow_redirects=True)

    # pushed through A, pulled whole through B (blobs by redirect to the shared bucket)
    r = vendor.get(f"/v2/{repo}/manifests/1.0.0")
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == one
    for layer in image("nodes-one").blobs:
        r = vendor.get(f"/v2/{repo}/blobs/{layer}")
        assert r.status_code == 200 and sha256(r.content) == layer

    customer = api.post("/api/v1/customers", json={"name": "Two Nodes"}).json()
    grants = [{"repository": repo, "tags": ["^1"]}]
    lic = api.post("/api/v1/licenses", json={"customer_id": customer["id"], "name": "Nodes", "grants": grants}).json()
    token = api.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "ci"}).json()
    pull = client(base_url=b.url, auth=("x", token["token"]))
    jwt = httpx.get(f"{b.url}/token", params={"service": b.host, "scope": f"repository:{repo}:pull"},
                    auth=("x", token["token"])).json()["token"]  # fmt: skip
    bearer = client(base_url=b.url, headers={"Authorization": f"Bearer {jwt}"})
    assert pull.get(f"/v2/{repo}/manifests/1.0.0").status_code == 200  # B's caches are warm now
    assert pull.get(f"/v2/{repo}/manifests/2.0.0").status_code == 403

    # a license edit through A
    api.patch(
        f"/api/v1/licenses/{lic['id']}", json={"grants": [{"repository": repo, "tags": ["^2"]}]}
    ).raise_for_status()
    license_took = seconds_until(
        lambda: (
            pull.get(f"/v2/{repo}/manifests/1.0.0").status_code == 403
            and bearer.get(f"/v2/{repo}/manifests/2.0.0").status_code == 200
        )
    )

    # a tag moved through A (a re-push of 2.0.0), and a tag deleted through A
    moved = push(a, repo, "2.0.0", "nodes-two-rebuilt")
    tag_took = seconds_until(
        lambda: vendor.get(f"/v2/{repo}/manifests/2.0.0").headers["Docker-Content-Digest"] == moved
    )
    api_v2 = client(base_url=a.url, auth=("ci", a.token))
    assert api_v2.delete(f"/v2/{repo}/manifests/1.0.0").status_code == 202
    delete_took = seconds_until(lambda: vendor.get(f"/v2/{repo}/manifests/1.0.0").status_code == 404)

    # a token revoked through A: its secret and the bearer JWT B handed out both stop working on B
    api.delete(f"/api/v1/pull-tokens/{token['id']}").raise_for_status()
    revoke_took = seconds_until(
        lambda: (
            pull.get(f"/v2/{repo}/manifests/2.0.0").status_code == 401
            and bearer.get(f"/v2/{repo}/manifests/2.0.0").status_code == 401
        )
    )
    print(
        f"\nnode B saw: license edit {license_took:.2f} s, tag move {tag_took:.2f} s, "
        f"tag delete {delete_took:.2f} s, token revocation {revoke_took:.2f} s"
    )
