"""GET /api/v1/pulls and its export: filters, cursor paging, and a CSV that Python's csv module reads."""

from __future__ import annotations

import base64
import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from app.reports.events import COLUMNS, read_cursor
from app.services.errors import Invalid
from tests.app.test_audit import customer_token
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image


async def test_pull_listing_filters_pages_and_exports(wharf):
    repo, ok, no = wharf.repo("listed-pulls"), image("pulls-ok"), image("pulls-no")
    await push_image(wharf, repo, ok, "1.0.0")
    await push_image(wharf, repo, no, "2.0.0")
    ids, token = await customer_token(wharf, repo, ["1.*"])
    auth = {"Authorization": basic("x", token), "User-Agent": "pulls-api-test"}
    for _ in range(3):
        assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    await wharf.app.state.audit_writer.drain()
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = ids["customer"]["id"]

    r = await wharf.client.get("/api/v1/pulls", params={"customer_id": customer}, headers=api)
    items = r.json()["items"]
    assert len(items) == 4 and [i["at"] for i in items] == sorted((i["at"] for i in items), reverse=True)
    denied = (
        await wharf.client.get("/api/v1/pulls", params={"customer_id": customer, "decision": "denied"}, headers=api)
    ).json()["items"]
    assert [(d["reference"], d["status"]) for d in denied] == [("2.0.0", 403)]
    allowed = (
        await wharf.client.get(
            "/api/v1/pulls", params={"customer_id": customer, "decision": "allowed", "tag": "1.0.0"}, headers=api
        )
    ).json()["items"]
    assert len(allowed) == 3 and all(a["license_id"] == ids["license"]["id"] for a in allowed)

    seen, cursor = [], None
    while True:
        params = {"customer_id": customer, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await wharf.client.get("/api/v1/pulls", params=params, headers=api)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(i["id"] for i in items) and len(set(seen)) == 4
    r = await wharf.client.get("/api/v1/pulls", params={"cursor": "garbage!"}, headers=api)
    assert r.status_code == 400

    r = await wharf.client.get("/api/v1/pulls/export", params={"customer_id": customer}, headers=api)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert tuple(rows[0]) == COLUMNS and len(rows) == 5
    record = dict(zip(COLUMNS, rows[1], strict=True))
    assert record["repository"] == repo and record["user_agent"] == "pulls-api-test"
    r = await wharf.client.get("/api/v1/pulls/export", params={"customer_id": customer, "format": "json"}, headers=api)
    assert [e["id"] for e in r.json()] == [dict(zip(COLUMNS, row, strict=True))["id"] for row in rows[1:]]


async def test_another_vendor_sees_none_of_these_pulls(wharf):
    import uuid

    from app.services.accounts import bootstrap_vendor

    slug = f"peer{uuid.uuid4().hex[:6]}"
    other = await bootstrap_vendor(wharf.app.state.registry.metadata.engine, slug, f"a@{slug}.test", "correct-horse")
    r = await wharf.client.get("/api/v1/pulls", headers={"Authorization": f"Bearer {other.token}"})
    assert r.json()["items"] == []
    r = await wharf.client.get("/api/v1/pulls/export", headers={"Authorization": f"Bearer {other.token}"})
    assert r.text.strip() == ",".join(COLUMNS)


@settings(max_examples=500)
@given(st.binary(max_size=80) | st.builds(lambda t, i: f"{t}|{i}".encode(), st.text(max_size=30), st.text(max_size=40)))
def test_a_cursor_is_one_the_api_made_or_invalid(raw):
    """Only a moment and an event id are read from a cursor: an id with a NUL character was a 500 on PostgreSQL."""
    try:
        when, event_id = read_cursor(base64.urlsafe_b64encode(raw).decode())
    except Invalid:
        return
    assert when.tzinfo is not None  # compared with a timestamptz column
    assert event_id and event_id.isascii() and event_id.isprintable() and "'" not in event_id


async def test_a_forged_cursor_is_a_400_on_both_databases(wharf):
    h = {"Authorization": f"Bearer {wharf.token}"}
    for raw in ("2026-11-01T00:00:00+00:00|\x00", "2026-11-01T00:00:00+00:00|a'b", "2026-11-01T00:00:00+00:00|"):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode()
        for path in ("/api/v1/pulls", "/api/v1/activity"):
            r = await wharf.client.get(path, params={"cursor": cursor}, headers=h)
            assert r.status_code == 400 and r.json()["extra"][0]["key"] == "cursor", (path, raw, r.text)
