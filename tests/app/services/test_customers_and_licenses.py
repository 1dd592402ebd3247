"""Customers and licenses through their services: permission, validation, the write, its admin-log entry and
outbox event in one transaction, and the cache drop after commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.models import License, Organization, OutboxMessage, Token
from app.services import Forbidden, Invalid, NotFound
from app.services.licenses import GrantInput, LicenseInput


async def test_create_rename_delete_customer_records_each_change(world):
    admin = world.staff()
    org = await world.services.customers.create(admin, "  Initech  ")
    assert (org.name, org.slug) == ("Initech", "initech")
    again = await world.services.customers.create(admin, "Initech")
    assert again.slug == "initech-2"
    await world.services.customers.rename(admin, org.id, "Initech Corp")
    [created] = await world.log("customer.created", org.id)
    [renamed] = await world.log("customer.updated", org.id)
    assert json.loads(renamed.after) == {"name": "Initech Corp", "slug": "initech"} and renamed.via == "portal"
    [event] = [m for m in await world.outbox("customer.updated") if f'"id": "{org.id}"' in m.payload]
    assert json.loads(event.payload)["after"]["name"] == "Initech Corp"
    token, _ = await world.services.pull_tokens.create(admin, org.id, "ci", None)
    await world.services.customers.delete(admin, org.id)
    async with world.services.deps.engine.connect() as conn:
        assert await conn.scalar(select(Organization.id).where(Organization.id == org.id)) is None
        assert await conn.scalar(select(Token.id).where(Token.id == token.id)) is None  # it works no more
    assert await world.log("customer.deleted", org.id) and created


async def test_roles_without_the_permission_are_refused(world):
    for role in ("support", "auditor", "release"):
        with pytest.raises(Forbidden):
            await world.services.customers.create(world.staff(role), "Nope")


async def test_invalid_names_are_refused_by_field_and_nothing_is_written(world):
    admin = world.staff()
    async with world.services.deps.engine.connect() as conn:
        before = await conn.scalar(select(func.count()).select_from(OutboxMessage))
    for name, words in (("   ", "needs a name"), ("x" * 201, "200 characters"), ("evil\nname", "control characters")):
        with pytest.raises(Invalid) as refused:
            await world.services.customers.create(admin, name)
        assert refused.value.field == "name" and words in refused.value.message
    assert await world.services.customers.create(admin, "株式会社 Prod ✓")  # any script
    async with world.services.deps.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(OutboxMessage)) == before + 1


async def test_license_lifecycle_drops_access_caches_after_each_commit(world):
    admin = world.staff()
    org = await world.services.customers.create(admin, "Licensed")
    world.forgotten.clear()
    data = LicenseInput(org.id, "Prod", [GrantInput(f"{world.slug}/app", ["^1"])])
    lic = await world.services.licenses.create(admin, data)
    assert world.forgotten == [1]
    assert await world.services.licenses.update(admin, lic.id, {"grants": [GrantInput(f"{world.slug}/app", ["^2"])]})
    assert not await world.services.licenses.update(admin, lic.id, {"name": "Prod"})  # nothing changed
    await world.services.licenses.set_status(admin, lic.id, "suspended")
    await world.services.licenses.delete(admin, lic.id)
    assert len(world.forgotten) == 4
    [update] = await world.log("license.updated", lic.id)
    assert json.loads(update.before)["grants"][0]["tags"] == ["^1"]
    assert json.loads(update.after)["grants"][0]["tags"] == ["^2"]
    assert await world.log("license.suspended", lic.id) and await world.log("license.deleted", lic.id)


async def test_license_rules_are_checked_once_for_every_caller(world):
    admin = world.staff()
    org = await world.services.customers.create(admin, "Rules")

    async def refused(**fields: object) -> str:
        base = {"customer_id": org.id, "name": "L", "grants": [GrantInput(f"{world.slug}/app", ["*"])], **fields}
        with pytest.raises(Invalid) as exc:
            await world.services.licenses.create(admin, LicenseInput(**base))  # type: ignore[arg-type]
        return exc.value.field

    assert await refused(grants=[GrantInput("other/app", ["*"])]) == "grants[0].repository"
    assert await refused(grants=[GrantInput(f"{world.slug}/app", [">=nope"])]) == "grants[0]"
    assert await refused(grace_days=3651) == "grace_days"
    assert await refused(grace_days=-1) == "grace_days"
    assert await refused(valid_until=datetime(9999, 12, 31, tzinfo=UTC)) == "valid_until"
    assert await refused(valid_from=datetime(1999, 1, 1, tzinfo=UTC)) == "valid_from"
    start = datetime(2030, 2, 1, tzinfo=UTC)
    assert await refused(valid_from=start, valid_until=datetime(2030, 1, 1, tzinfo=UTC)) == "valid_until"
    assert await refused(name="a\r\nb") == "name"
    async with world.services.deps.engine.connect() as conn:
        assert await conn.scalar(select(func.count()).where(License.customer_id == org.id)) == 0


async def test_another_vendors_objects_are_not_found(world):
    admin = world.staff()
    org = await world.services.customers.create(admin, "Mine")
    lic = await world.services.licenses.create(admin, LicenseInput(org.id, "Mine", []))
    rival = await world.services.accounts.create_vendor(
        f"r{world.slug}", f"a@r{world.slug}.test", "correct-horse", via=world.staff().via
    )
    intruder = world.staff().__class__.person(
        rival.user_id, "a@rival", rival.vendor_id, "vendor", rival.vendor_id, "admin", vendor_slug=f"r{world.slug}"
    )
    for attempt in (
        world.services.customers.rename(intruder, org.id, "x"),
        world.services.customers.rename(intruder, org.id, ""),  # not found first, whatever the input
        world.services.licenses.update(intruder, lic.id, {"grants": [GrantInput("other/x", ["*"])]}),
        world.services.licenses.delete(intruder, lic.id),
        world.services.pull_tokens.create(intruder, org.id, "x", None),
        world.services.invitations.invite_customer_person(intruder, org.id, "not-an-email", "member"),
    ):
        with pytest.raises(NotFound):
            await attempt
