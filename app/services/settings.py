"""The vendor's settings: its name, the branding of both portals (logo, accent colour, welcome text) and
the default immutability rule of its repositories, and from how many networks a day a token may be used
before it is flagged as shared (app.reports.compliance)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from app import immutability
from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import Organization, VendorLogo
from app.roles import Permission
from app.services import validation
from app.services.base import Service, require
from app.services.errors import Invalid, NotFound
from app.times import utcnow

FIELDS = ("name", "logo_url", "accent_color", "welcome_text", "immutable_tags", "sharing_networks")
MAX_SHARING_NETWORKS = 10_000
COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}\Z")
# A path on this server: no scheme, no `//` or `/\` (browsers read both as another host), no quotes.
LOCAL_PATH_RE = re.compile(r"^/(?![/\\])[A-Za-z0-9._~/?=&%+-]*\Z")
HTTPS_RE = re.compile(r"^https://[^\s\"'<>\\`]+\Z")
MAX_WELCOME = 2000
MAX_LOGO_BYTES = 192 * 1024
LOGO_TYPES = {  # what the file starts with -> its content type
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}


def logo_type(content: bytes) -> str | None:
    """The content type of a PNG, JPEG or WebP file, judged by its first bytes (not its name)."""
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in LOGO_TYPES.items() if content.startswith(magic)), None)


def check(values: dict[str, str]) -> dict[str, str | int | None]:
    """The settings as stored (empty optional fields become None); Invalid names every field in error."""
    errors: dict[str, str] = {}
    try:
        name = validation.name("name", values.get("name", ""), "vendor")
    except Invalid as exc:
        errors["name"] = exc.message
    logo = values.get("logo_url", "").strip()
    if logo and (len(logo) > 500 or not (HTTPS_RE.match(logo) or LOCAL_PATH_RE.match(logo))):
        errors["logo_url"] = "Use an https:// address (or upload the file) of at most 500 characters."
    accent = values.get("accent_color", "").strip()
    if accent and not COLOR_RE.match(accent):
        errors["accent_color"] = "Use a colour like #2457d6."
    welcome = values.get("welcome_text", "").strip()
    if len(welcome) > MAX_WELCOME:
        errors["welcome_text"] = f"Keep the welcome text under {MAX_WELCOME:,} characters."
    rule = values.get("immutable_tags", "").strip() or immutability.OFF
    if rule != immutability.OFF and rule not in immutability.RULES:
        errors["immutable_tags"] = f"Choose one of: {', '.join([immutability.OFF, *immutability.RULES])}."
    sharing = values.get("sharing_networks", "").strip()
    networks: int | None = None
    if sharing:
        if not sharing.isdigit() or not 1 <= int(sharing) <= MAX_SHARING_NETWORKS:
            errors["sharing_networks"] = f"Enter a number of networks from 1 to {MAX_SHARING_NETWORKS:,} (empty: 5)."
        else:
            networks = int(sharing)
    if errors:
        raise Invalid.of(errors)
    return {
        "name": name,
        "logo_url": logo or None,
        "accent_color": accent or None,
        "welcome_text": welcome or None,
        "immutable_tags": None if rule == immutability.OFF else rule,
        "sharing_networks": networks,
    }


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
            change.drops_access = before["immutable_tags"] != cleaned["immutable_tags"]  # the policy caches rules
        return True

    async def set_logo(self, actor: Actor, content: bytes) -> str:
        """Store an uploaded logo (PNG, JPEG or WebP, at most 192 KiB) and show it; its URL on this server."""
        require(actor, Permission.MANAGE_TEAM)
        if not content:
            raise Invalid("logo", "Choose a PNG, JPEG or WebP file.")
        if len(content) > MAX_LOGO_BYTES:
            raise Invalid(
                "logo", f"Keep the logo under {MAX_LOGO_BYTES // 1024} KiB (this one has {len(content) // 1024})."
            )
        kind = logo_type(content)
        if kind is None:
            raise Invalid("logo", "The logo must be a PNG, JPEG or WebP image.")
        digest = hashlib.sha256(content).hexdigest()
        url = f"/branding/logo/{actor.vendor_id}?v={digest[:12]}"
        async with self.change(actor) as change:
            org = await change.session.get(Organization, actor.vendor_id)
            if org is None:
                raise NotFound("vendor not found")
            logo = await change.session.get(VendorLogo, actor.vendor_id)
            if logo is None:
                logo = VendorLogo(vendor_id=actor.vendor_id)
                change.session.add(logo)
            logo.content_type, logo.content, logo.sha256, logo.updated_at = kind, content, digest, utcnow()
            before = {"logo_url": org.logo_url}
            org.logo_url = url
            after = {"logo_url": url, "logo": {"type": kind, "bytes": len(content), "sha256": digest}}
            change.record(DomainEvent.SETTINGS_UPDATED, "vendor", org.id, before=before, after=after)
        return url
