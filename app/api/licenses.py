"""/api/v1/licenses: a customer's grants of repositories and tag rules, validity and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select

from app import services
from app.api.common import Caller, Forget, Session, clamp, page
from app.models import License
from app.roles import Permission
from app.services import GrantInput


class GrantIn(msgspec.Struct, forbid_unknown_fields=True):
    repository: str
    tags: list[str]


class LicenseIn(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: int
    name: str
    grants: list[GrantIn]
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    grace_days: int = 0
    notes: str = ""


class LicensePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType = msgspec.UNSET
    grants: list[GrantIn] | msgspec.UnsetType = msgspec.UNSET
    valid_from: datetime | msgspec.UnsetType | None = msgspec.UNSET
    valid_until: datetime | msgspec.UnsetType | None = msgspec.UNSET
    grace_days: int | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "suspended"] | msgspec.UnsetType = msgspec.UNSET


def license_json(lic: License, grants: list[GrantInput]) -> dict[str, Any]:
    return {
        "id": lic.id,
        **services.license_snapshot(lic, grants),
        "created_at": services.iso(lic.created_at),
        "updated_at": services.iso(lic.updated_at),
    }


def _grants(data: list[GrantIn], vendor_slug: str) -> list[GrantInput]:
    grants = [GrantInput(g.repository.strip(), [t.strip() for t in g.tags]) for g in data]
    services.validate_grants(vendor_slug, grants)
    return grants


class LicenseController(Controller):
    path = "/api/v1/licenses"
    tags = ["licenses"]

    @post("/")
    async def create(
        self,
        data: JSONBody[LicenseIn],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> dict[str, Any]:
        caller.require(Permission.MANAGE_CUSTOMERS)
        await services.customer(session, caller.vendor_id, data.customer_id)
        if not data.name.strip():
            raise services.Invalid("name", "a license needs a name")
        grants = _grants(data.grants, caller.vendor_slug)
        services.validate_window(data.valid_from, data.valid_until, data.grace_days)
        lic = License(
            vendor_id=caller.vendor_id,
            customer_id=data.customer_id,
            name=data.name.strip()[:200],
            notes=data.notes,
            status="active",
            valid_from=services.aware(data.valid_from),
            valid_until=services.aware(data.valid_until),
            grace_days=data.grace_days,
        )
        session.add(lic)
        await session.flush()
        await services.replace_grants(session, lic.id, grants)
        caller.record(session, "license.create", "license", lic.id, after=services.license_snapshot(lic, grants))
        await session.commit()
        await session.refresh(lic)
        forget()
        return license_json(lic, grants)

    @get("/")
    async def list_(
        self,
        caller: Caller,
        session: Session,
        customer_id: FromQuery[int | None] = None,
        limit: FromQuery[int] = 50,
        after: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        caller.require(Permission.READ)
        stmt = select(License).where(License.vendor_id == caller.vendor_id).order_by(License.id).limit(clamp(limit))
        if customer_id is not None:
            stmt = stmt.where(License.customer_id == customer_id)
        if after is not None:
            stmt = stmt.where(License.id > after)
        found = (await session.scalars(stmt)).all()
        grants = await services.grants_of(session, [lic.id for lic in found])
        return page([license_json(lic, grants[lic.id]) for lic in found], clamp(limit))

    @get("/{license_id:int}")
    async def detail(self, license_id: FromPath[int], caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.READ)
        lic = await services.license_(session, caller.vendor_id, license_id)
        return license_json(lic, (await services.grants_of(session, [lic.id]))[lic.id])

    @patch("/{license_id:int}")
    async def update(
        self,
        license_id: FromPath[int],
        data: JSONBody[LicensePatch],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> dict[str, Any]:
        caller.require(Permission.MANAGE_CUSTOMERS)
        lic = await services.license_(session, caller.vendor_id, license_id)
        current = (await services.grants_of(session, [lic.id]))[lic.id]
        before = services.license_snapshot(lic, current)
        changes = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET}
        if "name" in changes and not changes["name"].strip():
            raise services.Invalid("name", "a license needs a name")
        grants = _grants(changes.pop("grants"), caller.vendor_slug) if "grants" in changes else None
        for field in ("valid_from", "valid_until"):
            if field in changes:
                changes[field] = services.aware(changes[field])
        merged = {
            "valid_from": lic.valid_from,
            "valid_until": lic.valid_until,
            "grace_days": lic.grace_days,
            **{k: v for k, v in changes.items() if k in ("valid_from", "valid_until", "grace_days")},
        }
        services.validate_window(**merged)
        for field, value in changes.items():
            setattr(lic, field, value)
        lic.updated_at = services.utcnow()
        if grants is not None:
            await services.replace_grants(session, lic.id, grants)
        after = services.license_snapshot(lic, grants if grants is not None else current)
        caller.record(session, "license.update", "license", lic.id, before=before, after=after)
        await session.commit()
        forget()
        return license_json(lic, (await services.grants_of(session, [lic.id]))[lic.id])

    @delete("/{license_id:int}")
    async def remove(
        self,
        license_id: FromPath[int],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> None:
        caller.require(Permission.MANAGE_CUSTOMERS)
        lic = await services.license_(session, caller.vendor_id, license_id)
        before = services.license_snapshot(lic, (await services.grants_of(session, [lic.id]))[lic.id])
        caller.record(session, "license.delete", "license", lic.id, before=before)
        await session.delete(lic)
        await session.commit()
        forget()
