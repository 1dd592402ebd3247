"""Pull token restrictions on the registry path: networks, pull and byte quotas with the IETF RateLimit
headers, and the request rate. Addresses come through a trusted proxy (X-Forwarded-For from loopback);
the quota clock is pinned, so "the same minute" never depends on when the test runs."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from ipaddress import ip_network

import pytest
from sqlalchemy import select

from app.models import DownloadEvent
from app.rate_limit import RateLimiter
from tests.conftest import basic
from tests.registry.helpers import error_code, push_image, push_manifest
from tests.support.oci import OCI_INDEX, image, index, sha256

NOON = datetime(2031, 5, 14, 12, 0, 30, tzinfo=UTC)  # a pinned moment: 43,170 s until the UTC day ends
MONTH_LEFT = int((datetime(2031, 6, 1, tzinfo=UTC) - NOON).total_seconds())  # May has 31 days


@pytest.fixture
def proxied(wharf, monkeypatch):
    """Requests come from a trusted proxy on loopback; the quota clock (and the usage pages') stands still at NOON."""
    registry, quotas = wharf.app.state.registry, wharf.app.state.quotas
    saved = registry.trusted_proxies, quotas.clock
    registry.trusted_proxies, quotas.clock = (ip_network("127.0.0.0/8"),), lambda: NOON
    monkeypatch.setattr("app.quotas.utcnow", lambda: NOON)
    yield wharf
    registry.trusted_proxies, quotas.clock = saved


class Setup:
    """A repository with versions 1.0.0 to 4.0.0, a customer licensed to all of them, made through the API."""

    def __init__(self, wharf):
        self.wharf = wharf
        self.api = {"Authorization": f"Bearer {wharf.token}"}
        self.repo = wharf.repo("quota")
        self.images = {}

    async def push_versions(self, count: int = 4) -> None:
        for n in range(1, count + 1):
            img = image(f"quota-{uuid.uuid4().hex[:6]}-{n}")
            await push_image(self.wharf, self.repo, img, f"{n}.0.0")
            self.images[f"{n}.0.0"] = img

    async def call(self, method: str, path: str, **json):
        r = await self.wharf.client.request(method, f"/api/v1{path}", json=json or None, headers=self.api)
        assert r.is_success, r.text
        return r.json() if r.content else None

    async def customer(self, license_limits=None, defaults=None) -> dict:
        customer = await self.call("POST", "/customers", name=f"Quota {uuid.uuid4().hex[:6]}")
        body = {
            "customer_id": customer["id"],
            "name": "Quota Prod",
            "grants": [{"repository": self.repo, "tags": ["*"]}],
        }
        if license_limits:
            body["limits"] = license_limits
        if defaults:
            body["token_defaults"] = defaults
        customer["license"] = await self.call("POST", "/licenses", **body)
        return customer

    async def token(self, customer: dict, name: str = "prod", **restrictions) -> dict:
        return await self.call("POST", f"/customers/{customer['id']}/pull-tokens", name=name, **restrictions)

    async def get(self, token: dict, ref: str, frm: str = "10.1.2.3", method: str = "GET"):
        headers = {"Authorization": basic("x", token["token"]), "X-Forwarded-For": frm}
        return await self.wharf.client.request(method, f"/v2/{self.repo}/manifests/{ref}", headers=headers)

    async def blob(self, token: dict, digest: str, **headers):
        headers = {"Authorization": basic("x", token["token"]), "X-Forwarded-For": "10.1.2.3", **headers}
        return await self.wharf.client.get(f"/v2/{self.repo}/blobs/{digest}", headers=headers)


def remaining(response, policy: str) -> int:
    match = re.search(rf'"{policy}";r=(\d+);t=(\d+)', response.headers["RateLimit"])
    assert match, response.headers.get("RateLimit")
    return int(match[1])


async def test_a_token_limited_to_a_network_pulls_from_inside_only(proxied):
    s = Setup(proxied)
    await s.push_versions(1)
    token = await s.token(await s.customer(), allowed_cidrs=["10.0.0.0/8", "2001:db8::/32"])
    assert token["allowed_cidrs"] == ["10.0.0.0/8", "2001:db8::/32"]

    assert (await s.get(token, "1.0.0", frm="10.1.2.3")).status_code == 200
    assert (await s.get(token, "1.0.0", frm="2001:db8::7")).status_code == 200
    refused = await s.get(token, "1.0.0", frm="192.0.2.1")
    assert refused.status_code == 403 and error_code(refused) == "DENIED"
    assert refused.json()["errors"][0]["message"] == (
        "token 'prod' may be used from 10.0.0.0/8 or 2001:db8::/32 only; this request came from 192.0.2.1"
    )
    await proxied.app.state.audit_writer.drain()
    denied = (await s.call("GET", f"/pulls?repository={s.repo}&decision=denied"))["items"]
    assert [(d["client_ip"], d["reason_code"]) for d in denied] == [("192.0.2.1", "outside_network")]
    # the token endpoint refuses it too, and an untrusted peer cannot choose its address
    r = await proxied.client.get(
        "/token", params={"scope": f"repository:{s.repo}:pull"},
        headers={"Authorization": basic("x", token["token"]), "X-Forwarded-For": "192.0.2.1"},
    )  # fmt: skip
    assert r.status_code == 403 and "192.0.2.1" in r.json()["errors"][0]["message"]
    proxied.app.state.registry.trusted_proxies = ()
    assert (await s.get(token, "1.0.0", frm="10.1.2.3")).status_code == 403  # the peer, 127.0.0.1, is outside


async def test_pulls_per_day_allows_three_versions_and_refuses_the_fourth(proxied):
    s = Setup(proxied)
    await s.push_versions(4)
    customer = await s.customer()
    token = await s.token(customer, limits={"pulls_per_day": 3})

    for left, version in ((2, "1.0.0"), (1, "2.0.0"), (0, "3.0.0")):
        r = await s.get(token, version)
        assert r.status_code == 200, r.text
        assert r.headers["RateLimit-Policy"] == '"token-pulls-day";q=3;w=86400'
        assert r.headers["RateLimit"] == f'"token-pulls-day";r={left};t=43170'
    refused = await s.get(token, "4.0.0")
    assert refused.status_code == 429 and error_code(refused) == "TOOMANYREQUESTS"
    assert refused.json()["errors"][0]["message"] == (
        "token 'prod' reached its limit of 3 pulls a day; more from 2031-05-15 00:00 UTC"
    )
    assert refused.headers["Retry-After"] == "43170"
    assert refused.headers["RateLimit-Policy"] == '"token-pulls-day";q=3;w=86400'
    assert refused.headers["RateLimit"] == '"token-pulls-day";r=0;t=43170'

    # the same version again within the minute is the same pull; a version check is no pull at all
    again = await s.get(token, "2.0.0")
    assert again.status_code == 200 and remaining(again, "token-pulls-day") == 0
    check = await s.get(token, "4.0.0", method="HEAD")
    assert check.status_code == 200 and check.headers["RateLimit"] == '"token-pulls-day";r=0;t=43170'
    # blobs of a manifest already answered go on: a pull in progress completes
    for digest in s.images["3.0.0"].blobs:
        assert (await s.blob(token, digest)).status_code == 200
    # the refusal is recorded with its reason, as every denial is
    await proxied.app.state.audit_writer.drain()
    pulls = (await s.call("GET", f"/pulls?customer_id={customer['id']}&decision=denied"))["items"]
    assert [p["status"] for p in pulls] == [429] and "3 pulls a day" in pulls[0]["reason"]
    assert pulls[0]["reason_code"] == "quota_exceeded"


async def test_a_later_minute_makes_the_same_version_a_new_pull(proxied):
    s = Setup(proxied)
    await s.push_versions(1)
    token = await s.token(await s.customer(), limits={"pulls_per_day": 1})
    assert (await s.get(token, "1.0.0")).status_code == 200
    proxied.app.state.quotas.clock = lambda: NOON.replace(minute=1)
    assert (await s.get(token, "1.0.0")).status_code == 429


async def test_bytes_per_month_stops_the_blob_download_that_would_cross_it(proxied):
    s = Setup(proxied)
    await s.push_versions(2)
    img = s.images["1.0.0"]
    config, layer = img.config, img.layers[0]
    limit = len(img.manifest) + len(config) + len(layer) - 1  # one byte short of the whole image
    token = await s.token(await s.customer(), limits={"bytes_per_month": limit})

    r = await s.get(token, "1.0.0")
    assert r.status_code == 200
    assert r.headers["RateLimit-Policy"] == f'"token-bytes-month";q={limit};qu="content-bytes";w=2678400'
    assert remaining(r, "token-bytes-month") == limit - len(img.manifest)
    digests = {data: digest for digest, data in img.blobs.items()}
    r = await s.blob(token, digests[config])  # a blob answer tells what is left, as a manifest's does
    assert r.status_code == 200 and remaining(r, "token-bytes-month") == limit - len(img.manifest) - len(config)
    assert r.headers["RateLimit-Policy"] == f'"token-bytes-month";q={limit};qu="content-bytes";w=2678400'
    headers = {"Authorization": basic("x", token["token"]), "X-Forwarded-For": "10.1.2.3"}
    head = await proxied.client.head(f"/v2/{s.repo}/blobs/{digests[layer]}", headers=headers)  # counts nothing
    assert head.status_code == 200 and remaining(head, "token-bytes-month") == remaining(r, "token-bytes-month")
    part = await s.blob(token, digests[layer], Range="bytes=0-9")  # a range counts what it sends
    assert (
        part.status_code == 206 and remaining(part, "token-bytes-month") == limit - len(img.manifest) - len(config) - 10
    )
    refused = await s.blob(token, digests[layer])
    assert refused.status_code == 429 and error_code(refused) == "TOOMANYREQUESTS"
    message = refused.json()["errors"][0]["message"]
    assert message.startswith(f"this download of {len(layer)} B would pass the limit of") and "token 'prod'" in message
    assert message.endswith("more from 2031-06-01 00:00 UTC") and refused.headers["Retry-After"] == str(MONTH_LEFT)

    # what was sent is the month's use, merged for the pages and the API
    used = len(img.manifest) + len(config) + 10
    await proxied.app.state.quotas.merge()
    found = await s.call("GET", f"/pull-tokens/{token['id']}")
    assert found["usage"] == {"pulls_today": 1, "pulls_this_month": 1, "bytes_this_month": used}
    # lowered to what is used, the month's bytes are spent: a new pull is refused too
    await s.call("PATCH", f"/pull-tokens/{token['id']}", limits={"bytes_per_month": used})
    refused = await s.get(token, "2.0.0")
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"].startswith(f"token 'prod' reached its limit of {used} B a month")


async def test_license_limits_are_shared_by_its_tokens(proxied):
    s = Setup(proxied)
    await s.push_versions(3)
    customer = await s.customer(license_limits={"pulls_per_month": 2})
    first, second = await s.token(customer, "first"), await s.token(customer, "second")
    assert (await s.get(first, "1.0.0")).status_code == 200
    r = await s.get(second, "2.0.0")
    assert r.status_code == 200 and r.headers["RateLimit"] == f'"license-pulls-month";r=0;t={MONTH_LEFT}'
    refused = await s.get(first, "3.0.0")
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["message"].startswith(
        "license 'Quota Prod' reached its limit of 2 pulls a month"
    )


async def test_platform_manifests_of_a_pulled_index_are_not_pulls_of_their_own(proxied):
    s = Setup(proxied)
    amd, arm = image(f"idx-{uuid.uuid4().hex[:6]}", "amd64"), image(f"idx-{uuid.uuid4().hex[:6]}", "arm64")
    for img in (amd, arm):
        await push_image(proxied, s.repo, img)
    await push_manifest(proxied, s.repo, "1.0.0", index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    token = await s.token(await s.customer(), limits={"pulls_per_day": 1})
    assert (await s.get(token, "1.0.0")).status_code == 200
    for img in (amd, arm):
        r = await s.get(token, img.digest)
        assert r.status_code == 200 and remaining(r, "token-pulls-day") == 0


async def test_a_platform_manifest_fetched_on_its_own_is_a_pull(proxied):
    s = Setup(proxied)
    amd, arm, ppc = (image(f"own-{uuid.uuid4().hex[:6]}", arch) for arch in ("amd64", "arm64", "ppc64le"))
    for img in (amd, arm, ppc):
        await push_image(proxied, s.repo, img)
    multi = index([(amd, "amd64"), (arm, "arm64"), (ppc, "ppc64le")])
    await push_manifest(proxied, s.repo, "1.0.0", multi, OCI_INDEX)
    customer = await s.customer()
    token, other = await s.token(customer, limits={"pulls_per_day": 3}), await s.token(customer, "other")
    groups, seconds = proxied.app.state.registry.pull_groups, [0.0]
    saved, groups.clock = groups.clock, lambda: seconds[0]
    try:
        r = await s.get(token, amd.digest)  # no index fetched first: a pull of its own
        assert r.status_code == 200 and remaining(r, "token-pulls-day") == 2
        assert (await s.get(other, "1.0.0")).status_code == 200  # another token's index opens nothing for it
        r = await s.get(token, arm.digest)
        assert r.status_code == 200 and remaining(r, "token-pulls-day") == 1
        r = await s.get(token, "1.0.0")  # the index, then its platform manifests: one pull
        assert r.status_code == 200 and remaining(r, "token-pulls-day") == 0
        seconds[0] = 60.0
        r = await s.get(token, ppc.digest)
        assert r.status_code == 200 and remaining(r, "token-pulls-day") == 0
        seconds[0] = 61.0  # more than a minute after the index: a pull of its own again, and none is left
        refused = await s.get(token, ppc.digest)
        assert refused.status_code == 429 and error_code(refused) == "TOOMANYREQUESTS"
    finally:
        groups.clock = saved

    await proxied.app.state.audit_writer.drain()
    async with proxied.app.state.registry.metadata.engine.connect() as conn:
        found = await conn.execute(
            select(DownloadEvent.digest, DownloadEvent.part_of_pull)
            .where(DownloadEvent.token_id == token["id"], DownloadEvent.action == "manifest.get")
            .order_by(DownloadEvent.at, DownloadEvent.id)
        )
        rows = [tuple(row) for row in found]
    assert rows == [(amd.digest, False), (arm.digest, False), (sha256(multi), None), (ppc.digest, True)]


async def test_a_refused_index_makes_no_platform_manifest_part_of_a_pull(proxied):
    s = Setup(proxied)
    amd, arm = image(f"refused-{uuid.uuid4().hex[:6]}", "amd64"), image(f"refused-{uuid.uuid4().hex[:6]}", "arm64")
    for img in (amd, arm):
        await push_image(proxied, s.repo, img)
    await push_manifest(proxied, s.repo, "1.0.0", index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    token = await s.token(await s.customer(), limits={"pulls_per_day": 1})
    assert (await s.get(token, amd.digest)).status_code == 200  # the day's one pull
    assert (await s.get(token, "1.0.0")).status_code == 429
    assert (await s.get(token, arm.digest)).status_code == 429  # the index was not served: no pull to be part of


async def test_tokens_without_limits_carry_no_quota_headers_and_vendor_tokens_none(proxied):
    s = Setup(proxied)
    await s.push_versions(1)
    token = await s.token(await s.customer())
    r = await s.get(token, "1.0.0")
    assert r.status_code == 200 and "RateLimit" not in r.headers
    r = await proxied.client.get(f"/v2/{s.repo}/manifests/1.0.0", headers=proxied.auth)
    assert r.status_code == 200 and "RateLimit" not in r.headers


@pytest.fixture
def rate_limited(wharf):
    """Turns on WHARF_RATE_LIMIT=1/s with a burst of 3, on a clock the test moves (`now[0]`)."""
    policy, now = wharf.app.state.policy, [0.0]
    saved = policy.rate_limit

    def on():
        policy.rate_limit = RateLimiter(1.0, 3, clock=lambda: now[0])

    yield now, on
    policy.rate_limit = saved


async def test_the_rate_limit_answers_429_under_a_burst_and_recovers(wharf, rate_limited):
    repo, img = wharf.repo(), image("rate")
    await push_image(wharf, repo, img, "v1")
    clock, turn_on = rate_limited
    turn_on()
    answers = [(await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)) for _ in range(4)]
    assert [r.status_code for r in answers[:3]] == [200, 200, 200]
    refused = answers[3]
    assert refused.status_code == 429 and error_code(refused) == "TOOMANYREQUESTS"
    assert "more than 1 request a second" in refused.json()["errors"][0]["message"]
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["RateLimit-Policy"] == '"requests";q=3;w=3'
    assert refused.headers["RateLimit"] == '"requests";r=0;t=1'
    # the token endpoint and the API answer in their own shapes
    r = await wharf.client.get("/token", params={"scope": f"repository:{repo}:pull"}, headers=wharf.auth)
    assert r.status_code == 429 and error_code(r) == "TOOMANYREQUESTS" and r.headers["Retry-After"] == "1"
    r = await wharf.client.get("/api/v1/customers", headers={"Authorization": f"Bearer {wharf.token}"})
    assert r.status_code == 429 and r.json()["status_code"] == 429 and "request a second" in r.json()["detail"]
    assert r.headers["Retry-After"] == "1" and r.headers["RateLimit"] == '"requests";r=0;t=1'

    clock[0] = 1.0  # a second later, one request's worth is back
    assert (await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)).status_code == 429
    clock[0] = 10.0  # a quiet spell refills the whole burst, and no more
    statuses = [(await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
