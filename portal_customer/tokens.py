"""Pull tokens: create (the secret is shown once), list and revoke. Admins manage all of the
customer's tokens, members only their own; anyone else's token ids answer 404."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import services
from app.models import Token, User
from app.web.context import web
from app.web.pages import redirect_with, render
from app.web.users import WebUser
from portal_customer.common import Req, member


def visible_tokens(user: WebUser) -> Any:
    stmt = select(Token, User.name.label("creator")).join(User, User.id == Token.created_by, isouter=True)
    stmt = stmt.where(Token.organization_id == user.org_id, Token.kind == "pull")
    return stmt if user.role == "admin" else stmt.where(Token.created_by == user.id)


async def token_rows(session: AsyncSession, user: WebUser) -> list[Any]:
    stmt = visible_tokens(user).order_by(Token.revoked_at.is_not(None), Token.id.desc())
    return list((await session.execute(stmt)).all())


def parse_expiry(value: str) -> datetime | None:
    """A date from the form: the token works until the start of that day (UTC)."""
    if not value.strip():
        return None
    try:
        return datetime.combine(date.fromisoformat(value.strip()), time(), tzinfo=UTC)
    except ValueError:
        raise services.Invalid("expires_at", "Give the expiry as a date, e.g. 2027-01-31.") from None


class TokenController(Controller):
    path = "/portal/tokens"
    include_in_schema = False

    async def page(self, request: Req, user: WebUser, status: int = 200, **extra: object) -> Template:
        async with web(request).session() as session:
            rows = await token_rows(session, user)
        context: dict[str, Any] = {"rows": rows, "errors": {}, "form": {}, "created": None, **extra}
        return await render(
            request, "customer/tokens.html", status=status, user=user, host=web(request).registry_host, **context
        )

    @get("/")
    async def list_(self, request: Req) -> Template:
        return await self.page(request, await member(request))

    @post("/", status_code=200)
    async def create(self, request: Req, data: URLEncodedBody[dict[str, str]]) -> Template:
        user = await member(request)
        context = web(request)
        form = {"name": data.get("name", ""), "expires_at": data.get("expires_at", "")}
        async with context.session() as session:
            try:
                expires = parse_expiry(form["expires_at"])
                token, secret = await services.issue_token(
                    session,
                    kind="pull",
                    name=form["name"],
                    organization_id=user.org_id,
                    role="pull",
                    expires_at=expires,
                    created_by=user.id,
                )
            except services.Invalid as exc:
                return await self.page(request, user, 400, errors={exc.field: exc.message}, form=form)
            after = {"customer_id": user.org_id, "name": token.name, "expires_at": token.expires_at}
            context.record(session, request, user, "pull_token.create", "token", token.id, after=after)
            await session.commit()
        return await self.page(request, user, created={"name": token.name, "secret": secret})

    async def owned(self, session: AsyncSession, user: WebUser, token_id: int) -> Token:
        found = (await session.execute(visible_tokens(user).where(Token.id == token_id))).first()
        if found is None:
            raise NotFoundException("no such token")
        token: Token = found[0]
        return token

    @get("/{token_id:int}/revoke")
    async def confirm_revoke(self, request: Req, token_id: FromPath[int]) -> Template:
        user = await member(request)
        async with web(request).session() as session:
            token = await self.owned(session, user, token_id)
        return await render(request, "customer/token_revoke.html", user=user, token=token)

    @post("/{token_id:int}/revoke", status_code=303)
    async def revoke(self, request: Req, token_id: FromPath[int]) -> Redirect:
        user = await member(request)
        context = web(request)
        async with context.session() as session:
            token = await self.owned(session, user, token_id)
            before = token.revoked_at
            await services.revoke_token(session, token)
            after = {"revoked_at": token.revoked_at}
            context.record(
                session, request, user, "pull_token.revoke", "token", token.id, {"revoked_at": before}, after
            )
            await session.commit()
        if context.policy is not None:
            context.policy.forget()
        return redirect_with(request, "/portal/tokens", f"Token “{token.name}” was revoked; it no longer works.")
