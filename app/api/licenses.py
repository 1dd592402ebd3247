"""/api/v1/licenses: a customer's grants of repositories and tag rules, validity and status."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.common import DbId, Limit, QueryId, clamp, moment, page
from app.api.limits import LimitsIn, RestrictionsIn
from app.dependencies import CurrentActor, Licenses, Reader
from app.guards import api
from app.identity import Actor
from app.limits import Limits, Restrictions
from app.models import License, Organization
from app.quotas import usage_of
from app.reports import compliance
from app.roles import Permission
from app.services import licenses as license_queries
from app.services.licenses import GrantInput, LicenseInput
from app.times import iso, utcnow

MAX_INT = 2**31 - 1


class GrantIn(msgspec.Struct, forbid_unknown_fields=True):
    repository: str
    tags: list[str]


class LicenseIn(msgspec.Struct, forbid_unknown_fields=True):
    customer_id: DbId
    name: str
    grants: list[GrantIn]
    valid_from: str | None = None  # a date (the start of that UTC day) or a date and time
    valid_until: str | None = None  # a date (the end of that UTC day) or a date and time
    grace_days: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)] = 0
    notes: str = ""
    limits: LimitsIn | None = None  # shared by every pull under the license, whichever token makes it
    token_defaults: RestrictionsIn | None = None  # networks and limits the customer's new tokens start with


class LicensePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | msgspec.UnsetType = msgspec.UNSET
    notes: str | msgspec.UnsetType = msgspec.UNSET
    grants: list[GrantIn] | msgspec.UnsetType = msgspec.UNSET
    valid_from: str | msgspec.UnsetType | None = msgspec.UNSET
    valid_until: str | msgspec.UnsetType | None = msgspec.UNSET
    grace_days: Annotated[int, msgspec.Meta(ge=0, le=MAX_INT)] | msgspec.UnsetType = msgspec.UNSET
    status: Literal["active", "suspended"] | msgspec.UnsetType = msgspec.UNSET
    limits: LimitsIn | msgspec.UnsetType | None = msgspec.UNSET  # replaces all three (null: none)
    token_defaults: RestrictionsIn | msgspec.UnsetType | None = msgspec.UNSET  # for tokens made from now on


def license_json(lic: License, grants: list[GrantInput], usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": lic.id,
        **license_queries.snapshot(lic, grants),
        "usage": usage,  # pulls today and this month, bytes this month, under this license
        "created_at": iso(lic.created_at),
        "updated_at": iso(lic.updated_at),
    }


def _grants(data: list[GrantIn]) -> list[GrantInput]:
    return [GrantInput(g.repository, g.tags) for g in data]


async def _json(reader: AsyncSession, actor: Actor, license_id: int) -> dict[str, Any]:
    lic = await license_queries.find(reader, actor.vendor_id, license_id)
    usage = await usage_of(reader, "license", [lic.id])
    return license_json(lic, (await license_queries.grants_of(reader, [lic.id]))[lic.id], usage[lic.id])


class LicenseController(Controller):
    path = "/api/v1/licenses"
    tags = ["licenses"]

    @post("/", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def create(
        self, data: JSONBody[LicenseIn], actor: CurrentActor, licenses: Licenses, reader: Reader
    ) -> dict[str, Any]:
        lic = await licenses.create(
            actor,
            LicenseInput(
                customer_id=data.customer_id,
                name=data.name,
                grants=_grants(data.grants),
                valid_from=moment("valid_from", data.valid_from, "start"),
                valid_until=moment("valid_until", data.valid_until, "end"),
                grace_days=data.grace_days,
                notes=data.notes,
                limits=data.limits.limits() if data.limits else Limits(),
                token_defaults=data.token_defaults.restrictions() if data.token_defaults else Restrictions(),
            ),
        )
        return await _json(reader, actor, lic.id)

    @get("/", guards=[api(Permission.READ)])
    async def list_(
        self,
        actor: CurrentActor,
        reader: Reader,
        customer_id: QueryId = None,
        limit: Limit = 50,
        after: QueryId = None,
    ) -> dict[str, Any]:
        stmt = select(License).where(License.vendor_id == actor.vendor_id).order_by(License.id).limit(clamp(limit))
        if customer_id is not None:
            stmt = stmt.where(License.customer_id == customer_id)
        if after is not None:
            stmt = stmt.where(License.id > after)
        found = (await reader.scalars(stmt)).all()
        grants = await license_queries.grants_of(reader, [lic.id for lic in found])
        usage = await usage_of(reader, "license", [lic.id for lic in found])
        return page([license_json(lic, grants[lic.id], usage[lic.id]) for lic in found], clamp(limit))

    @get("/{license_id:int}", guards=[api(Permission.READ)])
    async def detail(self, license_id: FromPath[int], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        return await _json(reader, actor, license_id)

    @get("/{license_id:int}/compliance", guards=[api(Permission.READ)])
    async def compliance(
        self,
        license_id: FromPath[int],
        actor: CurrentActor,
        reader: Reader,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """What the license entitles and what was pulled under it over [since, until) (default: this UTC
        month): versions, distinct tokens and networks, denials by reason code, pulls in grace, shared tokens."""
        lic = await license_queries.find(reader, actor.vendor_id, license_id)
        vendor = await reader.get(Organization, actor.vendor_id)
        assert vendor is not None
        now = utcnow()
        start, end = compliance.parse_period(since, until, now)
        return compliance.compliance_json(await compliance.license_compliance(reader, vendor, lic, start, end, now))

    @patch("/{license_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def update(
        self,
        license_id: FromPath[int],
        data: JSONBody[LicensePatch],
        actor: CurrentActor,
        licenses: Licenses,
        reader: Reader,
    ) -> dict[str, Any]:
        """Change the given fields; `status` suspends or resumes the license."""
        given = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET}
        status = given.pop("status", None)
        if "grants" in given:
            given["grants"] = _grants(given["grants"])
        if "limits" in given:
            given["limits"] = given["limits"].limits() if given["limits"] is not None else Limits()
        if "token_defaults" in given:
            defaults = given["token_defaults"]
            given["token_defaults"] = defaults.restrictions() if defaults is not None else Restrictions()
        for field, edge in (("valid_from", "start"), ("valid_until", "end")):
            if field in given:
                given[field] = moment(field, given[field], edge)  # type: ignore[arg-type]
        if given:
            await licenses.update(actor, license_id, given)
        if status is not None:
            await licenses.set_status(actor, license_id, status)
        return await _json(reader, actor, license_id)

    @delete("/{license_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def remove(self, license_id: FromPath[int], actor: CurrentActor, licenses: Licenses) -> None:
        await licenses.delete(actor, license_id)
