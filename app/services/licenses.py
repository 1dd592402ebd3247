"""Licenses: a customer's grants of repositories and tag rules, validity window and status."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app.domain_events import DomainEvent
from app.identity import Actor
from app.limits import Limits, Restrictions
from app.models import License, LicenseGrant
from app.roles import Permission
from app.services import customers, validation
from app.services.base import Service, require
from app.services.errors import Invalid, NotFound
from app.times import iso, utcnow

MAX_GRANTS = 200
MAX_RULES = 200


@dataclass(frozen=True)
class GrantInput:
    repository: str
    tags: list[str]


@dataclass(frozen=True)
class LicenseInput:
    customer_id: int
    name: str
    grants: list[GrantInput]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    grace_days: int = 0
    notes: str = ""
    limits: Limits = field(default_factory=Limits)  # shared by every pull under the license
    token_defaults: Restrictions = field(default_factory=Restrictions)  # what the customer's new tokens get


EDITABLE = ("name", "notes", "grants", "valid_from", "valid_until", "grace_days", "limits", "token_defaults")


async def find(session: AsyncSession, vendor_id: int, license_id: int) -> License:
    found = await session.scalar(select(License).where(License.id == license_id, License.vendor_id == vendor_id))
    if found is None:
        raise NotFound(f"license {license_id} not found")
    return found


async def grants_of(session: AsyncSession, license_ids: Sequence[int]) -> dict[int, list[GrantInput]]:
    rows = await session.execute(
        select(LicenseGrant).where(LicenseGrant.license_id.in_(license_ids)).order_by(LicenseGrant.id)
    )
    result: dict[int, list[GrantInput]] = {i: [] for i in license_ids}
    for (grant,) in rows:
        result[grant.license_id].append(GrantInput(grant.repository, json.loads(grant.tags)))
    return result


def snapshot(lic: License, grants: list[GrantInput]) -> dict[str, Any]:
    """What the admin log keeps of a license: everything a reviewer compares, no timestamps."""
    return {
        "customer_id": lic.customer_id,
        "name": lic.name,
        "notes": lic.notes,
        "status": lic.status,
        "valid_from": iso(lic.valid_from),
        "valid_until": iso(lic.valid_until),
        "grace_days": lic.grace_days,
        "grants": [{"repository": g.repository, "tags": g.tags} for g in grants],
        "limits": Limits.of(lic.limits).json(),
        "token_defaults": Restrictions.of(lic.token_defaults).json(),
    }


def _limits_text(limits: Limits) -> str | None:
    return json.dumps(validation.limits("limits", limits).json()) if limits else None


def _defaults_text(defaults: Restrictions) -> str | None:
    defaults = validation.restrictions("token_defaults.", defaults)
    return json.dumps(defaults.json()) if defaults else None


def check_grants(vendor_slug: str, grants: list[GrantInput]) -> list[GrantInput]:
    """Parse every rule now, so the policy never meets an unusable one; errors name the grant.
    A license may hold no grant yet (it then grants nothing)."""
    if len(grants) > MAX_GRANTS:
        raise Invalid("grants", f"A license holds at most {MAX_GRANTS} grants.")
    cleaned = []
    for i, grant in enumerate(grants):
        repository, rules = grant.repository.strip(), [t.strip() for t in grant.tags]
        if not repository.startswith(vendor_slug + "/"):
            raise Invalid(f"grants[{i}].repository", f"Repositories of this vendor start with '{vendor_slug}/'.")
        if len(rules) > MAX_RULES:
            raise Invalid(f"grants[{i}].tags", f"A grant holds at most {MAX_RULES} tag rules.")
        try:
            licensing.parse_grant(repository, rules)
        except licensing.InvalidRule as exc:
            raise Invalid(f"grants[{i}]", exc.message) from None
        cleaned.append(GrantInput(repository, rules))
    return cleaned


async def _replace_grants(session: AsyncSession, license_id: int, grants: list[GrantInput]) -> None:
    await session.execute(delete(LicenseGrant).where(LicenseGrant.license_id == license_id))
    session.add_all(
        LicenseGrant(license_id=license_id, repository=g.repository, tags=json.dumps(g.tags)) for g in grants
    )


class LicenseService(Service):
    async def create(self, actor: Actor, data: LicenseInput) -> License:
        require(actor, Permission.MANAGE_CUSTOMERS)
        async with self.change(actor) as change:
            await customers.find(change.session, actor.vendor_id, data.customer_id)  # another's: not found
            name = validation.name("name", data.name, "license")
            notes = validation.notes("notes", data.notes)
            grants = check_grants(actor.vendor_slug, data.grants)
            validation.window(data.valid_from, data.valid_until, data.grace_days)
            lic = License(
                vendor_id=actor.vendor_id,
                customer_id=data.customer_id,
                name=name,
                notes=notes,
                status="active",
                valid_from=validation.moment("valid_from", data.valid_from),
                valid_until=validation.moment("valid_until", data.valid_until),
                grace_days=data.grace_days,
                limits=_limits_text(data.limits),
                token_defaults=_defaults_text(data.token_defaults),
            )
            change.session.add(lic)
            await change.session.flush()
            await _replace_grants(change.session, lic.id, grants)
            await change.session.refresh(lic)
            change.record(DomainEvent.LICENSE_CREATED, "license", lic.id, after=snapshot(lic, grants))
            change.drops_access = True
        return lic

    async def update(self, actor: Actor, license_id: int, changes: dict[str, Any]) -> bool:
        """Apply the given fields (any of EDITABLE); False when nothing changed (and nothing is recorded)."""
        require(actor, Permission.MANAGE_CUSTOMERS)
        changes = dict(changes)
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
        async with self.change(actor) as change:
            lic = await find(change.session, actor.vendor_id, license_id)  # another vendor's: not found
            if "name" in changes:
                changes["name"] = validation.name("name", changes["name"], "license")
            if "notes" in changes:
                changes["notes"] = validation.notes("notes", changes["notes"])
            if "limits" in changes:
                changes["limits"] = _limits_text(changes["limits"])
            if "token_defaults" in changes:
                changes["token_defaults"] = _defaults_text(changes["token_defaults"])
            grants = check_grants(actor.vendor_slug, changes.pop("grants")) if "grants" in changes else None
            current = (await grants_of(change.session, [lic.id]))[lic.id]
            merged: dict[str, Any] = {
                "valid_from": lic.valid_from,
                "valid_until": lic.valid_until,
                "grace_days": lic.grace_days,
            }
            merged.update({k: v for k, v in changes.items() if k in merged})
            validation.window(merged["valid_from"], merged["valid_until"], merged["grace_days"])
            before = snapshot(lic, current)
            for field, value in changes.items():
                setattr(lic, field, validation.moment(field, value) if field.startswith("valid_") else value)
            after = snapshot(lic, grants if grants is not None else current)
            if after == before:
                return False
            lic.updated_at = utcnow()
            if grants is not None and grants != current:
                await _replace_grants(change.session, lic.id, grants)
            change.record(DomainEvent.LICENSE_UPDATED, "license", lic.id, before=before, after=after)
            change.drops_access = True
        return True

    async def set_status(self, actor: Actor, license_id: int, status: str) -> License:
        """Suspend ("suspended") or resume ("active"); pulls follow within seconds."""
        require(actor, Permission.MANAGE_CUSTOMERS)
        if status not in ("active", "suspended"):
            raise Invalid("status", "The status is 'active' or 'suspended'.")
        async with self.change(actor) as change:
            lic = await find(change.session, actor.vendor_id, license_id)
            if lic.status != status:
                grants = (await grants_of(change.session, [lic.id]))[lic.id]
                before = snapshot(lic, grants)
                lic.status, lic.updated_at = status, utcnow()
                event = DomainEvent.LICENSE_SUSPENDED if status == "suspended" else DomainEvent.LICENSE_RESUMED
                change.record(event, "license", lic.id, before=before, after=snapshot(lic, grants))
                change.drops_access = True
        return lic

    async def delete(self, actor: Actor, license_id: int) -> License:
        """Remove a license and its grants; pulls it allowed stop within seconds. Its history stays."""
        require(actor, Permission.MANAGE_CUSTOMERS)
        async with self.change(actor) as change:
            lic = await find(change.session, actor.vendor_id, license_id)
            before = snapshot(lic, (await grants_of(change.session, [lic.id]))[lic.id])
            change.record(DomainEvent.LICENSE_DELETED, "license", lic.id, before=before)
            await change.session.delete(lic)
            change.drops_access = True
        return lic
