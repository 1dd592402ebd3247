"""The vendor's settings: its name and the branding of both portals (logo, accent colour, welcome text)."""

from __future__ import annotations

import re
from typing import Any

from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import Organization
from app.roles import Permission
from app.services import validation
from app.services.base import Service, require
from app.services.errors import Invalid, NotFound

FIELDS = ("name", "logo_url", "accent_color", "welcome_text")
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_WELCOME = 2000


def check(values: dict[str, str]) -> dict[str, str | None]:
    """The settings as stored (empty optional fields become None); Invalid names every field in error."""
    errors: dict[str, str] = {}
    try:
        name = validation.name("name", values.get("name", ""), "vendor")
    except Invalid as exc:
        errors["name"] = exc.message
    logo = values.get("logo_url", "").strip()
    if logo and (not logo.startswith(("https://", "/")) or logo.startswith("//") or len(logo) > 500):
        errors["logo_url"] = "Use an https:// address (or a path on this server) of at most 500 characters."
    accent = values.get("accent_color", "").strip()
    if accent and not COLOR_RE.match(accent):
        errors["accent_color"] = "Use a colour like #2457d6."
    welcome = values.get("welcome_text", "").strip()
    if len(welcome) > MAX_WELCOME:
        errors["welcome_text"] = f"Keep the welcome text under {MAX_WELCOME:,} characters."
    if errors:
        raise Invalid.of(errors)
    return {"name": name, "logo_url": logo or None, "accent_color": accent or None, "welcome_text": welcome or None}


class SettingsService(Service):
    async def update(self, actor: Actor, values: dict[str, str]) -> bool:
        """Save the settings; False when nothing changed."""
        require(actor, Permission.MANAGE_TEAM)
        cleaned = check(values)
        async with self.change(actor) as change:
            org = await change.session.get(Organization, actor.vendor_id)
            if org is None:
                raise NotFound("vendor not found")
            before: dict[str, Any] = {f: getattr(org, f) for f in FIELDS}
            if before == cleaned:
                return False
            for field, value in cleaned.items():
                setattr(org, field, value)
            change.record(DomainEvent.SETTINGS_UPDATED, "vendor", org.id, before=before, after=cleaned)
        return True
