"""/metrics: request counts by route family, pulls, denials, bytes, upload sizes, spool depth."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.event_spool.depth import SpoolDepth
from app.event_spool.spool import Spool
from app.http_metrics import route_family
from app.main import create_app
from app.settings import DatabaseSettings, ObservabilitySettings, ServerSettings, Settings
from registry.events import RegistryEvent
from tests.app.test_audit import customer_token
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image, sha256


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v2/", "registry.base"),
        ("/v2/acme/app/manifests/1.0", "registry.manifest"),
        ("/v2/acme/manifests/x/manifests/sha256:ab", "registry.manifest"),
        ("/v2/acme/app/blobs/sha256:ab", "registry.blob"),
        ("/v2/acme/uploads/blobs/sha256:ab", "registry.blob"),
        ("/v2/acme/app/blobs/uploads/", "registry.upload"),
        ("/v2/acme/app/blobs/uploads/0b6e-11", "registry.upload"),
        ("/v2/acme/app/tags/list", "registry.tags"),
        ("/v2/_catalog", "registry.catalog"),
        ("/v2/acme/app/referrers/sha256:ab", "registry.referrers"),
        ("/v2/acme/app/nonsense", "registry.other"),
        ("/token", "registry.token"),
        ("/api/v1/customers/3", "api"),
        ("/api/schema/openapi.json", "api"),
        ("/portal/invitations/abc", "portal"),
        ("/vendor/settings", "portal"),
        ("/readyz", "ops"),
        ("/metrics", "ops"),
        ("/favicon.ico", "other"),
        ("/wp-admin/setup.php", "other"),
    ],
)
def test_route_family_is_a_small_fixed_set(path, family):
    assert route_family(path) == family


async def scrape(client: httpx.AsyncClient, **headers: str) -> dict[tuple[str, tuple], float]:
    r = await client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def delta(after, before, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


async def test_pulls_denials_bytes_and_uploads_are_counted(wharf):
    repo, ok, no = wharf.repo("metered"), image("metered-ok"), image("metered-no")
    before = await scrape(wharf.client)
    await push_image(wharf, repo, ok, "1.0.0")
    await push_image(wharf, repo, no, "2.0.0")
    _ids, token = await customer_token(wharf, repo, ["^1"])
    auth = {"Authorization": basic("x", token)}
    for _ in range(3):
        assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    assert (await wharf.client.head(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    layer = ok.layers[0]
    assert (await wharf.client.get(f"/v2/{repo}/blobs/{sha256(layer)}", headers=auth)).status_code == 200
    assert (await wharf.client.get("/nothing-here")).status_code == 404
    after = await scrape(wharf.client)

    assert delta(after, before, "wharf_registry_pulls_total") == 3
    assert delta(after, before, "wharf_registry_denials_total") == 1
    assert delta(after, before, "wharf_registry_served_bytes_total", kind="manifest") == 3 * len(ok.manifest)
    assert delta(after, before, "wharf_registry_served_bytes_total", kind="blob") == len(layer)
    uploads = len(ok.blobs) + len(no.blobs)
    assert delta(after, before, "wharf_registry_blob_upload_size_bytes_count") == uploads
    sizes = sum(len(b) for b in ok.blobs.values()) + sum(len(b) for b in no.blobs.values())
    assert delta(after, before, "wharf_registry_blob_upload_size_bytes_sum") == sizes
    get = {"route": "registry.manifest", "method": "GET"}
    assert delta(after, before, "wharf_http_requests_total", **get, status="200") == 3
    assert delta(after, before, "wharf_http_requests_total", **get, status="403") == 1
    assert (
        delta(after, before, "wharf_http_requests_total", route="registry.manifest", method="HEAD", status="200") == 1
    )
    assert delta(after, before, "wharf_http_request_duration_seconds_count", **get) == 4
    assert delta(after, before, "wharf_http_requests_total", route="other", method="GET", status="404") == 1
    assert (
        delta(after, before, "wharf_credential_cache_hits_total")
        + delta(after, before, "wharf_credential_cache_misses_total")
        >= 5
    )
    assert ("wharf_audit_spool_events", ()) in after and ("process_cpu_seconds_total", ()) in after
    assert not [name for name, labels in after if any("acme/" in value for _k, value in labels)]  # never a path


def event(n: int) -> RegistryEvent:
    return RegistryEvent(action="manifest.get", repository="acme/app", subject=None, reference=f"v{n}")


def test_spool_depth_counts_events_not_yet_stored(tmp_path):
    spool = Spool(tmp_path / "spool")
    depth = SpoolDepth(spool)
    assert depth.measure() == (0, 0)
    for n in range(5):
        spool.emit(event(n))
    events, size = depth.measure()
    assert events == 5 and size == spool.path.stat().st_size
    _records, offset = spool.pending(3)
    spool.mark_stored(offset)
    assert depth.measure() == (2, size - offset)
    spool.emit(event(5))
    assert depth.measure()[0] == 3
    _records, offset = spool.pending(100)
    spool.mark_stored(offset)
    assert depth.measure() == (0, 0)
    spool.close()


async def test_metrics_token_guards_the_page(tmp_path):
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=80, public_url="http://wharf.test", data_dir=tmp_path),
        database=DatabaseSettings(url=f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", auto_migrate=False),
        observability=ObservabilitySettings(metrics_token="scrape-me"),
    )
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wharf.test") as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": basic("x", "scrape-me")}):
            refused = await client.get("/metrics", headers=headers)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert "wharf_http_requests_total" in str(await scrape(client, Authorization="Bearer scrape-me"))
    await app.state.registry.metadata.engine.dispose()
