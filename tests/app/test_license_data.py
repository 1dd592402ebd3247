"""Ordinary license data never breaks a pull: any name in the Warning header, any dates in the arithmetic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import update

from app.models import License
from registry.auth import Decision
from registry.http.gate import warning_headers
from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Browser, customer_user


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Acme Prod", "license 'Acme Prod' expires on 2026-12-01"),
        ('Say "hi" \\ 50%', "license 'Say \\\"hi\\\" \\\\ 50%25' expires on 2026-12-01"),
        ("株式会社 Prod ✓", "license '%E6%A0%AA%E5%BC%8F%E4%BC%9A%E7%A4%BE Prod %E2%9C%93' expires on 2026-12-01"),
        ("Evil\r\nSet-Cookie: x=1", "license 'Evil%0D%0ASet-Cookie: x=1' expires on 2026-12-01"),
    ],
)
def test_the_warning_header_keeps_ascii_readable_and_escapes_the_rest(name, shown):
    (value,) = warning_headers(Decision(True, warning=f"license '{name}' expires on 2026-12-01")).values()
    assert value == f'299 - "{shown}"'
    value.encode("ascii")  # always encodable, never a line break
    assert unquote(shown.replace('\\"', '"').replace("\\\\", "\\")) == f"license '{name}' expires on 2026-12-01"


async def _licensed_pull(wharf, name: str, **row: object) -> tuple[str, str, str, int]:
    """A customer with a license called `name` (its row then set to `row`), a pull token, and a tagged image."""
    api = {"Authorization": f"Bearer {wharf.token}"}
    repo = wharf.repo("data")
    await push_image(wharf, repo, image(f"{repo}-1"), "1.0.0")
    person = await customer_user(wharf, "admin")
    until = datetime.now(UTC) + timedelta(days=5)
    body = {
        "customer_id": person.customer_id,
        "name": f"L {uuid.uuid4().hex[:6]}",
        "grants": [{"repository": repo, "tags": ["*"]}],
        "valid_until": until.isoformat(),
    }
    lic = (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).json()
    engine = wharf.app.state.registry.metadata.engine
    async with engine.begin() as conn:  # as rows written before names and dates were checked may be
        await conn.execute(update(License).where(License.id == lic["id"]).values(name=name, **row))
    wharf.app.state.policy.forget()
    pull = await wharf.client.post(
        f"/api/v1/customers/{person.customer_id}/pull-tokens", json={"name": "ci"}, headers=api
    )
    return repo, pull.json()["token"], person.email, person.customer_id


@pytest.mark.parametrize("name", ["株式会社 Prod ✓", "Line\r\nBreak"])
async def test_a_pull_near_the_end_of_a_license_with_any_name_succeeds(wharf, name):
    repo, token, _, _ = await _licensed_pull(wharf, name)
    auth = {"Authorization": basic("x", token)}
    for method in ("GET", "HEAD"):
        r = await wharf.client.request(method, f"/v2/{repo}/manifests/1.0.0", headers=auth)
        assert r.status_code == 200, (method, r.status_code, r.text[:300])
        warning = r.headers["warning"]
        assert warning.startswith("299 - \"license '") and "expires on" in warning
        assert "\r" not in warning and "\n" not in warning


@pytest.mark.parametrize(
    "row",
    [
        {"valid_until": datetime(9999, 12, 31, tzinfo=UTC), "grace_days": 30},
        {"grace_days": 1_000_000_000},
        {"valid_until": datetime(9999, 12, 31, tzinfo=UTC), "grace_days": 1_000_000_000},
    ],
)
async def test_extreme_dates_and_grace_days_do_not_overflow(wharf, row):
    repo, token, email, _ = await _licensed_pull(wharf, "Far Future", **row)
    auth = {"Authorization": basic("x", token)}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    r = await wharf.client.get(f"/v2/{repo}/tags/list", headers=auth)
    assert r.status_code == 200 and r.json()["tags"] == ["1.0.0"]
    async with Browser(wharf.app) as browser:
        await browser.sign_in(email, "long enough")
        r = await browser.get("/portal/")
        assert r.status_code == 200 and repo in r.text
