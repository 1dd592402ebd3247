"""Token restrictions and license limits through the services, on both databases: who may set them, how
they are validated, what new tokens start with, and what the admin log and the outbox keep."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select

from app.identity import Actor, Channel
from app.limits import Limits, Restrictions
from app.models import AdminAuditEntry, Organization, OutboxMessage
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.licenses import GrantInput, LicenseInput
from app.services.tokens import restrictions_of


@pytest.fixture
async def world(wharf):
    """The vendor as the system actor, a new customer, and a customer admin of it."""
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        vendor_id = (await conn.execute(select(Organization.id).where(Organization.slug == "acme"))).scalar_one()
    services = wharf.app.state.services
    vendor = replace(Actor.system(vendor_id, "acme", Channel.API, "token:test (staff)"), address="192.0.2.10")
    customer = await services.customers.create(vendor, f"Limits {uuid.uuid4().hex[:6]}")
    customer_admin = Actor(
        Channel.PORTAL, vendor_id, "acme", customer.id, "customer", "admin", "user:test (ops)", address="192.0.2.11"
    )

    class World:
        pass

    w = World()
    w.services, w.vendor, w.customer, w.customer_admin, w.engine = services, vendor, customer, customer_admin, engine
    return w


async def entries(engine, action, object_id):
    async with engine.connect() as conn:
        found = await conn.execute(
            select(AdminAuditEntry.before, AdminAuditEntry.after).where(
                AdminAuditEntry.action == action, AdminAuditEntry.object_id == str(object_id)
            )
        )
        return [(json.loads(b) if b else None, json.loads(a) if a else None) for b, a in found]


async def test_the_vendor_sets_networks_and_limits_normalised(world):
    wanted = Restrictions(("10.1.2.3/8", " 2001:db8::1/32", "10.0.0.0/8", "192.0.2.7"), Limits(pulls_per_day=3))
    token, _ = await world.services.pull_tokens.create(world.vendor, world.customer.id, "prod", None, wanted)
    assert restrictions_of(token) == Restrictions(
        ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"), Limits(pulls_per_day=3)
    )
    [(_, after)] = await entries(world.engine, "pull_token.created", token.id)
    assert after["allowed_cidrs"] == ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]
    assert after["limits"] == {"pulls_per_day": 3, "pulls_per_month": None, "bytes_per_month": None}


@pytest.mark.parametrize(
    ("restrictions", "field"),
    [
        (Restrictions(("10.0.0.0/8", "not-a-network")), "allowed_cidrs[1]"),
        (Restrictions(limits=Limits(pulls_per_day=0)), "limits.pulls_per_day"),
        (Restrictions(limits=Limits(bytes_per_month=10**19)), "limits.bytes_per_month"),
    ],
)
async def test_invalid_restrictions_name_the_field(world, restrictions, field):
    with pytest.raises(Invalid) as caught:
        await world.services.pull_tokens.create(world.vendor, world.customer.id, "bad", None, restrictions)
    assert caught.value.field == field


async def test_customers_get_their_licenses_defaults_and_cannot_choose(world):
    services, vendor = world.services, world.vendor

    def license_input(name, defaults):
        grants = [GrantInput("acme/app", ["*"])]
        return LicenseInput(world.customer.id, name, grants, token_defaults=defaults)

    await services.licenses.create(
        vendor, license_input("One", Restrictions(("10.0.0.0/8",), Limits(pulls_per_day=10, bytes_per_month=5000)))
    )
    await services.licenses.create(
        vendor, license_input("Two", Restrictions(("10.1.0.0/16", "192.0.2.0/24"), Limits(pulls_per_day=20)))
    )
    token, _ = await services.pull_tokens.create(world.customer_admin, world.customer.id, "mine", None)
    # the tightest of both: the networks both allow, the lower limits
    assert restrictions_of(token) == Restrictions(("10.1.0.0/16",), Limits(pulls_per_day=10, bytes_per_month=5000))
    with pytest.raises(Forbidden):
        await services.pull_tokens.create(world.customer_admin, world.customer.id, "loose", None, Restrictions())
    with pytest.raises(Forbidden):
        await services.pull_tokens.update(world.customer_admin, token.id, {"limits": Limits()})

    await services.licenses.create(vendor, license_input("Three", Restrictions(("172.16.0.0/12",))))
    with pytest.raises(Invalid) as caught:
        await services.pull_tokens.create(world.customer_admin, world.customer.id, "nowhere", None)
    assert "do not overlap" in caught.value.message


async def test_updating_a_token_is_recorded_with_before_and_after(world):
    services = world.services
    token, _ = await services.pull_tokens.create(world.vendor, world.customer.id, "ci", None)
    changes = {"allowed_cidrs": ["10.0.0.0/8"], "limits": Limits(pulls_per_month=100)}
    await services.pull_tokens.update(world.vendor, token.id, changes)
    await services.pull_tokens.update(world.vendor, token.id, changes)  # nothing changes: nothing recorded
    [(before, after)] = await entries(world.engine, "pull_token.updated", token.id)
    assert before["allowed_cidrs"] == [] and after["allowed_cidrs"] == ["10.0.0.0/8"]
    assert after["limits"]["pulls_per_month"] == 100
    async with world.engine.connect() as conn:
        events = (
            await conn.execute(select(OutboxMessage.payload).where(OutboxMessage.event == "pull_token.updated"))
        ).scalars()
        assert any(json.loads(p)["object"]["id"] == str(token.id) for p in events)
    with pytest.raises(Invalid):
        await services.pull_tokens.update(world.vendor, token.id, {"role": "admin"})
    await services.pull_tokens.revoke(world.vendor, token.id)
    with pytest.raises(Conflict):
        await services.pull_tokens.update(world.vendor, token.id, {"limits": Limits()})


async def test_license_limits_and_defaults_are_validated_and_logged(world):
    services = world.services
    grants = [GrantInput("acme/app", ["*"])]
    lic = await services.licenses.create(
        world.vendor, LicenseInput(world.customer.id, "Quota", grants, limits=Limits(pulls_per_month=50))
    )
    changed = await services.licenses.update(
        world.vendor, lic.id, {"token_defaults": Restrictions(("2001:db8::/32",), Limits(pulls_per_day=5))}
    )
    assert changed
    [(before, after)] = await entries(world.engine, "license.updated", lic.id)
    assert before["token_defaults"] == {"allowed_cidrs": [], "limits": Limits().json()}
    assert after["token_defaults"]["allowed_cidrs"] == ["2001:db8::/32"]
    assert after["limits"]["pulls_per_month"] == 50
    with pytest.raises(Invalid) as caught:
        await services.licenses.update(world.vendor, lic.id, {"token_defaults": Restrictions(("10.0.0.0/33",))})
    assert caught.value.field == "token_defaults.allowed_cidrs[0]"
    with pytest.raises(Invalid) as caught:
        await services.licenses.update(world.vendor, lic.id, {"limits": Limits(pulls_per_day=-1)})
    assert caught.value.field == "limits.pulls_per_day"
