"""/api/v1/customers and /api/v1/pull-tokens: customers, their invitations and their pull tokens."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.common import Limit, QueryId, clamp, moment, page
from app.api.limits import LimitsIn
from app.dependencies import CurrentActor, Customers, Invitations, PullTokens, Reader
from app.guards import api
from app.limits import Limits, Restrictions
from app.models import Organization, Token
from app.quotas import usage_of
from app.roles import Permission
from app.services import customers as customer_queries
from app.services.tokens import pull_tokens_of, snapshot
from app.times import iso


class CustomerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    role: Literal["admin", "member"] = "member"


class PullTokenIn(msgspec.Struct, forbid_unknown_fields=True):
    """Networks and limits left out: the customer's licenses' token defaults."""

    name: str
    expires_at: str | None = None  # a date (the token works through that UTC day) or a date and time
    allowed_cidrs: list[str] | None = None  # e.g. ["10.0.0.0/8", "2001:db8::/32"]; []: anywhere
    limits: LimitsIn | None = None

    def restrictions(self) -> Restrictions | None:
        if self.allowed_cidrs is None and self.limits is None:
            return None
        return Restrictions(tuple(self.allowed_cidrs or ()), self.limits.limits() if self.limits else Limits())


class PullTokenPatch(msgspec.Struct, forbid_unknown_fields=True):
    """The fields given change; `limits` replaces all three limits (null or left out: none)."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    expires_at: str | msgspec.UnsetType | None = msgspec.UNSET  # null: never
    allowed_cidrs: list[str] | msgspec.UnsetType = msgspec.UNSET
    limits: LimitsIn | msgspec.UnsetType | None = msgspec.UNSET


def customer_json(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "slug": org.slug, "created_at": iso(org.created_at)}


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        **snapshot(token),
        "hint": token.hint,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
    }


async def pull_tokens_json(session: AsyncSession, tokens: list[Token]) -> list[dict[str, Any]]:
    """Pull tokens with their use of the current UTC day and month (as merged from every node)."""
    usage = await usage_of(session, "token", [t.id for t in tokens])
    return [{**token_json(t), "usage": usage[t.id]} for t in tokens]


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @post("/", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def create(self, data: JSONBody[CustomerIn], actor: CurrentActor, customers: Customers) -> dict[str, Any]:
        return customer_json(await customers.create(actor, data.name))

    @get("/", guards=[api(Permission.READ)])
    async def list_(
        self, actor: CurrentActor, reader: Reader, limit: Limit = 50, after: QueryId = None
    ) -> dict[str, Any]:
        found = await customer_queries.page(reader, actor.vendor_id, clamp(limit), after)
        return page([customer_json(o) for o in found], clamp(limit))

    @get("/{customer_id:int}", guards=[api(Permission.READ)])
    async def detail(self, customer_id: FromPath[int], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        return customer_json(await customer_queries.find(reader, actor.vendor_id, customer_id))

    @patch("/{customer_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def update(
        self, customer_id: FromPath[int], data: JSONBody[CustomerIn], actor: CurrentActor, customers: Customers
    ) -> dict[str, Any]:
        return customer_json(await customers.rename(actor, customer_id, data.name))

    @delete("/{customer_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def remove(self, customer_id: FromPath[int], actor: CurrentActor, customers: Customers) -> None:
        """Its tokens stop working; licenses, invitations and its people's accounts go; history stays."""
        await customers.delete(actor, customer_id)

    @post("/{customer_id:int}/invitations", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def invite(
        self, customer_id: FromPath[int], data: JSONBody[InvitationIn], actor: CurrentActor, invitations: Invitations
    ) -> dict[str, Any]:
        """Creates the invitation and mails its link (`mailed` says whether the mail went out).

        `accept_url` is handed to automation, so an account made from it starts unverified until its owner
        follows the address confirmation mailed to them."""
        invited = await invitations.invite_customer_person(actor, customer_id, data.email, data.role)
        return {
            "id": invited.invitation.id,
            "email": invited.invitation.email,
            "role": invited.invitation.role,
            "accept_url": invited.link,
            "expires_at": iso(invited.invitation.expires_at),
            "mailed": invited.mailed,
        }

    @post("/{customer_id:int}/pull-tokens", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def create_pull_token(
        self, customer_id: FromPath[int], data: JSONBody[PullTokenIn], actor: CurrentActor, pull_tokens: PullTokens
    ) -> dict[str, Any]:
        expires = moment("expires_at", data.expires_at, "end")
        token, secret = await pull_tokens.create(actor, customer_id, data.name, expires, data.restrictions())
        return {**token_json(token), "token": secret}

    @get("/{customer_id:int}/pull-tokens", guards=[api(Permission.READ)])
    async def pull_tokens(self, customer_id: FromPath[int], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        """The customer's pull tokens with their networks, limits and current use."""
        org = await customer_queries.find(reader, actor.vendor_id, customer_id)
        tokens = sorted(await pull_tokens_of(reader, org.id), key=lambda t: t.id)
        return {"items": await pull_tokens_json(reader, tokens)}


class PullTokenController(Controller):
    path = "/api/v1/pull-tokens"
    tags = ["customers"]

    @get("/{token_id:int}", guards=[api(Permission.READ)])
    async def detail(
        self, token_id: FromPath[int], actor: CurrentActor, pull_tokens: PullTokens, reader: Reader
    ) -> dict[str, Any]:
        """A pull token with its networks, limits and current use."""
        return (await pull_tokens_json(reader, [await pull_tokens.find(reader, actor, token_id)]))[0]

    @patch("/{token_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def update(
        self,
        token_id: FromPath[int],
        data: JSONBody[PullTokenPatch],
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> dict[str, Any]:
        """Change a pull token's name, expiry, networks (`allowed_cidrs`) or `limits`; on every node within
        seconds. Customers see them and cannot loosen them."""
        given = {f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET}
        if "expires_at" in given:
            given["expires_at"] = moment("expires_at", given["expires_at"], "end")
        if "limits" in given:
            given["limits"] = given["limits"].limits() if given["limits"] is not None else Limits()
        if "allowed_cidrs" in given:
            given["allowed_cidrs"] = tuple(given["allowed_cidrs"])
        await pull_tokens.update(actor, token_id, given)
        return (await pull_tokens_json(reader, [await pull_tokens.find(reader, actor, token_id)]))[0]

    @delete("/{token_id:int}", guards=[api(Permission.MANAGE_CUSTOMERS)])
    async def revoke(self, token_id: FromPath[int], actor: CurrentActor, pull_tokens: PullTokens) -> None:
        await pull_tokens.revoke(actor, token_id)
