"""Token restrictions and license limits through the services, on both databases: who may set them, how
they are validated, what new tokens start with, and what the admin log and the outbox keep."""

from __future__ import annotations

import json
import uuid

import pytest

from app.limits import Limits, Restrictions
from app.services.errors import Conflict, Forbidden, Invalid
from app.services.licenses import GrantInput, LicenseInput
from app.services.tokens import restrictions_of


@pytest.fixture
async def customer(world, smtp_sink):
    """A customer of the service world's vendor (tests/app/services/conftest.py) and its admin, as actors."""
    org = await world.services.customers.create(world.staff(), f"Limits {uuid.uuid4().hex[:6]}")
    email = f"ops-{uuid.uuid4().hex[:6]}@limits.test"
    await world.services.invitations.invite_customer_person(world.staff(), org.id, email, "admin")
    link = smtp_sink.wait_for(email, "invitation").link("/portal/invitations/")
    person = (await world.services.invitations.accept(link.rsplit("/", 1)[1], "Ops", "long enough", None)).user.id
    return org, world.customer_person(org.id, person, "admin")


async def changes_of(world, action, object_id):
    """(before, after) of each admin-log entry, as JSON."""
    entries = await world.log(action, object_id)
    return [(json.loads(e.before) if e.before else None, json.loads(e.after) if e.after else None) for e in entries]


async def test_the_vendor_sets_networks_and_limits_normalised(world, customer):
    org, _ = customer
    wanted = Restrictions(("10.1.2.3/8", " 2001:db8::1/32", "10.0.0.0/8", "192.0.2.7"), Limits(pulls_per_day=3))
    token, _ = await world.services.pull_tokens.create(world.staff(), org.id, "prod", None, wanted)
    assert restrictions_of(token) == Restrictions(
        ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"), Limits(pulls_per_day=3)
    )
    [(_, after)] = await changes_of(world, "pull_token.created", token.id)
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
async def test_invalid_restrictions_name_the_field(world, customer, restrictions, field):
    with pytest.raises(Invalid) as caught:
        await world.services.pull_tokens.create(world.staff(), customer[0].id, "bad", None, restrictions)
    assert caught.value.field == field


async def test_customers_get_their_licenses_defaults_and_cannot_choose(world, customer):
    (org, customer_admin), services = customer, world.services

    def license_input(name, defaults):
        return LicenseInput(org.id, name, [GrantInput(f"{world.slug}/app", ["*"])], token_defaults=defaults)

    one = Restrictions(("10.0.0.0/8",), Limits(pulls_per_day=10, bytes_per_month=5000))
    await services.licenses.create(world.staff(), license_input("One", one))
    two = Restrictions(("10.1.0.0/16", "192.0.2.0/24"), Limits(pulls_per_day=20))
    await services.licenses.create(world.staff(), license_input("Two", two))
    token, _ = await services.pull_tokens.create(customer_admin, org.id, "mine", None)
    # the tightest of both: the networks both allow, the lower limits
    assert restrictions_of(token) == Restrictions(("10.1.0.0/16",), Limits(pulls_per_day=10, bytes_per_month=5000))
    with pytest.raises(Forbidden):
        await services.pull_tokens.create(customer_admin, org.id, "loose", None, Restrictions())
    with pytest.raises(Forbidden):
        await services.pull_tokens.update(customer_admin, token.id, {"limits": Limits()})

    await services.licenses.create(world.staff(), license_input("Three", Restrictions(("172.16.0.0/12",))))
    with pytest.raises(Invalid) as caught:
        await services.pull_tokens.create(customer_admin, org.id, "nowhere", None)
    assert "do not overlap" in caught.value.message


async def test_updating_a_token_is_recorded_with_before_and_after(world, customer):
    services, admin = world.services, world.staff()
    token, _ = await services.pull_tokens.create(admin, customer[0].id, "ci", None)
    drops = len(world.forgotten)
    changes = {"allowed_cidrs": ["10.0.0.0/8"], "limits": Limits(pulls_per_month=100)}
    await services.pull_tokens.update(admin, token.id, changes)
    assert len(world.forgotten) == drops + 1  # cached credentials go, so the change bites at once
    await services.pull_tokens.update(admin, token.id, changes)  # nothing changes: nothing recorded
    [(before, after)] = await changes_of(world, "pull_token.updated", token.id)
    assert before["allowed_cidrs"] == [] and after["allowed_cidrs"] == ["10.0.0.0/8"]
    assert after["limits"]["pulls_per_month"] == 100
    events = [json.loads(m.payload) for m in await world.outbox("pull_token.updated")]
    assert [e["object"]["id"] for e in events] == [str(token.id)]
    with pytest.raises(Invalid):
        await services.pull_tokens.update(admin, token.id, {"role": "admin"})
    with pytest.raises(Forbidden):
        await services.pull_tokens.update(world.staff("support"), token.id, {"limits": Limits()})
    await services.pull_tokens.revoke(admin, token.id)
    with pytest.raises(Conflict):
        await services.pull_tokens.update(admin, token.id, {"limits": Limits()})


async def test_license_limits_and_defaults_are_validated_and_logged(world, customer):
    services, admin = world.services, world.staff()
    grants = [GrantInput(f"{world.slug}/app", ["*"])]
    lic = await services.licenses.create(
        admin, LicenseInput(customer[0].id, "Quota", grants, limits=Limits(pulls_per_month=50))
    )
    defaults = Restrictions(("2001:db8::/32",), Limits(pulls_per_day=5))
    assert await services.licenses.update(admin, lic.id, {"token_defaults": defaults})
    [(before, after)] = await changes_of(world, "license.updated", lic.id)
    assert before["token_defaults"] == {"allowed_cidrs": [], "limits": Limits().json()}
    assert after["token_defaults"]["allowed_cidrs"] == ["2001:db8::/32"]
    assert after["limits"]["pulls_per_month"] == 50
    with pytest.raises(Invalid) as caught:
        await services.licenses.update(admin, lic.id, {"token_defaults": Restrictions(("10.0.0.0/33",))})
    assert caught.value.field == "token_defaults.allowed_cidrs[0]"
    with pytest.raises(Invalid) as caught:
        await services.licenses.update(admin, lic.id, {"limits": Limits(pulls_per_day=-1)})
    assert caught.value.field == "limits.pulls_per_day"
