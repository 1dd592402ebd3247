"""A customer's pull token: its networks and limits, and its use this UTC day and month."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.dependencies import CurrentActor, PullTokens, Reader, SignedIn
from app.guards import staff
from app.identity import Actor
from app.limits import summary
from app.models import Organization, Token
from app.quotas import usage_of
from app.roles import Permission
from app.services import customers as customer_queries
from app.services.errors import Conflict, Invalid, NotFound
from app.services.tokens import PullTokenService, restrictions_of
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, field_error, not_found, page
from portal_vendor.limits_form import LimitsFields

MANAGE = [staff(Permission.MANAGE_CUSTOMERS)]


class TokenLimitsController(Controller):
    path = "/customers"
    include_in_schema = False

    @get("/{customer_id:int}/pull-tokens/{token_id:int}", guards=MANAGE)
    async def token_limits(
        self,
        request: Req,
        customer_id: FromPath[int],
        token_id: FromPath[int],
        user: SignedIn,
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> Template:
        """A pull token's networks and limits, with its use this day and month."""
        org, token = await token_of(reader, user, actor, pull_tokens, customer_id, token_id)
        return await _token_page(request, user, reader, org, token, LimitsFields.of(restrictions_of(token), ""), {})

    @post("/{customer_id:int}/pull-tokens/{token_id:int}", status_code=200, guards=MANAGE)
    async def save_token_limits(
        self,
        request: Req,
        customer_id: FromPath[int],
        token_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> Template | Redirect:
        org, token = await token_of(reader, user, actor, pull_tokens, customer_id, token_id)
        fields, errors = LimitsFields.from_data(data, ""), dict[str, str]()
        wanted = fields.parse(errors)
        if not errors:
            try:
                await pull_tokens.update(
                    actor, token_id, {"allowed_cidrs": wanted.allowed_cidrs, "limits": wanted.limits}
                )
            except (Invalid, Conflict) as exc:
                errors = {fields.field_of(f): m for f, m in field_error(exc).items()}
        if errors:
            return await _token_page(request, user, reader, org, token, fields, errors, 400)
        done = f"Token {token.name}: networks and limits saved; they apply within seconds."
        return redirect_with(request, f"/vendor/customers/{customer_id}#pull-tokens", done)


async def token_of(
    session: AsyncSession, user: WebUser, actor: Actor, pull_tokens: PullTokenService, customer_id: int, token_id: int
) -> tuple[Organization, Token]:
    """The customer's pull token; another customer's, another vendor's or no token: 404."""
    try:
        org = await customer_queries.find(session, user.vendor_id, customer_id)
        token = await pull_tokens.find(session, actor, token_id)
    except NotFound:
        raise not_found("token") from None
    if token.organization_id != org.id:
        raise not_found("token")
    return org, token


async def _token_page(
    request: Req,
    user: WebUser,
    session: AsyncSession,
    org: Organization,
    token: Token,
    fields: LimitsFields,
    errors: dict[str, str],
    status: int = 200,
) -> Template:
    usage = (await usage_of(session, "token", [token.id]))[token.id]
    return await page(
        request,
        "vendor/token_limits.html",
        user,
        section="customers",
        status=status,
        customer=org,
        token=token,
        fields=fields,
        errors=errors,
        use=summary(restrictions_of(token), usage),
    )
