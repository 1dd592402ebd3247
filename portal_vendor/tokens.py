"""Tokens: the vendor's API and push tokens (created with a role no higher than the creator's, shown once)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import services
from app.models import Token
from app.roles import VENDOR_ROLES, Permission, may_grant
from app.web.context import web
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import (
    Form,
    Req,
    confirm,
    forget_cached_access,
    not_found,
    page,
    parse_day,
    reading,
    record,
    staff,
)

KINDS = {"api": "API (automation API and registry)", "push": "Push (registry only, for CI)"}


class TokenController(Controller):
    path = "/tokens"
    include_in_schema = False

    async def _page(self, request: Req, user: WebUser, status: int = 200, **extra: object) -> Template:
        async with reading(request) as session:
            tokens = (
                await session.scalars(
                    select(Token)
                    .where(Token.organization_id == user.vendor_id, Token.kind.in_(KINDS))
                    .order_by(Token.revoked_at.is_not(None), Token.id.desc())
                )
            ).all()
        context = {"errors": {}, "name": "", "kind": "push", "role": "release", **extra}
        roles = [r for r in VENDOR_ROLES if may_grant(user.role, r)]
        return await page(
            request,
            "vendor/tokens.html",
            user,
            section="tokens",
            status=status,
            tokens=tokens,
            roles=roles,
            kinds=KINDS,
            now=services.utcnow(),
            aware=services.aware,
            **context,
        )

    @get("/")
    async def list_(self, request: Req) -> Template:
        return await self._page(request, await staff(request, Permission.MANAGE_TOKENS))

    @post("/", status_code=200)
    async def create(self, request: Req, data: Form) -> Template:
        user = await staff(request, Permission.MANAGE_TOKENS)
        name, kind, role = (data.get("name") or "").strip(), data.get("kind") or "", data.get("role") or ""
        errors: dict[str, str] = {}
        if kind not in KINDS:
            errors["kind"] = "Choose API or push."
        if not may_grant(user.role, role):
            errors["role"] = "Choose one of the roles listed (never above your own)."
        expires = parse_day(data.get("expires") or "", "expires", errors, end_of_day=True)
        async with web(request).session() as session:
            if not errors:
                try:
                    token, secret = await services.issue_token(
                        session,
                        kind=kind,
                        name=name,
                        organization_id=user.vendor_id,
                        role=role,
                        expires_at=expires,
                        created_by=user.id,
                    )
                except services.Invalid as exc:
                    errors[exc.field if exc.field == "name" else "expires"] = (
                        "Give the token a name, e.g. the pipeline that uses it."
                        if exc.field == "name"
                        else "Choose a day in the future."
                    )
            if errors:
                return await self._page(request, user, 400, errors=errors, name=name, kind=kind, role=role)
            after = {"name": token.name, "kind": token.kind, "role": token.role, "expires_at": token.expires_at}
            record(session, request, user, "token.create", "token", token.id, after=after)
            await session.commit()
        return await self._page(request, user, new_token={"name": token.name, "secret": secret, "kind": kind})

    @post("/{token_id:int}/revoke", status_code=200)
    async def revoke(self, request: Req, token_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_TOKENS)
        async with web(request).session() as session:
            token = await session.scalar(
                select(Token).where(
                    Token.id == token_id, Token.organization_id == user.vendor_id, Token.kind.in_(KINDS)
                )
            )
            if token is None:
                raise not_found("token")
            if not may_grant(user.role, token.role):
                return redirect_with(
                    request, "/vendor/tokens", f"A {user.role} cannot revoke a {token.role} token.", "error"
                )
            if data.get("confirm") != "yes":
                detail = f"Everything using {token.name} ({token.hint}…) stops working within seconds."
                path = f"/vendor/tokens/{token_id}/revoke"
                return await confirm(request, user, f"Revoke the token {token.name}?", detail, path, "Revoke token")
            before = token.revoked_at
            await services.revoke_token(session, token)
            after = {"revoked_at": token.revoked_at}
            record(
                session, request, user, "token.revoke", "token", token.id, before={"revoked_at": before}, after=after
            )
            await session.commit()
        forget_cached_access(request)
        return redirect_with(request, "/vendor/tokens", f"Token {token.name} revoked.")
