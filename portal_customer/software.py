"""'Your software': one card per product (repository) the customer's licenses cover: its kind, name,
description and icon, the newest version it may pull with the commands its own tool expects, older
versions folded, release notes, and whether a newer release is available than the one it last pulled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from litestar import get
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app import adoption, artifacts, catalog, commands
from app.artifacts import TagInfo
from app.catalog import entitled_repositories
from app.commands import Snippet
from app.dependencies import Reader, SignedIn
from app.guards import CUSTOMER
from app.services.repository_settings import notes_of, settings_of
from app.web.context import web
from app.web.pages import render
from portal_customer.common import Req
from registry.kinds import ATTACHMENTS

WARN_DAYS = 14
KIND_LABELS = {
    "image": "Container image",
    "index": "Multi-platform image",
    "helm-chart": "Helm chart",
    "artifact": "Artifact",
}


def sentence(text: str) -> str:
    """`text` with its first letter raised, the rest as written (license names keep their case)."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class LicenseView:
    name: str
    state: str  # a label: Active, Suspended, Expired, Not yet valid, Grace period
    level: str  # ok | warn | bad: the badge colour
    valid_until: str | None
    warning: str | None
    ask: str | None = None  # what to ask the vendor for, when nothing can be pulled under it


ASK = {"suspended": "to lift the suspension", "expired": "to renew it"}


def license_view(lic: licensing.License, now: datetime) -> LicenseView:
    state = lic.state(now)
    until = lic.valid_until.date().isoformat() if lic.valid_until else None
    if state != "in_force":
        label = {"suspended": "Suspended", "expired": "Expired", "not_yet_valid": "Not yet valid"}[state]
        return LicenseView(lic.name, label, "bad", until, sentence(licensing.lapse_reason(lic, now)), ASK.get(state))
    warning = licensing.expiry_warning(lic, now, WARN_DAYS)
    if lic.in_grace(now):
        return LicenseView(lic.name, "Grace period", "warn", until, sentence(warning) if warning else None)
    if warning and lic.valid_until is not None:
        days = max(0, (lic.valid_until - now) // timedelta(days=1))
        return LicenseView(lic.name, "Ends soon", "warn", until, f"{sentence(warning)} (in {days} days)")
    return LicenseView(lic.name, "Active", "ok", until, None)


@dataclass(frozen=True)
class Version:
    info: TagInfo
    notes: str | None  # Markdown: the vendor's release notes, else the manifest's description
    commands: list[Snippet]
    verify: list[Snippet]
    sboms: list[Snippet]


@dataclass(frozen=True)
class Product:
    repository: str
    kind: str
    kind_label: str
    title: str
    description: str | None
    icon: str | None
    newest: Version | None
    older: list[Version] = field(default_factory=list)
    last_pulled: str | None = None
    available: str | None = None  # a newer release than the last pulled, under the customer's license


def ordered(tags: list[TagInfo]) -> list[TagInfo]:
    """Releases newest first (semver), then other tags by when they were pushed."""
    by_name = {t.tag: t for t in tags}
    releases = licensing.releases(by_name)
    rest = [t for t in tags if t.tag not in releases]
    return [by_name[name] for name in releases] + sorted(rest, key=lambda t: t.pushed_at, reverse=True)


def version_of(reg: commands.Registry, repository: str, info: TagInfo, notes: dict[str, str]) -> Version:
    chart_name = info.chart.name if info.chart else None
    return Version(
        info,
        notes.get(info.tag) or info.annotations.get("description"),
        commands.commands(reg, repository, info.tag, info.kind, chart_name),
        commands.verify_commands(reg, repository, info.tag, info.cosign_signed) if info.signed else [],
        [commands.attachment_command(reg, repository, a.digest) for a in info.sboms],
    )


async def product(
    session: AsyncSession,
    reg: commands.Registry,
    vendor_slug: str,
    name: str,
    tags: list[str],
    last: adoption.LastPull | None,
) -> Product:
    repo_id = await catalog.repository_id(session, vendor_slug, name)
    infos = await artifacts.tags(session, repo_id, only=adoption.versions(tags)) if repo_id is not None else []
    infos = ordered([t for t in infos if t.kind not in ATTACHMENTS])
    notes = await notes_of(session, name, [t.tag for t in infos])
    newest_tag = licensing.newest_release(t.tag for t in infos)
    first = next((t for t in infos if t.tag == newest_tag), infos[0] if infos else None)
    settings = await settings_of(session, name)
    chart = first.chart if first else None
    annotations = first.annotations if first else {}
    kind = first.kind if first else "artifact"
    versions = [version_of(reg, name, t, notes) for t in infos]
    return Product(
        repository=name,
        kind=kind,
        kind_label=KIND_LABELS.get(kind, "Artifact"),
        title=(settings and settings.display_name) or annotations.get("title") or (chart and chart.name) or name,
        description=(settings and settings.description) or (first.description if first else None),
        icon=(settings and settings.icon_url) or (chart.icon if chart else None),
        newest=versions[0] if versions else None,
        older=versions[1:],
        last_pulled=last.tag if last else None,
        available=adoption.newer_available(last.tag if last else None, [t.tag for t in infos]),
    )


@get("/portal/", include_in_schema=False, guards=[CUSTOMER])
async def software(request: Req, user: SignedIn, reader: Reader) -> Template:
    context = web(request)
    assert context.policy is not None
    licenses = await context.policy.customer_licenses(user.org_id)
    now = datetime.now(UTC)
    entitled = await entitled_repositories(reader, user.vendor_slug, licenses, now)
    last = await adoption.last_pulls(reader, user.vendor_id, customer_id=user.org_id)
    reg = commands.Registry.of(context.public_url)
    products = [
        await product(reader, reg, user.vendor_slug, r.name, r.tags, last.get((user.org_id, r.name))) for r in entitled
    ]
    kinds = {p.kind for p in products if p.newest}
    return await render(
        request,
        "customer/software.html",
        user=user,
        products=products,
        licenses=[license_view(lic, now) for lic in licenses],
        set_token=commands.set_token(),
        images=bool(kinds & set(commands.IMAGE_KINDS)),
        host=reg.host,
    )
