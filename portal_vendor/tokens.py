"""Tokens: the vendor's API and push tokens (created with a role no higher than the creator's, shown once)."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dependencies import CurrentActor, Reader, SignedIn, VendorTokens
from app.guards import staff
from app.models import Token
from app.roles import VENDOR_ROLES, Permission, may_grant
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.tokens import VENDOR_KINDS, vendor_tokens_of
from app.times import utcnow
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, confirm, not_found, page, parse_day

KINDS = {"api": "API (automation API and registry)", "push": "Push (registry only, for CI)"}
TOKENS = [staff(Permission.MANAGE_TOKENS)]


class TokenController(Controller):
    path = "/tokens"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, session: AsyncSession, status: int = 200, **extra: object
    ) -> Template:
        context = {"errors": {}, "name": "", "kind": "push", "role": "release", **extra}
        roles = [r for r in VENDOR_ROLES if may_grant(user.role, r)]
        return await page(
            request,
            "vendor/tokens.html",
            user,
            section="tokens",
            status=status,
            tokens=await vendor_tokens_of(session, user.vendor_id),
            roles=roles,
            kinds=KINDS,
            now=utcnow(),
            **context,
        )

    @get("/", guards=TOKENS)
    async def list_(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        return await self._page(request, user, reader)

    @post("/", status_code=200, guards=TOKENS)
    async def create(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        vendor_tokens: VendorTokens,
        reader: Reader,
    ) -> Template:
        name, kind, role = data.get("name") or "", data.get("kind") or "", data.get("role") or ""
        errors: dict[str, str] = {}
        expires = parse_day(data.get("expires") or "", "expires", errors, "end")
        if not errors:
            try:
                token, secret = await vendor_tokens.create(actor, kind, name, role, expires)
            except Invalid as exc:
                errors[exc.field] = exc.message
            except Forbidden as exc:
                errors["role"] = exc.message
        if errors:
            return await self._page(request, user, reader, 400, errors=errors, name=name, kind=kind, role=role)
        new_token = {"name": token.name, "secret": secret, "kind": kind}
        return await self._page(request, user, reader, new_token=new_token)

    @post("/{token_id:int}/revoke", status_code=200, guards=TOKENS)
    async def revoke(
        self,
        request: Req,
        token_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        vendor_tokens: VendorTokens,
        reader: Reader,
    ) -> Template | Redirect:
        token = await reader.scalar(
            select(Token).where(
                Token.id == token_id, Token.organization_id == user.vendor_id, Token.kind.in_(VENDOR_KINDS)
            )
        )
        if token is None:
            raise not_found("token")
        if data.get("confirm") != "yes" and may_grant(user.role, token.role):
            detail = f"Everything using {token.name} ({token.hint}…) stops working within seconds."
            path = f"/vendor/tokens/{token_id}/revoke"
            return await confirm(request, user, f"Revoke the token {token.name}?", detail, path, "Revoke token")
        try:
            await vendor_tokens.revoke(actor, token_id)
        except Forbidden as exc:
            return redirect_with(request, "/vendor/tokens", exc.message, "error")
        except NotFound:
            raise not_found("token") from None
        return redirect_with(request, "/vendor/tokens", f"Token {token.name} revoked.")
