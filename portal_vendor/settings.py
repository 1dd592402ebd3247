"""Settings: the vendor's name, logo, accent colour and welcome text, shown on both portals."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from app.models import Organization
from app.roles import Permission
from app.web.context import web
from app.web.pages import COLOR_RE, DEFAULT_ACCENT, redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, page, reading, record, staff

FIELDS = ("name", "logo_url", "accent_color", "welcome_text")


def _check(values: dict[str, str]) -> dict[str, str]:
    errors = {}
    if not values["name"]:
        errors["name"] = "Your customers see this name; it cannot be empty."
    elif len(values["name"]) > 200:
        errors["name"] = "Keep the name under 200 characters."
    logo = values["logo_url"]
    if logo and (not logo.startswith(("https://", "http://", "/")) or len(logo) > 500):
        errors["logo_url"] = "Use an https:// address (or a path on this server) of at most 500 characters."
    if values["accent_color"] and not COLOR_RE.match(values["accent_color"]):
        errors["accent_color"] = "Use a colour like #2457d6."
    if len(values["welcome_text"]) > 2000:
        errors["welcome_text"] = "Keep the welcome text under 2,000 characters."
    return errors


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, values: dict[str, str], errors: dict[str, str], status: int = 200
    ) -> Template:
        return await page(
            request, "vendor/settings.html", user, section="settings", status=status, values=values, errors=errors
        )

    @get("/")
    async def show(self, request: Req) -> Template:
        user = await staff(request, Permission.MANAGE_TEAM)
        async with reading(request) as session:
            org = await session.get(Organization, user.vendor_id)
            assert org is not None
            values = {f: getattr(org, f) or "" for f in FIELDS}
        values["accent_color"] = values["accent_color"] or DEFAULT_ACCENT
        return await self._page(request, user, values, {})

    @post("/", status_code=200)
    async def save(self, request: Req, data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_TEAM)
        values = {f: (data.get(f) or "").strip() for f in FIELDS}
        errors = _check(values)
        if errors:
            return await self._page(request, user, values, errors, 400)
        async with web(request).session() as session:
            org = await session.get(Organization, user.vendor_id)
            assert org is not None
            before = {f: getattr(org, f) for f in FIELDS}
            for f in FIELDS:
                setattr(org, f, values[f] or (None if f != "name" else org.name))
            after = {f: getattr(org, f) for f in FIELDS}
            if after != before:
                record(session, request, user, "settings.update", "vendor", org.id, before=before, after=after)
            await session.commit()
        return redirect_with(request, "/vendor/settings", "Settings saved." if after != before else "Nothing changed.")
