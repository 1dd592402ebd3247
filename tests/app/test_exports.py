"""Readable, split and recorded exports: names as they were, reason codes, pulls apart from vendor activity,
and every export's record (rows, bytes and SHA-256 of exactly what was sent)."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import uuid

import msgspec
from sqlalchemy import select

from app.event_spool.spool import record_of
from app.identity import Actor, Channel
from app.models import AdminAuditEntry, ExportRecord, Organization
from app.reports.events import COLUMNS
from app.reports.export import EXPORT_ID_HEADER, recorded
from registry.events import RegistryAction, RegistryEvent
from tests.app.test_audit import customer_token, events
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Browser


def _api(wharf) -> dict[str, str]:
    return {"Authorization": f"Bearer {wharf.token}"}


async def test_events_keep_the_names_they_had_when_they_happened(wharf):
    repo, img = wharf.repo("named"), image("named-events")
    await push_image(wharf, repo, img, "1.0.0")
    ids, token = await customer_token(wharf, repo, ["*"])
    customer_id, old_name = ids["customer"]["id"], ids["customer"]["name"]
    auth = {"Authorization": basic("x", token)}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    await wharf.app.state.audit_writer.drain()
    new_name = f"Renamed {uuid.uuid4().hex[:6]}"
    r = await wharf.client.patch(f"/api/v1/customers/{customer_id}", json={"name": new_name}, headers=_api(wharf))
    assert r.status_code == 200, r.text
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    await wharf.app.state.audit_writer.drain()

    first, second = await events(wharf, customer_id=customer_id, action="manifest.get")
    assert (first.customer_name, second.customer_name) == (old_name, new_name)
    assert first.license_name == second.license_name == "Audited"
    assert first.token_name == second.token_name == "t"
    r = await wharf.client.get("/api/v1/pulls", params={"customer_id": customer_id}, headers=_api(wharf))
    assert [i["customer_name"] for i in r.json()["items"]] == [new_name, old_name]  # newest first


async def test_an_event_stored_after_its_customer_is_deleted_names_nothing_it_cannot_know(wharf):
    repo, img = wharf.repo("gone"), image("gone-customer")
    await push_image(wharf, repo, img, "1.0.0")
    ids, token = await customer_token(wharf, repo, ["*"])
    await wharf.app.state.audit_writer.drain()
    assert (
        await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers={"Authorization": basic("x", token)})
    ).status_code == 200
    r = await wharf.client.delete(f"/api/v1/customers/{ids['customer']['id']}", headers=_api(wharf))
    assert r.status_code < 300, r.text
    await wharf.app.state.audit_writer.drain()  # stored only now: the customer, license and token are gone
    (pull,) = await events(wharf, repository=repo, action="manifest.get")
    assert pull.customer_id == ids["customer"]["id"] and pull.token_id == ids["token"]["id"]
    assert (pull.customer_name, pull.license_name, pull.token_name, pull.user_email) == (None, None, None, None)


async def test_spool_lines_from_before_reason_codes_still_load(wharf):
    repo = wharf.repo("old-spool")
    writer = wharf.app.state.audit_writer
    event = RegistryEvent(RegistryAction.DENIED, repo, None, reference="1.0", status=403, reason="old words")
    old = msgspec.to_builtins(record_of(event, uuid.uuid4().hex))
    del old["reason_code"]  # a line spooled by a release without the field
    os.write(writer.spool._fd, msgspec.json.encode(old) + b"\n")
    assert await writer.drain() >= 1
    (row,) = await events(wharf, repository=repo)
    assert (row.action, row.reason, row.reason_code) == ("denied", "old words", None)


async def test_denials_carry_a_reason_code_and_writes_go_to_activity(wharf):
    repo, ok, no = wharf.repo("coded"), image("coded-ok"), image("coded-no")
    await push_image(wharf, repo, ok, "1.0.0")
    await push_image(wharf, repo, no, "2.0.0")
    _ids, token = await customer_token(wharf, repo, ["1.*"])
    auth = {"Authorization": basic("x", token)}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    pushed = await wharf.client.put(
        f"/v2/{repo}/manifests/3.0.0",
        content=ok.manifest,
        headers={**auth, "Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert pushed.status_code == 403
    await wharf.app.state.audit_writer.drain()
    codes = {(e.reference, e.reason_code) for e in await events(wharf, repository=repo, action="denied")}
    assert codes == {("2.0.0", "not_covered"), ("3.0.0", "no_push_permission")}

    pulls = await wharf.client.get("/api/v1/pulls", params={"repository": repo}, headers=_api(wharf))
    assert {(i["action"], i["reason_code"]) for i in pulls.json()["items"]} == {("denied", "not_covered")}
    activity = (await wharf.client.get("/api/v1/activity", params={"repository": repo}, headers=_api(wharf))).json()
    actions = [i["action"] for i in activity["items"]]
    assert "manifest.put" in actions and "blob.put" in actions and "manifest.get" not in actions
    assert [i["reason_code"] for i in activity["items"] if i["action"] == "denied"] == ["no_push_permission"]
    assert all(i["customer_id"] is None for i in activity["items"] if i["action"] != "denied")

    page = await wharf.client.get("/api/v1/activity", params={"repository": repo, "limit": 1}, headers=_api(wharf))
    assert len(page.json()["items"]) == 1 and page.json()["next_cursor"]
    bad = await wharf.client.get("/api/v1/activity", params={"cursor": "garbage!"}, headers=_api(wharf))
    assert bad.status_code == 400


async def test_an_export_is_recorded_with_the_sha256_of_what_was_sent(wharf):
    repo, img = wharf.repo("recorded"), image("recorded-export")
    await push_image(wharf, repo, img, "1.0.0")
    _ids, token = await customer_token(wharf, repo, ["*"])
    auth = {"Authorization": basic("x", token), "User-Agent": '=HYPERLINK("http://evil.test")'}
    for _ in range(3):
        assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    await wharf.app.state.audit_writer.drain()

    r = await wharf.client.get("/api/v1/pulls/export", params={"repository": repo}, headers=_api(wharf))
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith('attachment; filename="pulls-')
    export_id = r.headers[EXPORT_ID_HEADER]
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 4
    record = dict(zip(COLUMNS, rows[1], strict=True))
    assert record["user_agent"] == '\'=HYPERLINK("http://evil.test")'  # escaped: a spreadsheet shows text
    assert record["customer_name"] == "Audited" and record["token_name"] == "t"

    answer = (await wharf.client.get(f"/api/v1/exports/{export_id}", headers=_api(wharf))).json()
    assert answer["sha256"] == hashlib.sha256(r.content).hexdigest()
    assert (answer["rows"], answer["bytes"], answer["state"]) == (3, len(r.content), "complete")
    assert (answer["kind"], answer["format"], answer["channel"]) == ("pulls", "csv", "api")
    assert answer["filters"] == {"repository": repo, "side": "pulls"} and answer["finished_at"]

    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        entry = (await conn.execute(select(AdminAuditEntry).where(AdminAuditEntry.object_id == export_id))).one()
    assert entry.action == "export.completed" and answer["sha256"] in entry.after

    j = await wharf.client.get(
        "/api/v1/activity/export", params={"repository": repo, "format": "json"}, headers=_api(wharf)
    )
    assert j.headers["content-disposition"].startswith('attachment; filename="activity-')
    answer = (await wharf.client.get(f"/api/v1/exports/{j.headers[EXPORT_ID_HEADER]}", headers=_api(wharf))).json()
    assert answer["rows"] == len(j.json()) > 0 and answer["sha256"] == hashlib.sha256(j.content).hexdigest()

    log = await wharf.client.get("/api/v1/audit-log/export", headers=_api(wharf))
    answer = (await wharf.client.get(f"/api/v1/exports/{log.headers[EXPORT_ID_HEADER]}", headers=_api(wharf))).json()
    assert answer["kind"] == "audit-log" and answer["rows"] == len(list(csv.reader(io.StringIO(log.text)))) - 1


async def test_exports_answer_only_to_auditors_of_their_own_vendor(wharf):
    r = await wharf.client.get("/api/v1/pulls/export", headers=_api(wharf))
    export_id = r.headers[EXPORT_ID_HEADER]
    support = await wharf.client.post(
        "/api/v1/tokens", json={"name": "helpdesk", "role": "support"}, headers=_api(wharf)
    )
    helpdesk = {"Authorization": f"Bearer {support.json()['token']}"}
    assert (await wharf.client.get(f"/api/v1/exports/{export_id}", headers=helpdesk)).status_code == 403
    assert (await wharf.client.get("/api/v1/activity/export", headers=helpdesk)).status_code == 403

    from app.services.accounts import bootstrap_vendor

    slug = f"peer{uuid.uuid4().hex[:6]}"
    other = await bootstrap_vendor(wharf.app.state.registry.metadata.engine, slug, f"a@{slug}.test", "correct-horse")
    r = await wharf.client.get(f"/api/v1/exports/{export_id}", headers={"Authorization": f"Bearer {other.token}"})
    assert r.status_code == 404
    r = await wharf.client.get("/api/v1/exports/no-such-export", headers=_api(wharf))
    assert r.status_code == 404


async def test_a_stream_cut_short_is_recorded_as_aborted(wharf):
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        vendor_id = (
            await conn.execute(
                select(Organization.id).where(Organization.kind == "vendor", Organization.slug == "acme")
            )
        ).scalar_one()
    actor = Actor(Channel.API, vendor_id, "acme", vendor_id, "vendor", "auditor", "token:0 (cut)")

    async def chunks():
        yield b"id,at\n", 0
        yield b"1,2026-01-01\n", 1
        yield b"2,2026-01-02\n", 1

    export_id = uuid.uuid4().hex
    stream = recorded(chunks(), wharf.app.state.services.exports, actor, export_id, "pulls", "csv", {})
    sent = [await anext(stream) for _ in range(3)]
    await stream.aclose()  # the client went away while the last chunk was on its way
    async with engine.connect() as conn:
        record = (await conn.execute(select(ExportRecord).where(ExportRecord.id == export_id))).one()
    assert record.state == "aborted" and record.rows == 1  # the last chunk was handed on, not known sent
    assert record.bytes == len(sent[0] + sent[1]) and record.sha256 == hashlib.sha256(sent[0] + sent[1]).hexdigest()


async def test_a_nul_character_in_a_filter_or_an_id_is_a_400_not_a_database_error(wharf):
    """PostgreSQL refuses text holding NUL: a filter or export id carrying `%00` was a 500 (or an export cut
    after its header). The API and the vendor portal answer 400 before any query, on both databases."""
    api = {"Authorization": f"Bearer {wharf.token}"}
    for path in (
        "/api/v1/activity?repository=acme%00",
        "/api/v1/pulls?tag=1.0%00",
        "/api/v1/activity/export?format=csv&repository=a%00b",
        "/api/v1/audit-log/export?object_type=%00",
        "/api/v1/exports/%00",
        "/api/v1/report-schedules?x%00=1",
    ):
        r = await wharf.client.get(path, headers=api)
        assert r.status_code == 400 and "NUL" in r.json()["detail"], (path, r.text)
        assert EXPORT_ID_HEADER not in r.headers  # refused before an export is recorded
    async with Browser(wharf.app) as admin:
        await admin.sign_in(wharf.admin_email, "correct-horse")
        for path in ("/vendor/customers?q=%00", "/vendor/adoption?product=%00"):
            r = await admin.get(path)
            assert r.status_code == 400 and "not understood" in r.text, path
