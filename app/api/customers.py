"""/api/v1/customers: customers, their invitations and their pull tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import select

from app import services
from app.api.common import Caller, Forget, PublicUrl, Session, clamp, page
from app.mail import send_invitation
from app.models import Organization, Token
from app.roles import Permission


class CustomerIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str


class InvitationIn(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    role: Literal["admin", "member"] = "member"


class PullTokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    expires_at: datetime | None = None


def customer_json(org: Organization) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "slug": org.slug, "created_at": services.iso(org.created_at)}


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "kind": token.kind,
        "hint": token.hint,
        "role": token.role,
        "created_at": services.iso(token.created_at),
        "expires_at": services.iso(token.expires_at),
        "revoked_at": services.iso(token.revoked_at),
        "last_used_at": services.iso(token.last_used_at),
    }


class CustomerController(Controller):
    path = "/api/v1/customers"
    tags = ["customers"]

    @post("/")
    async def create(self, data: JSONBody[CustomerIn], caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.MANAGE_CUSTOMERS)
        org = await services.create_customer(session, caller.vendor_id, data.name)
        caller.record(session, "customer.create", "customer", org.id, after={"name": org.name, "slug": org.slug})
        await session.commit()
        await session.refresh(org)
        return customer_json(org)

    @get("/")
    async def list_(
        self,
        caller: Caller,
        session: Session,
        limit: FromQuery[int] = 50,
        after: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        caller.require(Permission.READ)
        found = await services.customers(session, caller.vendor_id, clamp(limit), after)
        return page([customer_json(o) for o in found], clamp(limit))

    @get("/{customer_id:int}")
    async def detail(self, customer_id: FromPath[int], caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.READ)
        return customer_json(await services.customer(session, caller.vendor_id, customer_id))

    @patch("/{customer_id:int}")
    async def update(
        self,
        customer_id: FromPath[int],
        data: JSONBody[CustomerIn],
        caller: Caller,
        session: Session,
    ) -> dict[str, Any]:
        caller.require(Permission.MANAGE_CUSTOMERS)
        org = await services.customer(session, caller.vendor_id, customer_id)
        if not data.name.strip():
            raise services.Invalid("name", "a customer needs a name")
        before = {"name": org.name}
        org.name = data.name.strip()[:200]
        caller.record(session, "customer.update", "customer", org.id, before=before, after={"name": org.name})
        await session.commit()
        return customer_json(org)

    @delete("/{customer_id:int}")
    async def remove(
        self,
        customer_id: FromPath[int],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> None:
        caller.require(Permission.MANAGE_CUSTOMERS)
        org = await services.customer(session, caller.vendor_id, customer_id)
        caller.record(session, "customer.delete", "customer", org.id, before={"name": org.name, "slug": org.slug})
        await services.delete_customer(session, caller.vendor_id, customer_id)
        await session.commit()
        forget()

    @post("/{customer_id:int}/invitations")
    async def invite(
        self,
        customer_id: FromPath[int],
        data: JSONBody[InvitationIn],
        caller: Caller,
        session: Session,
        public_url: PublicUrl,
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Creates the invitation and mails its link (`mailed` says whether the mail went out)."""
        caller.require(Permission.MANAGE_CUSTOMERS)
        org = await services.customer(session, caller.vendor_id, customer_id)
        invitation, secret = await services.invite(session, org.id, data.email, data.role)
        caller.record(
            session,
            "invitation.create",
            "invitation",
            invitation.id,
            after={"customer_id": org.id, "email": invitation.email, "role": invitation.role},
        )
        await session.commit()
        link = f"{public_url}/portal/invitations/{secret}"
        vendor = await session.get(Organization, caller.vendor_id)
        vendor_name = vendor.name if vendor else caller.vendor_slug
        mailed = await send_invitation(request.app.state.web.mailer, invitation.email, org.name, vendor_name, link)
        return {
            "id": invitation.id,
            "email": invitation.email,
            "role": invitation.role,
            "accept_url": link,
            "expires_at": services.iso(invitation.expires_at),
            "mailed": mailed,
        }

    @post("/{customer_id:int}/pull-tokens")
    async def create_pull_token(
        self,
        customer_id: FromPath[int],
        data: JSONBody[PullTokenIn],
        caller: Caller,
        session: Session,
    ) -> dict[str, Any]:
        caller.require(Permission.MANAGE_CUSTOMERS)
        org = await services.customer(session, caller.vendor_id, customer_id)
        token, secret = await services.issue_token(
            session, kind="pull", name=data.name, organization_id=org.id, role="pull", expires_at=data.expires_at
        )
        caller.record(
            session,
            "pull_token.create",
            "token",
            token.id,
            after={"customer_id": org.id, "name": token.name, "expires_at": token.expires_at},
        )
        await session.commit()
        await session.refresh(token)
        return {**token_json(token), "token": secret}

    @get("/{customer_id:int}/pull-tokens")
    async def pull_tokens(self, customer_id: FromPath[int], caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.READ)
        org = await services.customer(session, caller.vendor_id, customer_id)
        found = await session.scalars(select(Token).where(Token.organization_id == org.id).order_by(Token.id))
        return {"items": [token_json(t) for t in found]}


class PullTokenController(Controller):
    path = "/api/v1/pull-tokens"
    tags = ["customers"]

    @delete("/{token_id:int}")
    async def revoke(
        self,
        token_id: FromPath[int],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> None:
        caller.require(Permission.MANAGE_CUSTOMERS)
        token = await session.scalar(
            select(Token)
            .join(Organization, Organization.id == Token.organization_id)
            .where(Token.id == token_id, Token.kind == "pull", Organization.vendor_id == caller.vendor_id)
        )
        if token is None:
            raise services.NotFound(f"pull token {token_id} not found")
        before = token.revoked_at
        await services.revoke_token(session, token)
        caller.record(
            session,
            "pull_token.revoke",
            "token",
            token.id,
            before={"revoked_at": before},
            after={"revoked_at": token.revoked_at},
        )
        await session.commit()
        forget()
