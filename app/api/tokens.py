"""/api/v1/tokens: the vendor's own API and push tokens, never above the creating token's role."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath, JSONBody
from sqlalchemy import select

from app import services
from app.api.common import Caller, Forget, Session
from app.api.customers import token_json
from app.models import Token
from app.roles import VENDOR_ROLES, Permission, may_grant


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    role: str
    kind: Literal["api", "push"] = "api"
    expires_at: datetime | None = None


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]

    @post("/")
    async def create(self, data: JSONBody[TokenIn], caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.MANAGE_TOKENS)
        if data.role not in VENDOR_ROLES:
            raise services.Invalid("role", f"role must be one of {', '.join(VENDOR_ROLES)}")
        if not may_grant(caller.role, data.role):
            raise PermissionDeniedException(f"a '{caller.role}' token cannot create a '{data.role}' token")
        token, secret = await services.issue_token(
            session,
            kind=data.kind,
            name=data.name,
            organization_id=caller.vendor_id,
            role=data.role,
            expires_at=data.expires_at,
        )
        caller.record(
            session,
            "token.create",
            "token",
            token.id,
            after={"name": token.name, "kind": token.kind, "role": token.role, "expires_at": token.expires_at},
        )
        await session.commit()
        await session.refresh(token)
        return {**token_json(token), "token": secret}

    @get("/")
    async def list_(self, caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.MANAGE_TOKENS)
        found = await session.scalars(select(Token).where(Token.organization_id == caller.vendor_id).order_by(Token.id))
        return {"items": [token_json(t) for t in found]}

    @delete("/{token_id:int}")
    async def revoke(
        self,
        token_id: FromPath[int],
        caller: Caller,
        session: Session,
        forget: Forget,
    ) -> None:
        caller.require(Permission.MANAGE_TOKENS)
        token = await session.scalar(
            select(Token).where(Token.id == token_id, Token.organization_id == caller.vendor_id)
        )
        if token is None:
            raise services.NotFound(f"token {token_id} not found")
        if not may_grant(caller.role, token.role):
            raise PermissionDeniedException(f"a '{caller.role}' token cannot revoke a '{token.role}' token")
        before = token.revoked_at
        await services.revoke_token(session, token)
        caller.record(
            session,
            "token.revoke",
            "token",
            token.id,
            before={"revoked_at": before},
            after={"revoked_at": token.revoked_at},
        )
        await session.commit()
        forget()
