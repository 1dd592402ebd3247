"""What the benchmark sets up in Wharf through its own interfaces: customers, each with a license with tag rules
over the bench repositories and a pull token (the automation API, like a vendor's script), and a repository
with many tags (manifest PUTs with `?tag=`)."""

from __future__ import annotations

import base64

import httpx

from bench.clients import OCI_MANIFEST
from bench.servers import Server

# Two rules, so the decision really runs: a glob that matches the bench's tag (v1) and a semver range.
TAG_RULES = ["v*", ">=1.0.0 <3.0.0"]


def _api_token(server: Server) -> str:
    assert server.creds is not None
    return server.creds.split(":", 1)[1]


def customer_tokens(server: Server, count: int, repositories: str = "bench/**") -> list[str]:
    """`count` customers, each licensed for `repositories` under TAG_RULES; their pull tokens."""
    headers = {"Authorization": f"Bearer {_api_token(server)}"}
    tokens = []
    with httpx.Client(base_url=f"http://{server.host}", headers=headers, timeout=30) as api:
        for i in range(count):
            customer = api.post("/api/v1/customers", json={"name": f"Bench customer {i}"})
            customer.raise_for_status()
            customer_id = customer.json()["id"]
            grant = {"repository": repositories, "tags": TAG_RULES}
            body = {"customer_id": customer_id, "name": f"Bench license {i}", "grants": [grant]}
            api.post("/api/v1/licenses", json=body).raise_for_status()
            token = api.post(f"/api/v1/customers/{customer_id}/pull-tokens", json={"name": f"bench-{i}"})
            token.raise_for_status()
            tokens.append(str(token.json()["token"]))
    return tokens


def basic(token: str) -> dict[str, str]:
    """The Authorization header a registry client sends for a pull token (any user name)."""
    return {"Authorization": "Basic " + base64.b64encode(f"customer:{token}".encode()).decode()}


def many_tags(server: Server, repository: str, count: int = 10_000) -> None:
    """`count` more tags on the manifest tagged v1 in `repository`, half of them versions (`a.b.0`) and half
    `v<n>`, put as the same manifest with `?tag=` (500 per request)."""
    user, token = (server.creds or ":").split(":", 1)
    with httpx.Client(base_url=f"http://{server.host}", auth=(user, token), timeout=300) as client:
        r = client.get(f"/v2/{repository}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        r.raise_for_status()
        digest, manifest = r.headers["docker-content-digest"], r.content
        for start in range(0, count, 500):
            tags = [f"{i // 100}.{i % 100}.0" if i % 2 else f"v{i}" for i in range(start, min(start + 500, count))]
            query = "&".join(f"tag={tag}" for tag in tags)
            put = client.put(
                f"/v2/{repository}/manifests/{digest}?{query}", content=manifest, headers={"Content-Type": OCI_MANIFEST}
            )
            if put.status_code != 201:
                raise RuntimeError(f"tagging failed ({put.status_code}): {put.text}")
