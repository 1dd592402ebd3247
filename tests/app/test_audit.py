"""Every read is spooled without touching the database, stored in batches, and stored once."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import func, insert, select, update

from app.event_spool.spool import record_of
from app.models import DownloadEvent, Token, User
from registry.events import RegistryAction, RegistryEvent
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image, sha256


async def customer_token(wharf, repo: str, rules: list[str]) -> tuple[dict, str]:
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Audited"}, headers=api)).json()
    lic = (
        await wharf.client.post(
            "/api/v1/licenses",
            headers=api,
            json={"customer_id": customer["id"], "name": "Audited", "grants": [{"repository": repo, "tags": rules}]},
        )
    ).json()
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "t"}, headers=api)
    ).json()
    return {"customer": customer, "license": lic, "token": token}, token["token"]


async def events(wharf, **where) -> list:
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        stmt = select(DownloadEvent).filter_by(**where).order_by(DownloadEvent.at)
        return list((await conn.execute(stmt)).all())


async def test_pulls_and_denials_are_recorded_with_who_what_and_why(wharf, count_queries):
    repo, ok, no = wharf.repo("audited"), image("audit-ok"), image("audit-no")
    await push_image(wharf, repo, ok, "1.0.0")
    await push_image(wharf, repo, no, "2.0.0")
    ids, token = await customer_token(wharf, repo, ["^1"])
    auth = {"Authorization": basic("x", token), "User-Agent": "audit-test/1.0"}
    count_queries.statements.clear()
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    assert (await wharf.client.head(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    layer = sha256(ok.layers[0])
    r = await wharf.client.get(f"/v2/{repo}/blobs/{layer}", headers={**auth, "Range": "bytes=0-9"})
    assert r.status_code == 206
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    writes = [q for q in count_queries.statements if q.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []  # recording costs the request path no database write

    await wharf.app.state.audit_writer.drain()
    recorded = await events(wharf, customer_id=ids["customer"]["id"])
    by_action = {}
    for event in recorded:
        by_action.setdefault(event.action, []).append(event)
    get = by_action["manifest.get"][-1]
    assert (get.repository, get.reference, get.digest) == (repo, "1.0.0", ok.digest)
    assert get.license_id == ids["license"]["id"] and get.token_id == ids["token"]["id"]
    assert get.user_agent == "audit-test/1.0" and get.status == 200 and get.bytes == len(ok.manifest)
    assert get.user_email == wharf.admin_email  # the person behind the API token that made it
    assert by_action["manifest.head"][-1].bytes == 0
    blob = by_action["blob.get"][-1]
    assert blob.bytes == 10 and blob.status == 206 and blob.digest == layer
    denied = by_action["denied"][-1]
    assert denied.reference == "2.0.0" and denied.status == 403 and "not covered by license 'Audited'" in denied.reason


async def test_replaying_the_spool_stores_each_event_once(wharf):
    repo, img = wharf.repo("replayed"), image("audit-replay")
    await push_image(wharf, repo, img, "1.0.0")
    writer = wharf.app.state.audit_writer
    await writer.drain()
    for _ in range(5):
        await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers={**wharf.auth, "User-Agent": "replay-probe"})
    await writer.drain()
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        count = select(func.count()).select_from(DownloadEvent).where(DownloadEvent.user_agent == "replay-probe")
        assert (await conn.execute(count)).scalar() == 5
        writer.spool.mark_stored(0)  # as after a crash between the insert and the offset update
        assert await writer.drain() > 0
        assert (await conn.execute(count)).scalar() == 5


async def test_the_person_behind_a_token_is_recorded(wharf):
    repo, img = wharf.repo("people"), image("audit-person")
    await push_image(wharf, repo, img, "1.0.0")
    ids, token = await customer_token(wharf, repo, ["*"])
    engine = wharf.app.state.registry.metadata.engine
    async with engine.begin() as conn:  # as when a customer user creates the token in the portal
        user_id = (
            await conn.execute(insert(User).values(email=f"dev-{ids['token']['id']}@customer.test").returning(User.id))
        ).scalar_one()
        await conn.execute(update(Token).where(Token.id == ids["token"]["id"]).values(created_by=user_id))
    await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers={"Authorization": basic("x", token)})
    await wharf.app.state.audit_writer.drain()
    (pull,) = await events(wharf, token_id=ids["token"]["id"], action="manifest.get")
    assert pull.user_email == f"dev-{ids['token']['id']}@customer.test"


async def test_a_user_agent_is_kept_to_its_first_512_characters(wharf):
    repo, img = wharf.repo("agents"), image("agents")
    await push_image(wharf, repo, img, "1.0.0")
    ids, token = await customer_token(wharf, repo, ["*"])
    agent = "curl/8 " + "x" * 2_000_000
    auth = {"Authorization": basic("x", token), "User-Agent": agent}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/9.9.9", headers=auth)).status_code == 404
    await wharf.app.state.audit_writer.drain()
    (get,) = await events(wharf, customer_id=ids["customer"]["id"], action="manifest.get")
    assert get.user_agent == agent[:512]


async def test_spool_lines_from_before_part_of_pull_are_stored_beside_new_ones(wharf):
    repo, img = wharf.repo("old-lines"), image("old-lines")
    await push_image(wharf, repo, img, "1.0.0")
    writer = wharf.app.state.audit_writer
    await writer.drain()
    await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers={**wharf.auth, "User-Agent": "new-line"})
    old = msgspec.json.decode(
        msgspec.json.encode(record_of(RegistryEvent(RegistryAction.MANIFEST_GET, repo, None), ""))
    )
    del old["part_of_pull"]  # a line spooled by an earlier version of Wharf
    old.update(id=uuid.uuid4().hex, user_agent="old-line")
    with open(writer.spool.path, "ab") as spool:
        spool.write(msgspec.json.encode(old) + b"\n")
    await writer.drain()
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        stmt = select(DownloadEvent.user_agent, DownloadEvent.part_of_pull).where(
            DownloadEvent.user_agent.in_(["new-line", "old-line"])
        )
        assert sorted(tuple(row) for row in await conn.execute(stmt)) == [("new-line", None), ("old-line", None)]
