"""The entitlement scenario with real clients, against a live `wharf serve`.

A vendor pushes v1.0.0, v1.5.0, v2.0.0, a multi-arch v1.6.0 and signatures for v1.5.0 and v2.0.0;
a customer's license grants `>=1.0.0 <2.0.0`. Attack cases tried (each a test below):
- v2.0.0 by tag, by digest, by its unique layer, by its signature's digest, by HEAD and by Range;
- the denied digest through another repository the customer is licensed for;
- path tricks: `..`, encoded slashes, upper case;
- a pull token asking the token endpoint for push, delete and catalog scopes;
- a refresh token used as an access token; a JWT whose `access` claim was edited;
- pushing, mounting and deleting with a pull token;
- a second customer without a license, and a second vendor, reaching the first vendor's content;
- JWTs issued before a suspension, a grant edit or a revocation.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.clients.conftest import Skopeo
from tests.conftest import require_tool
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, descriptor, image, index, sha256
from tests.support.server import start_server

pytestmark = pytest.mark.clients
DEADLINE = 5.0


class World:
    """The vendor's pushes, a customer with a license, and helpers to speak as either."""

    def __init__(self, server, tmp_path) -> None:
        self.server, self.tmp = server, tmp_path
        self.api = httpx.Client(
            base_url=server.url + "/api/v1", timeout=30, headers={"Authorization": f"Bearer {server.token}"}
        )
        self.vendor = httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=30)
        self.repo = f"acme/app-{uuid.uuid4().hex[:6]}"
        self.other_repo = f"acme/other-{uuid.uuid4().hex[:6]}"
        self.images = {tag: image(f"scenario-{tag}") for tag in ("v1.0.0", "v1.5.0", "v2.0.0")}
        self.amd, self.arm = image("scenario-multi", "amd64"), image("scenario-multi", "arm64")
        self.multi = index([(self.amd, "amd64"), (self.arm, "arm64")])
        for tag, img in self.images.items():
            self.push_image(self.repo, img, tag)
        self.push_image(self.repo, self.amd)
        self.push_image(self.repo, self.arm)
        self.put_manifest(self.repo, "v1.6.0", self.multi, OCI_INDEX)
        self.push_image(self.other_repo, image("scenario-other"), "v1.0.0")
        self.signatures = {tag: self.sign(self.images[tag].manifest) for tag in ("v1.5.0", "v2.0.0")}

        self.customer = self.api.post("/customers", json={"name": f"Globex {uuid.uuid4().hex[:4]}"}).json()
        self.license = self.api.post(
            "/licenses",
            json={
                "customer_id": self.customer["id"],
                "name": "Globex Prod",
                "grants": [{"repository": self.repo, "tags": [">=1.0.0 <2.0.0"]}],
            },
        ).json()
        self.pull_token = self.api.post(f"/customers/{self.customer['id']}/pull-tokens", json={"name": "ci"}).json()
        self.customer_http = httpx.Client(base_url=server.url, auth=("any", self.pull_token["token"]), timeout=30)

    def push_image(self, repo, img, tag=None):
        for data in img.blobs.values():
            r = self.vendor.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
            assert r.status_code == 201, r.text
        self.put_manifest(repo, tag or img.digest, img.manifest)

    def put_manifest(self, repo, ref, body, media_type=OCI_MANIFEST):
        r = self.vendor.put(f"/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, r.text

    def sign(self, subject: bytes) -> bytes:
        payload = json.dumps({"signed": sha256(subject)}).encode()
        for data in (b"{}", payload):
            self.vendor.post(f"/v2/{self.repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
        sig = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": "application/x.sig",
                "config": descriptor("application/vnd.oci.empty.v1+json", b"{}"),
                "layers": [descriptor("application/x.sig", payload)],
                "subject": descriptor(OCI_MANIFEST, subject),
            }
        ).encode()
        self.put_manifest(self.repo, sha256(sig), sig)
        return sig

    def patch_license(self, **changes):
        r = self.api.patch(f"/licenses/{self.license['id']}", json=changes)
        assert r.status_code == 200, r.text

    def bearer(self, token: str, scope: str) -> str:
        r = httpx.get(
            f"{self.server.url}/token", params={"scope": scope, "service": self.server.host}, auth=("any", token)
        )
        assert r.status_code == 200
        return r.json()["token"]


@pytest.fixture(scope="module")
def world(live_server, tmp_path_factory):
    w = World(live_server, tmp_path_factory.mktemp("scenario"))
    yield w
    for client in (w.api, w.vendor, w.customer_http):
        client.close()


def eventually(check, deadline=DEADLINE) -> float:
    """Poll `check` until it holds; return how long that took (fails past the deadline)."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        assert time.monotonic() - started < deadline, "the change did not take effect within 5 s"
        time.sleep(0.2)


def code(r) -> str:
    return r.json()["errors"][0]["code"]


def test_customer_pulls_entitled_tags_with_skopeo_and_podman(world, tmp_path):
    skopeo = Skopeo(world.server.host, world.pull_token["token"])
    for tag in ("v1.0.0", "v1.5.0"):
        skopeo.pull(f"{world.repo}:{tag}", tmp_path / tag, tag)
    skopeo.pull(f"{world.repo}:v1.6.0", tmp_path / "multi", "v1.6.0", "--all")
    denied = skopeo.pull(f"{world.repo}:v2.0.0", tmp_path / "no", "v2.0.0", check=False)
    assert denied.returncode != 0 and "tag v2.0.0 is not covered by license 'Globex Prod'" in denied.stderr

    podman = require_tool("podman")
    with tempfile.TemporaryDirectory(prefix="wp-") as runroot:
        result = subprocess.run(
            [
                podman,
                "--storage-driver",
                "vfs",
                "--root",
                str(tmp_path / "root"),
                "--runroot",
                runroot,
                "--events-backend",
                "none",
                "--cgroup-manager",
                "cgroupfs",
                "pull",
                "--tls-verify=false",
                "--creds",
                f"x:{world.pull_token['token']}",
                f"{world.server.host}/{world.repo}:v1.5.0",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": str(tmp_path)},
        )
    assert result.returncode == 0, result.stderr


def test_denied_by_tag_digest_blob_signature_head_and_range(world):
    c, v2 = world.customer_http, world.images["v2.0.0"]
    r = c.get(f"/v2/{world.repo}/manifests/v2.0.0")
    assert r.status_code == 403 and code(r) == "DENIED"
    assert r.json()["errors"][0]["message"] == "tag v2.0.0 is not covered by license 'Globex Prod'"
    assert c.get(f"/v2/{world.repo}/manifests/{v2.digest}").status_code == 403
    assert c.head(f"/v2/{world.repo}/manifests/{v2.digest}").status_code == 403
    layer = sha256(v2.layers[0])
    assert c.get(f"/v2/{world.repo}/blobs/{layer}").status_code == 403
    assert c.head(f"/v2/{world.repo}/blobs/{layer}").status_code == 403
    assert c.get(f"/v2/{world.repo}/blobs/{layer}", headers={"Range": "bytes=0-10"}).status_code == 403
    assert c.get(f"/v2/{world.repo}/manifests/{sha256(world.signatures['v2.0.0'])}").status_code == 403
    # what is licensed stays readable by digest, through index children and signatures too
    assert c.get(f"/v2/{world.repo}/manifests/{world.images['v1.0.0'].digest}").status_code == 200
    assert c.get(f"/v2/{world.repo}/manifests/{world.arm.digest}").status_code == 200
    assert c.get(f"/v2/{world.repo}/blobs/{sha256(world.arm.layers[0])}").status_code == 200
    assert c.get(f"/v2/{world.repo}/manifests/{sha256(world.signatures['v1.5.0'])}").status_code == 200


def test_listings_show_only_what_the_license_covers(world):
    c = world.customer_http
    assert c.get(f"/v2/{world.repo}/tags/list").json()["tags"] == ["v1.0.0", "v1.5.0", "v1.6.0"]
    assert c.get(f"/v2/{world.repo}/tags/list", params={"n": 2}).json()["tags"] == ["v1.0.0", "v1.5.0"]
    assert c.get("/v2/_catalog").json()["repositories"] == [world.repo]
    for path in (f"/v2/{world.other_repo}/tags/list", f"/v2/{world.other_repo}/manifests/v1.0.0"):
        assert c.get(path).status_code == 404
    listed = c.get(f"/v2/{world.repo}/referrers/{world.images['v1.5.0'].digest}").json()["manifests"]
    assert [d["digest"] for d in listed] == [sha256(world.signatures["v1.5.0"])]
    assert c.get(f"/v2/{world.repo}/referrers/{world.images['v2.0.0'].digest}").json()["manifests"] == []


def test_a_pull_token_cannot_write(world):
    c, data = world.customer_http, b"customer bytes"
    r = c.post(f"/v2/{world.repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
    assert r.status_code == 403
    layer = sha256(world.images["v2.0.0"].layers[0])
    assert c.post(f"/v2/{world.repo}/blobs/uploads/", params={"mount": layer, "from": world.repo}).status_code == 403
    assert c.delete(f"/v2/{world.repo}/manifests/v1.0.0").status_code == 403
    assert (
        c.put(
            f"/v2/{world.repo}/manifests/v9",
            content=world.images["v1.0.0"].manifest,
            headers={"Content-Type": OCI_MANIFEST},
        ).status_code
        == 403
    )
    jwt = world.bearer(world.pull_token["token"], f"repository:{world.repo}:pull,push,delete")
    access = json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))["access"]
    assert access == [{"type": "repository", "name": world.repo, "actions": ["pull"]}]


def test_path_tricks_and_other_repositories(world):
    c, v2 = world.customer_http, world.images["v2.0.0"]
    for path in (
        f"/v2/{world.repo}/../{world.other_repo}/tags/list",
        f"/v2/{world.repo.upper()}/tags/list",
        f"/v2/{world.other_repo.replace('/', '%2F')}/tags/list",
    ):
        assert c.get(path).status_code in (400, 404), path
    # an encoded slash names the same repository, not another one
    assert c.get(f"/v2/{world.repo.replace('/', '%2F')}/tags/list").json()["name"] == world.repo
    # the v2.0.0 manifest cannot be fetched through a repository that does not hold it
    assert c.get(f"/v2/{world.other_repo}/manifests/{v2.digest}").status_code == 404


def test_forged_and_misused_tokens(world):
    token = world.pull_token["token"]
    jwt = world.bearer(token, f"repository:{world.repo}:pull")
    head, payload, sig = jwt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["access"][0]["name"] = world.other_repo
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    r = httpx.get(
        f"{world.server.url}/v2/{world.other_repo}/tags/list",
        headers={"Authorization": f"Bearer {head}.{forged}.{sig}"},
    )
    assert r.status_code == 401
    refresh = httpx.get(f"{world.server.url}/token", params={"offline_token": "true"}, auth=("x", token))
    r = httpx.get(
        f"{world.server.url}/v2/{world.repo}/tags/list",
        headers={"Authorization": f"Bearer {refresh.json()['refresh_token']}"},
    )
    assert r.status_code == 401


def test_another_customer_and_another_vendor_see_nothing(world, live_server):
    stranger = world.api.post("/customers", json={"name": "Stranger"}).json()
    tok = world.api.post(f"/customers/{stranger['id']}/pull-tokens", json={"name": "s"}).json()["token"]
    with httpx.Client(base_url=world.server.url, auth=("x", tok)) as s:
        assert s.get("/v2/_catalog").json()["repositories"] == []
        assert s.get(f"/v2/{world.repo}/manifests/v1.0.0").status_code == 404
    slug = f"rival{uuid.uuid4().hex[:4]}"
    boot = subprocess.run(
        [
            str(Path(sys.executable).parent / "wharf"),
            "bootstrap",
            "--vendor",
            slug,
            "--email",
            f"a@{slug}.test",
            "--password",
            "long-enough",
        ],
        env=live_server.env,
        capture_output=True,
        text=True,
        check=True,
    )
    rival = boot.stdout.strip().splitlines()[-1]
    r = httpx.get(
        f"{world.server.url}/api/v1/customers/{world.customer['id']}", headers={"Authorization": f"Bearer {rival}"}
    )
    assert r.status_code == 404
    assert httpx.get(f"{world.server.url}/v2/{world.repo}/manifests/v1.0.0", auth=("x", rival)).status_code == 404
    assert httpx.get(f"{world.server.url}/v2/_catalog", auth=("x", rival)).json()["repositories"] == []


def test_changes_bite_within_seconds_even_for_issued_jwts(world, record_property):
    c = world.customer_http
    jwt = world.bearer(world.pull_token["token"], f"repository:{world.repo}:pull")
    bearer = {"Authorization": f"Bearer {jwt}"}
    url = f"/v2/{world.repo}/manifests/v1.5.0"
    delays = {}

    soon = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    world.patch_license(valid_until=soon.isoformat())
    delays["warning"] = eventually(lambda: "299" in c.get(url).headers.get("warning", ""))
    assert f"expires on {soon:%Y-%m-%d}" in c.get(url).headers["warning"]

    world.patch_license(valid_until=(datetime.now(UTC) - timedelta(days=1)).isoformat())
    delays["expiry"] = eventually(lambda: c.get(url).status_code == 403)
    assert "expired on" in c.get(url).json()["errors"][0]["message"]
    assert c.get("/v2/_catalog").json()["repositories"] == []  # addressable to explain, but not listed
    world.patch_license(valid_until=None)
    eventually(lambda: c.get(url).status_code == 200)

    world.patch_license(status="suspended")
    delays["suspension (JWT)"] = eventually(
        lambda: httpx.get(world.server.url + url, headers=bearer).status_code == 403
    )
    assert "suspended" in c.get(url).json()["errors"][0]["message"]
    world.patch_license(status="active")
    eventually(lambda: c.get(url).status_code == 200)

    world.patch_license(grants=[{"repository": world.repo, "tags": [">=2.0.0"]}])
    delays["grant edit"] = eventually(lambda: c.get(f"/v2/{world.repo}/manifests/v2.0.0").status_code == 200)
    assert c.get(f"/v2/{world.repo}/manifests/v1.0.0").status_code == 403
    world.patch_license(grants=[{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    eventually(lambda: c.get(url).status_code == 200)

    extra = world.api.post(f"/customers/{world.customer['id']}/pull-tokens", json={"name": "temp"}).json()
    temp_jwt = world.bearer(extra["token"], f"repository:{world.repo}:pull")
    assert httpx.get(world.server.url + url, auth=("x", extra["token"])).status_code == 200
    assert world.api.delete(f"/pull-tokens/{extra['id']}").status_code == 204
    delays["revocation"] = eventually(
        lambda: httpx.get(world.server.url + url, auth=("x", extra["token"])).status_code == 401
    )
    delays["revocation (JWT)"] = eventually(
        lambda: httpx.get(world.server.url + url, headers={"Authorization": f"Bearer {temp_jwt}"}).status_code == 401
    )
    print("\nmeasured delays: " + ", ".join(f"{k} {v:.1f} s" for k, v in delays.items()))
    record_property("delays", delays)


def test_a_second_node_enforces_changes_within_seconds(world, live_server):
    """Another process on the same database learns of a suspension and a revocation through its
    short credential and license caches (WHARF_CREDENTIAL_CACHE_SECONDS, 2 s by default)."""
    data_dir = Path(live_server.env["WHARF_DATA_DIR"])
    node_b = start_server(data_dir, live_server.env["WHARF_DATABASE_URL"], vendor=f"node{uuid.uuid4().hex[:4]}")
    try:
        url = f"{node_b.url}/v2/{world.repo}/manifests/v1.5.0"
        token = world.pull_token["token"]
        assert httpx.get(url, auth=("x", token)).status_code == 200  # node B caches the good state
        world.patch_license(status="suspended")
        suspended = eventually(lambda: httpx.get(url, auth=("x", token)).status_code == 403)
        world.patch_license(status="active")
        eventually(lambda: httpx.get(url, auth=("x", token)).status_code == 200)
        extra = world.api.post(f"/customers/{world.customer['id']}/pull-tokens", json={"name": "node-b"}).json()
        assert httpx.get(url, auth=("x", extra["token"])).status_code == 200
        world.api.delete(f"/pull-tokens/{extra['id']}")
        revoked = eventually(lambda: httpx.get(url, auth=("x", extra["token"])).status_code == 401)
        print(f"\nsecond node: suspension after {suspended:.1f} s, revocation after {revoked:.1f} s")
    finally:
        node_b.stop()
