"""Licenses: write and edit grants with a live preview of the tags each rule matches, suspend and resume,
and the license's history from the admin audit log."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app import admin_log, services
from app.models import AdminAuditEntry, License, Organization
from app.roles import Permission
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
    parse_int,
    reading,
    record,
    staff,
    vendor_slug,
)
from portal_vendor.license_form import LicenseForm, preview, validate


async def _license(session: AsyncSession, user: WebUser, license_id: int) -> License:
    try:
        return await services.license_(session, user.vendor_id, license_id)
    except services.NotFound:
        raise not_found("license") from None


async def _customer(session: AsyncSession, user: WebUser, customer_id: int) -> Organization:
    try:
        return await services.customer(session, user.vendor_id, customer_id)
    except services.NotFound:
        raise not_found("customer") from None


def _day(value: object) -> str:
    aware = services.aware(value)  # type: ignore[arg-type]
    return aware.date().isoformat() if aware else ""


class LicenseController(Controller):
    path = "/"
    include_in_schema = False

    async def _form_page(
        self,
        request: Req,
        user: WebUser,
        session: AsyncSession,
        customer: Organization,
        form: LicenseForm,
        lic: License | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        slug = await vendor_slug(session, user)
        history = []
        if lic is not None:
            stmt = admin_log.entries(user.vendor_id, object_type="license", object_id=str(lic.id))
            history = [admin_log.entry_json(r) for r in await session.execute(stmt.order_by(AdminAuditEntry.id.desc()))]
        return await page(
            request,
            "vendor/license.html",
            user,
            section="customers",
            status=status,
            customer=customer,
            lic=lic,
            form=form,
            errors=errors or {},
            slug=slug,
            preview=await preview(session, slug, form, services.utcnow()),
            history=history,
        )

    @get("/customers/{customer_id:int}/licenses/new")
    async def new(self, request: Req, customer_id: FromPath[int]) -> Template:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        async with reading(request) as session:
            customer = await _customer(session, user, customer_id)
            slug = await vendor_slug(session, user)
            form = LicenseForm(name=f"{customer.name} production", rows=[(f"{slug}/", "")])
            return await self._form_page(request, user, session, customer, form)

    @post("/customers/{customer_id:int}/licenses", status_code=200)
    async def create(self, request: Req, customer_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        form, errors = LicenseForm.from_data(data), dict[str, str]()
        async with web(request).session() as session:
            customer = await _customer(session, user, customer_id)
            if "add_row" in data:
                return await self._form_page(request, user, session, customer, form.with_blank_row())
            grants, window = self._check(await vendor_slug(session, user), form, errors)
            if errors:
                return await self._form_page(request, user, session, customer, form, None, errors, 400)
            lic = License(
                vendor_id=user.vendor_id,
                customer_id=customer.id,
                name=form.name[:200],
                notes=form.notes,
                status="active",
                **window,
            )
            session.add(lic)
            await session.flush()
            await services.replace_grants(session, lic.id, grants)
            record(
                session,
                request,
                user,
                "license.create",
                "license",
                lic.id,
                after=services.license_snapshot(lic, grants),
            )
            await session.commit()
        forget_cached_access(request)
        return redirect_with(request, f"/vendor/licenses/{lic.id}", f"License {lic.name} created.")

    def _check(
        self, slug: str, form: LicenseForm, errors: dict[str, str]
    ) -> tuple[list[services.GrantInput], dict[str, Any]]:
        grants = validate(slug, form, errors)
        window: dict[str, Any] = {
            "valid_from": parse_day(form.valid_from, "valid_from", errors),
            "valid_until": parse_day(form.valid_until, "valid_until", errors),
            "grace_days": parse_int(form.grace_days, "grace_days", errors),
        }
        if not errors:
            try:
                services.validate_window(window["valid_from"], window["valid_until"], window["grace_days"])
            except services.Invalid as exc:
                errors[exc.field] = {
                    "grace_days": "Grace days cannot be negative.",
                    "valid_until": "The end must come after the start.",
                }.get(exc.field, exc.message)
        return grants, window

    @get("/licenses/{license_id:int}")
    async def detail(self, request: Req, license_id: FromPath[int]) -> Template:
        user = await staff(request)
        async with reading(request) as session:
            lic = await _license(session, user, license_id)
            grants = (await services.grants_of(session, [lic.id]))[lic.id]
            form = LicenseForm(
                lic.name,
                lic.notes,
                _day(lic.valid_from),
                _day(lic.valid_until),
                str(lic.grace_days),
                [(g.repository, ", ".join(g.tags)) for g in grants],
            )
            customer = await _customer(session, user, lic.customer_id)
            return await self._form_page(request, user, session, customer, form, lic)

    @post("/licenses/{license_id:int}", status_code=200)
    async def update(self, request: Req, license_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        form, errors = LicenseForm.from_data(data), dict[str, str]()
        async with web(request).session() as session:
            lic = await _license(session, user, license_id)
            customer = await _customer(session, user, lic.customer_id)
            if "add_row" in data:
                return await self._form_page(request, user, session, customer, form.with_blank_row(), lic)
            grants, window = self._check(await vendor_slug(session, user), form, errors)
            if errors:
                return await self._form_page(request, user, session, customer, form, lic, errors, 400)
            before = services.license_snapshot(lic, (await services.grants_of(session, [lic.id]))[lic.id])
            lic.name, lic.notes = form.name[:200], form.notes
            lic.valid_from, lic.valid_until, lic.grace_days = (
                window["valid_from"],
                window["valid_until"],
                window["grace_days"],
            )
            lic.updated_at = services.utcnow()
            await services.replace_grants(session, lic.id, grants)
            after = services.license_snapshot(lic, grants)
            if after != before:
                record(session, request, user, "license.update", "license", lic.id, before=before, after=after)
            await session.commit()
        forget_cached_access(request)
        return redirect_with(
            request, f"/vendor/licenses/{license_id}", "License saved." if after != before else "Nothing changed."
        )

    @post("/licenses/preview", status_code=200)
    async def live_preview(self, request: Req, data: Form) -> Template:
        """The preview block alone, as the form is typed (htmx)."""
        user = await staff(request)
        form = LicenseForm.from_data(data)
        async with reading(request) as session:
            slug = await vendor_slug(session, user)
            found = await preview(session, slug, form, services.utcnow())
        return await page(request, "vendor/license_preview.html", user, section="customers", preview=found, slug=slug)

    @post("/licenses/{license_id:int}/{action:str}", status_code=200)
    async def set_status(
        self, request: Req, license_id: FromPath[int], action: FromPath[str], data: Form
    ) -> Template | Redirect:
        """Suspend or resume, after a confirmation."""
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        status = {"suspend": "suspended", "resume": "active"}.get(action)
        if status is None:
            raise not_found("action")
        async with web(request).session() as session:
            lic = await _license(session, user, license_id)
            path = f"/vendor/licenses/{license_id}/{action}"
            if data.get("confirm") != "yes":
                if status == "suspended":
                    detail = "Every pull under this license is refused within seconds, until you resume it."
                    return await confirm(request, user, f"Suspend {lic.name}?", detail, path, "Suspend license")
                detail = "Pulls under this license work again within seconds."
                return await confirm(request, user, f"Resume {lic.name}?", detail, path, "Resume license")
            grants = (await services.grants_of(session, [lic.id]))[lic.id]
            before = services.license_snapshot(lic, grants)
            lic.status, lic.updated_at = status, services.utcnow()
            record(
                session,
                request,
                user,
                f"license.{action}",
                "license",
                lic.id,
                before=before,
                after=services.license_snapshot(lic, grants),
            )
            await session.commit()
        forget_cached_access(request)
        return redirect_with(
            request,
            f"/vendor/licenses/{license_id}",
            f"License {lic.name} {'suspended' if status == 'suspended' else 'resumed'}.",
        )
