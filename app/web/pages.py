"""Rendering portal pages: the vendor's branding, flash messages, and just the named block for htmx."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import Request
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.colors import readable_on_page, text_on
from app.models import Organization
from app.services.settings import HTTPS_RE, LOCAL_PATH_RE
from app.web.users import WebUser, current_user

DEFAULT_ACCENT = "#2457d6"
FLASH_KEY = "flashes"
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}\Z")


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str | None
    accent: str
    welcome: str | None  # Markdown (app.markdown)

    @property
    def on_accent(self) -> str:
        """Text on the accent colour (buttons, the current page in the navigation)."""
        return text_on(self.accent)

    @property
    def accent_text(self) -> str:
        """The accent as a text colour (links), dark enough to read on the page."""
        return readable_on_page(self.accent)

    @property
    def style(self) -> str:
        """The CSS variables a page's <body> sets."""
        return f"--accent: {self.accent}; --on-accent: {self.on_accent}; --accent-text: {self.accent_text}"


async def brand_of(engine: AsyncEngine, vendor_id: int | None) -> Brand:
    """The vendor's branding; with no vendor known (signed out), the only vendor's, else Wharf's."""
    stmt = select(Organization).where(Organization.kind == "vendor")
    stmt = stmt.where(Organization.id == vendor_id) if vendor_id is not None else stmt.limit(2)
    async with engine.connect() as conn:
        vendors = (await conn.execute(stmt)).all()
    if len(vendors) != 1:
        return Brand("Wharf", None, DEFAULT_ACCENT, None)
    v = vendors[0]
    logo = v.logo_url if v.logo_url and (HTTPS_RE.match(v.logo_url) or LOCAL_PATH_RE.match(v.logo_url)) else None
    accent = v.accent_color if v.accent_color and COLOR_RE.match(v.accent_color) else DEFAULT_ACCENT
    return Brand(v.name, logo, accent, v.welcome_text or None)


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """A partial update asked for by htmx (a boosted navigation wants the whole page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


async def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    block: str | None = None,
    status: int = 200,
    user: WebUser | None = None,
    vendor_id: int | None = None,
    **context: Any,
) -> Template:
    """The whole page, or for an htmx request only `block` of it; branded for `vendor_id` or the user's vendor."""
    user = user or await current_user(request)
    vendor_id = vendor_id or (user.vendor_id if user else None)
    brand = await brand_of(request.app.state.web.engine, vendor_id)
    request.app.state.web.brands[vendor_id] = brand  # error pages, which cannot query, reuse it
    flashes = request.session.pop(FLASH_KEY, []) if "session" in request.scope else []
    context = {"user": user, "brand": brand, "request_path": request.url.path, "flashes": flashes, **context}
    if block and is_htmx(request):
        return HTMXBlockTemplate(template_name=template, block_name=block, context=context, status_code=status)
    return Template(template_name=template, context=context, status_code=status)


def flash(request: Request[Any, Any, Any], message: str, category: str = "success") -> None:
    """A message for the next page this browser sees (kept in its session)."""
    request.session.setdefault(FLASH_KEY, []).append({"message": message, "category": category})


def redirect_with(request: Request[Any, Any, Any], path: str, message: str, category: str = "success") -> Redirect:
    """Post/redirect/get with a flash message shown on the next page."""
    flash(request, message, category)
    return Redirect(path, status_code=303)
