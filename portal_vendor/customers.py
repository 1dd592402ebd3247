"""Customers: search and list, create, and one customer's licenses, people, invitations, pull tokens, pulls,
tokens flagged as shared, and its printable monthly statement."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import commands
from app.catalog import kinds_of
from app.dependencies import CurrentActor, Customers, Invitations, PullTokens, Reader, SignedIn
from app.guards import staff
from app.limits import Restrictions, summary
from app.models import DownloadEvent, License, Membership, Organization, User
from app.quotas import usage_of
from app.reports import compliance
from app.reports.events import PullFilters, newest_first, pull_events
from app.roles import Permission
from app.services import customers as customer_queries
from app.services import licenses as license_queries
from app.services.errors import Conflict, Invalid, NotFound
from app.services.invitations import pending_of
from app.services.tokens import pull_tokens_of, restrictions_of, token_defaults
from app.times import utcnow
from app.web.charts import pulls_chart
from app.web.context import web
from app.web.pages import redirect_with
from app.web.statements import statement_page
from app.web.users import WebUser
from portal_vendor import invitations as invitation_notes
from portal_vendor.common import (
    PAGE_SIZE,
    Form,
    Pager,
    Req,
    confirm,
    field_error,
    not_found,
    page,
    page_number,
    parse_day,
)
from portal_vendor.limits_form import LimitsFields
from portal_vendor.token_limits import token_of

READ = [staff(Permission.READ)]
MANAGE = [staff(Permission.MANAGE_CUSTOMERS)]


async def _customer(session: AsyncSession, user: WebUser, customer_id: int) -> Organization:
    try:
        return await customer_queries.find(session, user.vendor_id, customer_id)
    except NotFound:
        raise not_found("customer") from None


class CustomerController(Controller):
    path = "/customers"
    include_in_schema = False

    @get("/", guards=READ)
    async def list_(self, request: Req, user: SignedIn, reader: Reader, q: FromQuery[str] = "") -> Template:
        number, q = page_number(request.query_params.get("page")), q.strip()
        licenses = select(func.count()).where(License.customer_id == Organization.id).scalar_subquery()
        stmt = (
            select(Organization.id, Organization.name, Organization.slug, Organization.created_at)
            .add_columns(licenses.label("licenses"))
            .where(Organization.kind == "customer", Organization.vendor_id == user.vendor_id)
            .order_by(func.lower(Organization.name), Organization.id)
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(func.lower(Organization.name).like(pattern) | Organization.slug.like(pattern))
        rows = (await reader.execute(stmt)).all()
        pager = Pager(number, len(rows) > PAGE_SIZE, "/vendor/customers", {"q": q})
        return await page(
            request,
            "vendor/customers.html",
            user,
            section="customers",
            block="results",
            customers=rows[:PAGE_SIZE],
            q=q,
            pager=pager,
        )

    @get("/new", guards=MANAGE)
    async def new(self, request: Req, user: SignedIn) -> Template:
        return await page(request, "vendor/customer_new.html", user, section="customers", name="", errors={})

    @post("/", status_code=200, guards=MANAGE)
    async def create(
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, customers: Customers
    ) -> Template | Redirect:
        name = data.get("name") or ""
        try:
            org = await customers.create(actor, name)
        except Invalid as exc:
            return await page(
                request,
                "vendor/customer_new.html",
                user,
                section="customers",
                status=400,
                name=name,
                errors=field_error(exc),
            )
        return redirect_with(request, f"/vendor/customers/{org.id}", f"Customer {org.name} created.")

    @get("/{customer_id:int}", guards=READ)
    async def detail(self, request: Req, customer_id: FromPath[int], user: SignedIn, reader: Reader) -> Template:
        return await self._detail(request, user, reader, customer_id)

    async def _detail(
        self, request: Req, user: WebUser, session: AsyncSession, customer_id: int, status: int = 200, **extra: object
    ) -> Template:
        org = await _customer(session, user, customer_id)
        licenses = (
            await session.scalars(select(License).where(License.customer_id == org.id).order_by(License.id))
        ).all()
        grants = await license_queries.grants_of(session, [lic.id for lic in licenses])
        users = (
            await session.execute(
                select(User.id, User.email, User.name, User.email_verified_at, Membership.role, Membership.created_at)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.organization_id == org.id)
                .order_by(User.email)
            )
        ).all()
        pulls_and_denials = pull_events(user.vendor_id, PullFilters(customer_id=org.id)).where(
            DownloadEvent.action.in_(("manifest.get", "denied"))
        )
        pulls = (await session.execute(newest_first(pulls_and_denials, None, 20))).all()
        tokens = await pull_tokens_of(session, org.id)
        usage = await usage_of(session, "token", [t.id for t in tokens])
        vendor = await session.get(Organization, user.vendor_id)
        assert vendor is not None
        threshold = compliance.sharing_threshold(vendor)
        recent = compliance.recent_days(utcnow())
        sharing = await compliance.sharing_flags(
            session, user.vendor_id, threshold, *recent, DownloadEvent.customer_id == org.id
        )
        chart = await pulls_chart(
            await session.connection(), user.vendor_id, f"Pulls by {org.name} per day", customer_id=org.id
        )
        if "token_limits" not in extra:  # the create form starts from the licenses' defaults for new tokens
            try:
                extra["token_limits"] = LimitsFields.of(await token_defaults(session, org.id), "token_")
            except Invalid:
                extra["token_limits"] = LimitsFields.of(Restrictions(), "token_")
        return await page(
            request,
            "vendor/customer.html",
            user,
            section="customers",
            status=status,
            customer=org,
            licenses=licenses,
            grants=grants,
            users=users,
            invitations=await pending_of(session, org.id),
            tokens=tokens,
            token_use={t.id: summary(restrictions_of(t), usage[t.id]) for t in tokens},
            pulls=pulls,
            sharing=sharing,
            sharing_threshold=threshold,
            pulls_chart=chart,
            now=utcnow(),
            **{"errors": {}, "invite_email": "", "token_name": "", **extra},
        )

    @get("/{customer_id:int}/statement", guards=READ)
    async def statement(
        self, request: Req, customer_id: FromPath[int], user: SignedIn, reader: Reader, month: FromQuery[str] = ""
    ) -> Template:
        """The customer's printable statement for a UTC month (YYYY-MM; default: this month)."""
        org = await _customer(reader, user, customer_id)
        return await statement_page(request, user, reader, org, month, f"/vendor/customers/{org.id}")

    @post("/{customer_id:int}/name", status_code=200, guards=MANAGE)
    async def rename(
        self,
        request: Req,
        customer_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        customers: Customers,
        reader: Reader,
    ) -> Template | Redirect:
        try:
            await customers.rename(actor, customer_id, data.get("name") or "")
        except Invalid as exc:
            return await self._detail(request, user, reader, customer_id, 400, errors=field_error(exc))
        except NotFound:
            raise not_found("customer") from None
        return redirect_with(request, f"/vendor/customers/{customer_id}", "Name saved.")

    @post("/{customer_id:int}/delete", status_code=200, guards=MANAGE)
    async def delete(
        self,
        request: Req,
        customer_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        customers: Customers,
        reader: Reader,
    ) -> Template | Redirect:
        org = await _customer(reader, user, customer_id)
        if data.get("confirm") != "yes":
            counts = await customer_queries.counts(reader, org.id)
            detail = (
                f"Its {counts['tokens']} working pull token(s) stop at once, its {counts['licenses']} license(s) "
                f"and open invitations are deleted, and its {counts['people']} people lose their accounts. "
                "Its download history stays in your reports and audit log. This cannot be undone."
            )
            path = f"/vendor/customers/{customer_id}/delete"
            return await confirm(request, user, f"Delete the customer {org.name}?", detail, path, "Delete customer")
        await customers.delete(actor, customer_id)
        return redirect_with(request, "/vendor/customers", f"Customer {org.name} deleted.")

    @post("/{customer_id:int}/invitations", status_code=200, guards=MANAGE)
    async def invite(
        self,
        request: Req,
        customer_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        invitations: Invitations,
        reader: Reader,
    ) -> Template | Redirect:
        email = data.get("email") or ""
        try:
            invited = await invitations.invite_customer_person(actor, customer_id, email, data.get("role") or "member")
        except (Invalid, Conflict) as exc:
            return await self._detail(
                request, user, reader, customer_id, 400, errors=field_error(exc), invite_email=email
            )
        except NotFound:
            raise not_found("customer") from None
        message, category = invitation_notes.outcome(invited)
        return redirect_with(request, f"/vendor/customers/{customer_id}#people", message, category)

    @post("/{customer_id:int}/invitations/{invitation_id:int}/{action:str}", status_code=200, guards=MANAGE)
    async def invitation(
        self,
        request: Req,
        customer_id: FromPath[int],
        invitation_id: FromPath[int],
        action: FromPath[str],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        invitations: Invitations,
    ) -> Template | Redirect:
        """Resend (a new link, mailed again) or revoke an open invitation."""
        back = f"/vendor/customers/{customer_id}#people"
        return await invitation_notes.act(request, user, actor, invitations, invitation_id, action, data, back)

    @post("/{customer_id:int}/pull-tokens", status_code=200, guards=MANAGE)
    async def create_token(
        self,
        request: Req,
        customer_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        pull_tokens: PullTokens,
        reader: Reader,
    ) -> Template:
        name, errors = data.get("name") or "", dict[str, str]()
        expires = parse_day(data.get("expires") or "", "expires", errors, "end")
        fields = LimitsFields.from_data(data, "token_")
        restrictions = fields.parse(errors)
        if not errors:
            try:
                token, secret = await pull_tokens.create(actor, customer_id, name, expires, restrictions)
            except Invalid as exc:
                mapped = {"name": "token_name", "expires_at": "expires"}
                errors.update({mapped.get(f) or fields.field_of(f): m for f, m in exc.fields.items()})
            except NotFound:
                raise not_found("customer") from None
        if errors:
            return await self._detail(
                request, user, reader, customer_id, 400, errors=errors, token_name=name, token_limits=fields
            )
        kinds = {kind for found in (await kinds_of(reader, user.vendor_slug)).values() for kind in found}
        reg = commands.Registry.of(web(request).public_url, secret)
        handed = [commands.export_token(secret), *commands.logins(reg, kinds or {"image"})]
        new_token = {"name": token.name, "secret": secret, "commands": handed}
        return await self._detail(request, user, reader, customer_id, new_token=new_token)

    @post("/{customer_id:int}/pull-tokens/{token_id:int}/revoke", status_code=200, guards=MANAGE)
    async def revoke_token(
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
        _org, token = await token_of(reader, user, actor, pull_tokens, customer_id, token_id)
        if data.get("confirm") != "yes":
            action = f"/vendor/customers/{customer_id}/pull-tokens/{token_id}/revoke"
            detail = f"Pulls with {token.name} ({token.hint}…) stop working within seconds. This cannot be undone."
            return await confirm(request, user, f"Revoke the token {token.name}?", detail, action, "Revoke token")
        await pull_tokens.revoke(actor, token_id)
        return redirect_with(request, f"/vendor/customers/{customer_id}", f"Token {token.name} revoked.")
