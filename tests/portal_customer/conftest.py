"""A licensed customer for the portal tests: a repository with tags 1.0.0, 1.5.0, 2.0.0 of which a
license grants `>=1.0.0 <2.0.0` and ends in five days, and a repository no license names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Person, customer_user


@dataclass
class Licensed:
    admin: Person
    member: Person
    repo: str
    secret_repo: str


async def license_for(wharf, customer_id: int, repo: str, tags: list[str], valid_until: datetime) -> None:
    api = {"Authorization": f"Bearer {wharf.token}"}
    body = {
        "customer_id": customer_id,
        "name": f"Prod {uuid.uuid4().hex[:4]}",
        "grants": [{"repository": repo, "tags": tags}],
        "valid_until": valid_until.isoformat(),
    }
    r = await wharf.client.post("/api/v1/licenses", json=body, headers=api)
    assert r.status_code == 201, r.text


@pytest.fixture
async def licensed(wharf) -> Licensed:
    repo, secret_repo = wharf.repo("app"), wharf.repo("secret")
    for tag in ("1.0.0", "1.5.0", "2.0.0"):
        await push_image(wharf, repo, image(f"{repo}-{tag}"), tag)
    await push_image(wharf, secret_repo, image(f"{secret_repo}-1"), "1.0.0")
    admin = await customer_user(wharf, "admin")
    member = await customer_user(wharf, "member", admin.customer_id)
    await license_for(wharf, admin.customer_id, repo, [">=1.0.0 <2.0.0"], datetime.now(UTC) + timedelta(days=5))
    return Licensed(admin, member, repo, secret_repo)
