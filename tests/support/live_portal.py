"""A customer of a live `wharf serve`, made through the API and signed in to its portal over plain HTTP,
and the commands that portal shows for each product, exactly as the page carries them."""

from __future__ import annotations

import html
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.oci import Image, sha256
from tests.support.server import LiveServer

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def vendor_api(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {server.token}"}, timeout=30
    )


def push(server: LiveServer, repo: str, img: Image, tag: str) -> None:
    """The vendor's CI pushing over plain HTTP with its token."""
    with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=60) as registry:
        for data in img.blobs.values():
            r = registry.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
            assert r.status_code == 201, r.text
        media_type = re.search(rb'"mediaType":\s*"([^"]+)"', img.manifest)
        headers = {
            "Content-Type": media_type.group(1).decode() if media_type else "application/vnd.oci.image.manifest.v1+json"
        }
        r = registry.put(f"/v2/{repo}/manifests/{tag}", content=img.manifest, headers=headers)
        assert r.status_code == 201, r.text


@dataclass
class LiveCustomer:
    id: int
    token: str
    portal: httpx.Client  # signed in as the customer's admin

    def page(self) -> str:
        r = self.portal.get("/portal/")
        assert r.status_code == 200, r.text[:500]
        return r.text

    def commands(self, repository: str) -> dict[str, str]:
        """tool -> the command its snippet shows for the newest version of `repository`."""
        card = re.search(rf'data-repository="{re.escape(repository)}">(.*?)</section>', self.page(), re.S)
        assert card, f"no card for {repository}"
        newest = card.group(1).split('<details class="older">', 1)[0]
        found = re.findall(r'data-tool="([^"]+)"[^>]*>.*?<pre><code>(.*?)</code></pre>', newest, re.S)
        return {tool: html.unescape(code) for tool, code in found}


def customer(server: LiveServer, api: httpx.Client, grants: list[dict[str, Any]]) -> LiveCustomer:
    """A customer with a license of `grants`, a pull token, and its admin signed in to the portal."""
    made = api.post("/customers", json={"name": f"Live {uuid.uuid4().hex[:6]}"})
    assert made.status_code == 201, made.text
    customer_id = made.json()["id"]
    r = api.post("/licenses", json={"customer_id": customer_id, "name": "Live Prod", "grants": grants})
    assert r.status_code == 201, r.text
    token = api.post(f"/customers/{customer_id}/pull-tokens", json={"name": "live"}).json()["token"]
    email = f"ops-{uuid.uuid4().hex[:6]}@live.test"
    invited = api.post(f"/customers/{customer_id}/invitations", json={"email": email, "role": "admin"})
    assert invited.status_code == 201, invited.text
    portal = httpx.Client(base_url=server.url, timeout=30)
    path = httpx.URL(invited.json()["accept_url"]).path
    form = portal.get(path)
    csrf = CSRF.search(form.text)
    assert csrf, form.text[:500]
    accepted = portal.post(path, data={"_csrf_token": csrf.group(1), "name": "Ops", "password": "long enough"})
    assert accepted.status_code == 303, accepted.text[:500]
    return LiveCustomer(customer_id, token, portal)
