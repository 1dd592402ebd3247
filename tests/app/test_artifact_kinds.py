"""Artifact kinds through the API and the registry: each tag's kind, chart details, platforms and
attachments; repository settings and release notes; immutable tags; cosign's signature tags."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.models import AdminAuditEntry, OutboxMessage
from tests.app.test_repository_settings_service import vendor_actor
from tests.conftest import basic
from tests.registry.helpers import error_code, push_blob, push_image, push_manifest
from tests.support.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    artifact,
    cosign_signature,
    descriptor,
    helm_chart,
    image,
    index,
)

SPDX = "application/spdx+json"


@pytest.fixture
def api(wharf):
    headers = {"Authorization": f"Bearer {wharf.token}"}

    class Api:
        async def call(self, method, path, json=None, token=None, expect=200):
            auth = {"Authorization": f"Bearer {token}"} if token else headers
            r = await wharf.client.request(method, f"/api/v1{path}", json=json, headers=auth)
            assert r.status_code == expect, r.text
            return r.json() if r.content else None

    return Api()


def attestation_index(img) -> bytes:
    """What buildx pushes: the image and an attestation manifest on the `unknown/unknown` platform."""
    att = artifact("application/vnd.in-toto+json", b'{"predicateType": "https://spdx.dev/Document"}')
    doc = json.loads(index([(img, "amd64")]))
    doc["manifests"].append(
        descriptor(
            OCI_MANIFEST,
            att.manifest,
            platform={"os": "unknown", "architecture": "unknown"},
            annotations={
                "vnd.docker.reference.type": "attestation-manifest",
                "vnd.docker.reference.digest": img.digest,
            },
        )
    )
    return json.dumps(doc).encode(), att


async def test_tags_carry_their_kind_chart_platforms_and_attachments(wharf, api):
    repo = wharf.repo("kinds")
    chart = helm_chart("web", "1.2.0", appVersion="4.1", description="The web front end", icon="https://x.test/i.png")
    await push_image(wharf, repo, chart, "1.2.0")
    img = image("kinds")
    await push_image(wharf, repo, img, "2.0.0")
    top, att = attestation_index(img)
    await push_image(wharf, repo, att)
    await push_manifest(wharf, repo, "2.1.0", top, OCI_INDEX)
    sbom = artifact(SPDX, b'{"spdxVersion": "SPDX-2.3"}', SPDX, subject=img)
    await push_image(wharf, repo, sbom)
    signature = cosign_signature()
    await push_image(wharf, repo, signature, f"{img.digest.replace(':', '-')}.sig")
    other = artifact("application/vnd.acme.docs.layer.v1+tar", b"docs", "application/vnd.acme.docs")
    await push_image(wharf, repo, other, "docs")

    items = {t["tag"]: t for t in (await api.call("GET", f"/repositories/{repo}/tags"))["items"]}
    assert items["1.2.0"]["kind"] == "helm-chart"
    assert items["1.2.0"]["chart"] == {
        "name": "web",
        "version": "1.2.0",
        "app_version": "4.1",
        "description": "The web front end",
        "icon": "https://x.test/i.png",
    }
    assert items["2.0.0"]["kind"] == "image" and "chart" not in items["2.0.0"]
    assert items["2.0.0"]["platforms"] == ["linux/amd64"]
    assert items["2.0.0"]["sboms"] == [sbom.digest]
    assert items["2.0.0"]["signatures"] == [signature.digest]
    assert items["2.1.0"]["kind"] == "index" and items["2.1.0"]["platforms"] == ["linux/amd64"]
    assert items["2.1.0"]["size"] > items["2.0.0"]["size"]  # its children are counted
    assert items[f"{img.digest.replace(':', '-')}.sig"]["kind"] == "signature"
    assert items["docs"]["kind"] == "artifact"

    [listed] = [r for r in (await api.call("GET", "/repositories"))["items"] if r["name"] == repo]
    assert listed["kinds"] == ["image", "index", "helm-chart", "signature", "artifact"]


async def test_repository_settings_read_and_change(wharf, api):
    repo = wharf.repo("settings")
    await push_image(wharf, repo, image("settings"), "1.0.0")
    settings = await api.call("GET", f"/repositories/{repo}/settings")
    assert settings == {
        "name": repo,
        "display_name": None,
        "description": None,
        "icon": None,
        "immutability": {"rule": "default", "effective": "off", "means": "tags may move"},
    }
    changed = await api.call(
        "PATCH",
        f"/repositories/{repo}/settings",
        {"display_name": "Web", "description": "The front end", "icon": "https://x.test/w.png"},
    )
    assert (changed["display_name"], changed["icon"]) == ("Web", "https://x.test/w.png")
    changed = await api.call("PATCH", f"/repositories/{repo}/settings", {"immutability": "semver"})
    assert changed["display_name"] == "Web"  # the others stay
    assert changed["immutability"] == {
        "rule": "semver",
        "effective": "semver",
        "means": "full semver tags are immutable",
    }
    bad = await api.call("PATCH", f"/repositories/{repo}/settings", {"icon": "http://x.test/w.png"}, expect=400)
    assert bad["extra"] == [{"key": "icon", "message": bad["extra"][0]["message"]}]
    assert "https://" in bad["extra"][0]["message"]
    await api.call("PATCH", f"/repositories/{repo}/settings", {"immutability": "always"}, expect=400)
    await api.call("PATCH", f"/repositories/{repo}/settings", {"colour": "red"}, expect=400)
    await api.call("PATCH", "/repositories/acme/never-pushed/settings", {"display_name": "x"}, expect=404)
    await api.call("GET", "/repositories/othervendor/app/settings", expect=404)
    await api.call("PATCH", f"/repositories/{repo}/tags", {"display_name": "x"}, expect=404)

    support = await api.call("POST", "/tokens", {"name": "helpdesk", "role": "support"}, expect=201)
    await api.call("GET", f"/repositories/{repo}/settings", token=support["token"])
    await api.call("PATCH", f"/repositories/{repo}/settings", {"display_name": "x"}, token=support["token"], expect=403)


async def test_release_notes_per_version(wharf, api):
    repo = wharf.repo("notes")
    await push_image(wharf, repo, image("notes"), "1.0.0")
    written = await api.call("PUT", f"/repositories/{repo}/tags/1.0.0/notes", {"notes": "## Fixed\n\n- a crash"})
    assert written == {"repository": repo, "tag": "1.0.0", "notes": "## Fixed\n\n- a crash"}
    removed = await api.call("PUT", f"/repositories/{repo}/tags/1.0.0/notes", {"notes": ""})
    assert removed["notes"] is None
    await api.call("PUT", f"/repositories/{repo}/tags/9.9.9/notes", {"notes": "x"}, expect=404)
    await api.call("PUT", f"/repositories/{repo}/tags/1.0.0/notes", {"notes": 3}, expect=400)
    await api.call("PUT", f"/repositories/{repo}/tags/1.0.0/notes", {"notes": "x" * 10_001}, expect=400)
    await api.call("PUT", f"/repositories/{repo}/settings", {"notes": "x"}, expect=404)


async def test_settings_and_notes_are_recorded_with_an_outbox_event(wharf, api):
    repo = wharf.repo("recorded")
    await push_image(wharf, repo, image("recorded"), "1.0.0")
    await api.call("PATCH", f"/repositories/{repo}/settings", {"display_name": "Recorded"})
    await api.call("PATCH", f"/repositories/{repo}/settings", {"display_name": "Recorded"})  # no change, no entry
    await api.call("PUT", f"/repositories/{repo}/tags/1.0.0/notes", {"notes": "First."})
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        entries = (
            await conn.execute(
                select(AdminAuditEntry.action, AdminAuditEntry.after)
                .where(AdminAuditEntry.object_id == repo[:64])
                .order_by(AdminAuditEntry.id)
            )
        ).all()
        events = (await conn.execute(select(OutboxMessage.event, OutboxMessage.payload))).all()
    assert [e.action for e in entries] == ["repository.updated", "release_notes.updated"]
    assert json.loads(entries[0].after)["display_name"] == "Recorded"
    mine = [e.event for e in events if repo in e.payload]
    assert mine == ["repository.updated", "release_notes.updated"]


async def test_immutable_tags_refuse_to_move(wharf, api):
    repo = wharf.repo("frozen")
    first, second = image("frozen-1"), image("frozen-2")
    await push_image(wharf, repo, first, "1.0.0")
    await push_image(wharf, repo, first, "latest")
    await api.call("PATCH", f"/repositories/{repo}/settings", {"immutability": "semver"})
    for data in second.blobs.values():
        await push_blob(wharf, repo, data)
    moved = await wharf.client.put(
        f"/v2/{repo}/manifests/1.0.0", content=second.manifest, headers={**wharf.auth, "Content-Type": OCI_MANIFEST}
    )
    assert moved.status_code == 403 and error_code(moved) == "DENIED"
    message = moved.json()["errors"][0]["message"]
    assert "1.0.0 is immutable" in message and "full semver tags are immutable" in message and repo in message
    await wharf.app.state.audit_writer.drain()  # the refusal is vendor activity, with its reason code
    bearer = {"Authorization": f"Bearer {wharf.token}"}
    activity = await wharf.client.get(
        "/api/v1/activity", params={"repository": repo, "decision": "denied"}, headers=bearer
    )
    assert [(e["reference"], e["reason_code"]) for e in activity.json()["items"]] == [("1.0.0", "immutable_tag")]
    # the same content again succeeds (a CI retry), other tags move, new versions are pushed
    await push_manifest(wharf, repo, "1.0.0", first.manifest)
    await push_manifest(wharf, repo, "latest", second.manifest)
    await push_manifest(wharf, repo, "1.0.1", second.manifest)
    # ?tag= pushes are held too, and nothing of a refused push is stored
    refused = await wharf.client.put(
        f"/v2/{repo}/manifests/{second.digest}",
        params={"tag": ["1.0.0", "extra"]},
        content=second.manifest,
        headers={**wharf.auth, "Content-Type": OCI_MANIFEST},
    )
    assert refused.status_code == 403
    tags = (await wharf.client.get(f"/v2/{repo}/tags/list", headers=wharf.auth)).json()["tags"]
    assert "extra" not in tags
    # cosign's signature tags always move (cosign rewrites them as signatures are added)
    sig_tag = f"{first.digest.replace(':', '-')}.sig"
    await push_image(wharf, repo, cosign_signature(b"one"), sig_tag)
    await push_image(wharf, repo, cosign_signature(b"two"), sig_tag)
    # deleting needs the delete permission (a release token has none); then the tag may be pushed anew
    release = await api.call("POST", "/tokens", {"name": "ci", "role": "release", "kind": "push"}, expect=201)
    denied = await wharf.client.delete(
        f"/v2/{repo}/manifests/1.0.0", headers={"Authorization": basic("ci", release["token"])}
    )
    assert denied.status_code in (401, 403)
    deleted = await wharf.client.delete(f"/v2/{repo}/manifests/1.0.0", headers=wharf.auth)
    assert deleted.status_code == 202
    await push_manifest(wharf, repo, "1.0.0", second.manifest)


async def test_the_vendor_default_applies_until_a_repository_says_otherwise(wharf, api):
    services = wharf.app.state.services
    repo = wharf.repo("default-rule")
    first, second = image("default-1"), image("default-2")
    await push_image(wharf, repo, first, "3.0.0")
    for data in second.blobs.values():
        await push_blob(wharf, repo, data)
    actor = await vendor_actor(wharf)
    try:
        await services.settings.update(actor, {**await current_settings(wharf), "immutable_tags": "semver"})
        assert (await api.call("GET", f"/repositories/{repo}/settings"))["immutability"]["effective"] == "semver"
        moved = await wharf.client.put(
            f"/v2/{repo}/manifests/3.0.0",
            content=second.manifest,
            headers={**wharf.auth, "Content-Type": OCI_MANIFEST},
        )
        assert moved.status_code == 403
        await api.call("PATCH", f"/repositories/{repo}/settings", {"immutability": "off"})
        await push_manifest(wharf, repo, "3.0.0", second.manifest)
    finally:
        await services.settings.update(actor, {**await current_settings(wharf), "immutable_tags": "off"})


async def current_settings(wharf) -> dict[str, str]:
    from app.models import Organization
    from app.services.settings import FIELDS

    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        row = (
            await conn.execute(select(Organization).where(Organization.slug == "acme", Organization.kind == "vendor"))
        ).first()
    return {f: getattr(row, f) or "" for f in FIELDS}


async def test_a_cosign_tag_is_readable_exactly_when_the_digest_it_names_is(wharf, api):
    repo = wharf.repo("cosigned")
    allowed, other = image("cosigned-1"), image("cosigned-2")
    await push_image(wharf, repo, allowed, "1.0.0")
    await push_image(wharf, repo, other, "2.0.0")
    signatures = {}
    for img, payload in ((allowed, b"one"), (other, b"two")):
        sig = cosign_signature(payload)
        tag = f"{img.digest.replace(':', '-')}.sig"
        await push_image(wharf, repo, sig, tag)
        signatures[img.digest] = (tag, sig)
    customer = await api.call("POST", "/customers", {"name": "Cosign Reader"}, expect=201)
    grants = [{"repository": repo, "tags": ["1.*"]}]
    await api.call("POST", "/licenses", {"customer_id": customer["id"], "name": "One", "grants": grants}, expect=201)
    token = (await api.call("POST", f"/customers/{customer['id']}/pull-tokens", {"name": "c"}, expect=201))["token"]
    auth = {"Authorization": basic("token", token)}

    readable_tag, readable_sig = signatures[allowed.digest]
    r = await wharf.client.get(f"/v2/{repo}/manifests/{readable_tag}", headers=auth)
    assert r.status_code == 200 and r.content == readable_sig.manifest
    layer = json.loads(readable_sig.manifest)["layers"][0]["digest"]
    assert (await wharf.client.get(f"/v2/{repo}/blobs/{layer}", headers=auth)).status_code in (200, 307)
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{readable_sig.digest}", headers=auth)).status_code == 200
    hidden_tag, hidden_sig = signatures[other.digest]
    denied = await wharf.client.get(f"/v2/{repo}/manifests/{hidden_tag}", headers=auth)
    assert denied.status_code == 403 and error_code(denied) == "DENIED"
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{hidden_sig.digest}", headers=auth)).status_code == 403
    listed = (await wharf.client.get(f"/v2/{repo}/tags/list", headers=auth)).json()["tags"]
    assert listed == ["1.0.0", readable_tag]
