"""The repository settings service on its own (both databases): who may change what, validation, records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.identity import Actor
from app.models import AdminAuditEntry, Organization
from app.services.errors import Forbidden, Invalid, NotFound
from tests.registry.helpers import push_image
from tests.support.oci import image


async def vendor_actor(wharf, role: str = "admin") -> Actor:
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        vendor_id = (
            await conn.execute(
                select(Organization.id).where(Organization.slug == "acme", Organization.kind == "vendor")
            )
        ).scalar_one()
    return Actor.person(1, "someone@acme.test", vendor_id, "vendor", vendor_id, role, vendor_slug="acme")


@pytest.fixture
async def pushed(wharf):
    repo = wharf.repo("svc")
    await push_image(wharf, repo, image("svc"), "1.0.0")
    return repo


async def test_release_engineers_change_settings_and_the_rule_drops_cached_answers(wharf, pushed):
    service = wharf.app.state.services.repository_settings
    policy = wharf.app.state.policy
    actor = await vendor_actor(wharf, "release")
    assert await policy.immutability_rule(actor.vendor_id, pushed) is None
    saved, policy.cache_seconds = policy.cache_seconds, 60.0  # cached until the change drops it
    try:
        assert await policy.immutability_rule(actor.vendor_id, pushed) is None
        after = await service.update(actor, pushed, {"immutable_tags": "semver", "display_name": "  Svc  "})
        assert after["display_name"] == "Svc" and after["immutable_tags"] == "semver"
        assert await policy.immutability_rule(actor.vendor_id, pushed) == "semver"
    finally:
        policy.cache_seconds = saved
    assert (await service.update(actor, pushed, {"immutable_tags": "default"}))["immutable_tags"] is None


async def test_who_may_not(wharf, pushed):
    service = wharf.app.state.services.repository_settings
    with pytest.raises(Forbidden):
        await service.update(await vendor_actor(wharf, "support"), pushed, {"display_name": "x"})
    with pytest.raises(Forbidden):
        await service.set_notes(await vendor_actor(wharf, "account_manager"), pushed, "1.0.0", "x")
    admin = await vendor_actor(wharf)
    with pytest.raises(NotFound):
        await service.update(admin, "globex/app", {"display_name": "x"})
    with pytest.raises(NotFound):
        await service.set_notes(admin, pushed, "0.0.1", "x")
    with pytest.raises(Invalid) as bad:
        await service.update(admin, pushed, {"display_name": "x" * 201, "icon_url": "ftp://x", "immutable_tags": "?"})
    assert set(bad.value.fields) == {"display_name", "icon_url", "immutable_tags"}


async def test_notes_are_written_removed_and_recorded(wharf, pushed):
    service = wharf.app.state.services.repository_settings
    admin = await vendor_actor(wharf)
    assert await service.set_notes(admin, pushed, "1.0.0", "  Fixed it.  ") == "Fixed it."
    assert await service.set_notes(admin, pushed, "1.0.0", "Fixed it.") == "Fixed it."  # unchanged: not recorded
    assert await service.set_notes(admin, pushed, "1.0.0", "") is None
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        actions = (
            await conn.execute(
                select(AdminAuditEntry.action)
                .where(AdminAuditEntry.object_id == pushed[:64])
                .order_by(AdminAuditEntry.id)
            )
        ).scalars()
        assert list(actions) == ["release_notes.updated", "release_notes.removed"]
