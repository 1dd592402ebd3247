"""Helpers for the entitlement scenario: the vendor's pushes over HTTP, customers made through /api/v1,
real clients (skopeo, podman), raw requests that no client library normalises, and bounded polling."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import require_tool
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, Image, descriptor, image, index, sha256
from tests.support.server import LiveServer

DEADLINE = 5.0  # every change must bite within this
STEP = 0.2
SIGNATURE = "application/vnd.example.signature.v1"
EMPTY = "application/vnd.oci.empty.v1+json"


def eventually(check: Any, deadline: float = DEADLINE, what: str = "the change") -> float:
    """Poll `check` every 0.2 s until it holds; return the seconds it took; fail past the deadline."""
    started = time.monotonic()
    while True:
        if check():
            return time.monotonic() - started
        elapsed = time.monotonic() - started
        assert elapsed < deadline, f"{what} did not take effect within {deadline:.0f} s"
        time.sleep(STEP)


def error(r: httpx.Response) -> dict[str, Any]:
    """The first OCI error of a response body."""
    body = r.json()
    assert "errors" in body, f"{r.status_code} without an OCI error body: {r.text[:300]}"
    return dict(body["errors"][0])


def jwt_claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    body: bytes


def raw_request(server: LiveServer, method: str, path: str, token: str, headers: dict[str, str] | None = None) -> Raw:
    """A request whose path goes on the wire byte for byte (httpx would resolve `..` itself)."""
    host, port = server.host.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        auth = "Basic " + base64.b64encode(f"x:{token}".encode()).decode()
        conn.request(method, path, headers={"Authorization": auth, **(headers or {})})
        response = conn.getresponse()
        return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@dataclass
class Customer:
    """A customer made through the API, with (optionally) one license and one pull token."""

    id: int
    name: str
    license: dict[str, Any] | None
    pull_token: dict[str, Any]
    http: httpx.Client

    @property
    def token(self) -> str:
        return str(self.pull_token["token"])


@dataclass
class World:
    """What the vendor pushed, and clients to speak as the vendor (API and registry)."""

    server: LiveServer
    api: httpx.Client
    vendor: httpx.Client
    repo: str
    other_repo: str  # pushed, never licensed
    extra_repo: str  # pushed and licensed (all tags): content there is its own
    nested_repo: str  # `<repo>/nested`: not covered by a grant naming `<repo>`
    prefix_repo: str  # `<repo>-beta`: shares the licensed name as a prefix, not covered either
    images: dict[str, Image]
    amd: Image
    arm: Image
    multi: bytes
    other_image: Image
    extra_image: Image
    signatures: dict[str, bytes] = field(default_factory=dict)
    signature_payloads: dict[str, bytes] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    # -- the vendor pushing --------------------------------------------------------------------
    def push_blob(self, repo: str, data: bytes) -> None:
        r = self.vendor.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
        assert r.status_code == 201, r.text

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str = OCI_MANIFEST) -> None:
        r = self.vendor.put(f"/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type})
        assert r.status_code == 201, r.text

    def push_image(self, repo: str, img: Image, tag: str | None = None) -> None:
        for data in img.blobs.values():
            self.push_blob(repo, data)
        self.put_manifest(repo, tag or img.digest, img.manifest)

    def sign(self, repo: str, subject: bytes, label: str) -> tuple[bytes, bytes]:
        """Push a signature artifact (by digest, untagged) whose subject is `subject`."""
        payload = json.dumps({"signed": sha256(subject), "by": label}).encode()
        self.push_blob(repo, b"{}")
        self.push_blob(repo, payload)
        sig = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "artifactType": SIGNATURE,
                "config": descriptor(EMPTY, b"{}"),
                "layers": [descriptor(SIGNATURE, payload)],
                "subject": descriptor(OCI_MANIFEST, subject),
            }
        ).encode()
        self.put_manifest(repo, sha256(sig), sig)
        return sig, payload

    # -- the vendor's account manager ----------------------------------------------------------
    def customer(self, label: str, grants: list[dict[str, Any]] | None = None, **license_fields: Any) -> Customer:
        """A new customer; with `grants`, a license named '<label> Prod'; always one pull token."""
        r = self.api.post("/customers", json={"name": f"{label} {uuid.uuid4().hex[:6]}"})
        assert r.status_code == 201, r.text
        customer = r.json()
        lic = None
        if grants is not None:
            body = {"customer_id": customer["id"], "name": f"{label} Prod", "grants": grants, **license_fields}
            r = self.api.post("/licenses", json=body)
            assert r.status_code == 201, r.text
            lic = r.json()
        r = self.api.post(f"/customers/{customer['id']}/pull-tokens", json={"name": f"{label} ci"})
        assert r.status_code == 201, r.text
        token = r.json()
        http = httpx.Client(base_url=self.server.url, auth=("any", token["token"]), timeout=30)
        self.clients.append(http)
        return Customer(customer["id"], customer["name"], lic, token, http)

    def patch_license(self, customer: Customer, **changes: Any) -> dict[str, Any]:
        assert customer.license is not None
        r = self.api.patch(f"/licenses/{customer.license['id']}", json=changes)
        assert r.status_code == 200, r.text
        return dict(r.json())

    # -- speaking the token flow ---------------------------------------------------------------
    def token_response(self, secret: str, *scopes: str, **params: str) -> httpx.Response:
        query: list[tuple[str, str]] = [("service", self.server.host), *(("scope", s) for s in scopes)]
        query += list(params.items())
        return httpx.get(f"{self.server.url}/token", params=query, auth=("any", secret), timeout=30)

    def bearer(self, secret: str, *scopes: str) -> str:
        r = self.token_response(secret, *scopes)
        assert r.status_code == 200, r.text
        return str(r.json()["token"])

    def with_bearer(self, method: str, path: str, jwt: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {jwt}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.server.url + path, headers=headers, timeout=30, **kwargs)

    def as_basic(self, method: str, path: str, secret: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.server.url + path, auth=("x", secret), timeout=30, **kwargs)

    def close(self) -> None:
        for client in (self.api, self.vendor, *self.clients):
            client.close()


def build_world(server: LiveServer) -> World:
    suffix = uuid.uuid4().hex[:6]
    api = httpx.Client(base_url=server.url + "/api/v1", timeout=30, headers={"Authorization": f"Bearer {server.token}"})
    vendor = httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=30)
    amd, arm = image(f"multi-{suffix}", "amd64"), image(f"multi-{suffix}", "arm64")
    world = World(
        server=server,
        api=api,
        vendor=vendor,
        repo=f"acme/app-{suffix}",
        other_repo=f"acme/other-{suffix}",
        extra_repo=f"acme/extra-{suffix}",
        nested_repo=f"acme/app-{suffix}/nested",
        prefix_repo=f"acme/app-{suffix}-beta",
        images={tag: image(f"app-{suffix}-{tag}") for tag in ("v1.0.0", "v1.5.0", "v2.0.0")},
        amd=amd,
        arm=arm,
        multi=index([(amd, "amd64"), (arm, "arm64")]),
        other_image=image(f"other-{suffix}"),
        extra_image=image(f"extra-{suffix}"),
    )
    for tag, img in world.images.items():
        world.push_image(world.repo, img, tag)
    world.push_image(world.repo, amd)
    world.push_image(world.repo, arm)
    world.put_manifest(world.repo, "v1.6.0", world.multi, OCI_INDEX)
    for tag in ("v1.5.0", "v2.0.0"):
        sig, payload = world.sign(world.repo, world.images[tag].manifest, f"{suffix}-{tag}")
        world.signatures[tag], world.signature_payloads[tag] = sig, payload
    world.push_image(world.other_repo, world.other_image, "v1.0.0")
    world.push_image(world.extra_repo, world.extra_image, "v1.0.0")
    world.push_image(world.nested_repo, image(f"nested-{suffix}"), "v1.0.0")
    world.push_image(world.prefix_repo, image(f"beta-{suffix}"), "v1.0.0")
    return world


# -- real clients --------------------------------------------------------------------------------
def skopeo_copy(
    server: LiveServer, token: str, ref: str, layout: Path, tag: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`skopeo copy docker://HOST/ref oci:layout:tag` with the token as password."""
    return subprocess.run(
        [
            require_tool("skopeo"),
            "--insecure-policy",
            "copy",
            *extra,
            "--src-tls-verify=false",
            "--src-creds",
            f"x:{token}",
            f"docker://{server.host}/{ref}",
            f"oci:{layout}:{tag}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def layout_top(layout: Path, tag: str) -> dict[str, Any]:
    """The descriptor a skopeo-written OCI layout keeps for `tag`."""
    entries = json.loads((layout / "index.json").read_text())["manifests"]
    found = [e for e in entries if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag]
    assert len(found) == 1, entries
    return dict(found[0])


def layout_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()


def podman(root: Path, runroot: str, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """podman on vfs storage of its own; `runroot` must stay the same across calls on one `root`."""
    return subprocess.run(
        [
            require_tool("podman"),
            "--storage-driver",
            "vfs",
            "--root",
            str(root),
            "--runroot",
            runroot,
            "--events-backend",
            "none",
            "--cgroup-manager",
            "cgroupfs",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": str(home)},
    )


def bootstrap_vendor(server: LiveServer, slug: str) -> str:
    """`wharf bootstrap` against the live server's database; the token is the last line printed."""
    boot = subprocess.run(
        [
            str(Path(sys.executable).parent / "wharf"),
            "bootstrap",
            "--vendor",
            slug,
            "--email",
            f"admin@{slug}.test",
            "--password",
            "another-long-password",
        ],
        env=server.env,
        capture_output=True,
        text=True,
    )
    assert boot.returncode == 0, f"wharf bootstrap failed:\n{boot.stderr[-3000:]}"
    return boot.stdout.strip().splitlines()[-1]


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
