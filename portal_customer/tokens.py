"""Pull tokens: create (the secret is shown once), list with their networks, limits and use, and revoke.
Admins manage all of the customer's tokens, members only their own; anyone else's token ids answer 404.
Networks and limits are the vendor's to set: new tokens take the license's token defaults."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dependencies import CurrentActor, PullTokens, Reader, SignedIn
from app.guards import CUSTOMER
from app.limits import limit_phrases, summary
from app.models import Token, User
from app.quotas import usage_of
from app.services.errors import Invalid, NotFound
from app.services.tokens import restrictions_of, token_defaults
from app.times import BadMoment, parse_moment
from app.web.context import web
from app.web.pages import redirect_with, render
from app.web.users import WebUser
from portal_customer.common import Form, Req

MEMBER = [CUSTOMER]


def visible_tokens(user: WebUser) -> Any:
    stmt = select(Token, User.name.label("creator")).join(User, User.id == Token.created_by, isouter=True)
    stmt = stmt.where(Token.organization_id == user.org_id, Token.kind == "pull")
    return stmt if user.role == "admin" else stmt.where(Token.created_by == user.id)


async def token_rows(session: AsyncSession, user: WebUser) -> list[Any]:
    stmt = visible_tokens(user).order_by(Token.revoked_at.is_not(None), Token.id.desc())
    return list((await session.execute(stmt)).all())


class TokenController(Controller):
    path = "/portal/tokens"
    include_in_schema = False

    async def page(
        self, request: Req, user: WebUser, session: AsyncSession, status: int = 200, **extra: object
    ) -> Template:
        context: dict[str, Any] = {"errors": {}, "form": {}, "created": None, **extra}
        rows = await token_rows(session, user)
        usage = await usage_of(session, "token", [row[0].id for row in rows])
        try:
            defaults = await token_defaults(session, user.org_id)
        except Invalid:  # licenses whose networks do not overlap: creating a token says so
            defaults = None
        return await render(
            request,
            "customer/tokens.html",
            status=status,
            user=user,
            rows=rows,
            limits={row[0].id: summary(restrictions_of(row[0]), usage[row[0].id]) for row in rows},
            defaults={"allowed_cidrs": defaults.allowed_cidrs, "lines": limit_phrases(defaults.limits)}
            if defaults
            else None,
            host=web(request).registry_host,
            **context,
        )

    @get("/", guards=MEMBER)
    async def list_(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        return await self.page(request, user, reader)

    @post("/", status_code=200, guards=MEMBER)
    async def create(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> Template:
        form = {"name": data.get("name", ""), "expires_at": data.get("expires_at", "")}
        try:
            try:
                expires = parse_moment(form["expires_at"], "end")  # the token works through that day
            except BadMoment:
                raise Invalid("expires_at", "Give the expiry as a date, e.g. 2027-01-31.") from None
            token, secret = await pull_tokens.create(actor, user.org_id, form["name"], expires)
        except Invalid as exc:
            return await self.page(request, user, reader, 400, errors={exc.field: exc.message}, form=form)
        return await self.page(request, user, reader, created={"name": token.name, "secret": secret})

    @get("/{token_id:int}/revoke", guards=MEMBER)
    async def confirm_revoke(
        self,
        request: Req,
        token_id: FromPath[int],
        user: SignedIn,
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> Template:
        try:
            token = await pull_tokens.find(reader, actor, token_id)
        except NotFound:
            raise NotFoundException("no such token") from None
        return await render(request, "customer/token_revoke.html", user=user, token=token)

    @post("/{token_id:int}/revoke", status_code=303, guards=MEMBER)
    async def revoke(
        self, request: Req, token_id: FromPath[int], actor: CurrentActor, pull_tokens: PullTokens
    ) -> Redirect:
        try:
            token = await pull_tokens.revoke(actor, token_id)
        except NotFound:
            raise NotFoundException("no such token") from None
        return redirect_with(request, "/portal/tokens", f"Token “{token.name}” was revoked; it no longer works.")
