"""What a customer may pull: the vendor's repositories and tags, narrowed by the customer's licenses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from registry.tables import Repository, Tag


@dataclass(frozen=True)
class EntitledRepository:
    name: str
    tags: list[str]  # only those the licenses allow, newest push first


async def vendor_tags(session: AsyncSession, vendor_slug: str) -> dict[str, list[str]]:
    """Every repository under the vendor's slug with its tags, most recently pushed first."""
    stmt = (
        select(Repository.name, Tag.name.label("tag"))
        .join(Tag, Tag.repository_id == Repository.id, isouter=True)
        .where(Repository.name.startswith(vendor_slug + "/", autoescape=True))
        .order_by(Repository.name, Tag.updated_at.desc(), Tag.name)
    )
    found: dict[str, list[str]] = {}
    for row in await session.execute(stmt):
        tags = found.setdefault(row.name, [])
        if row.tag is not None:
            tags.append(row.tag)
    return found


async def entitled_repositories(
    session: AsyncSession, vendor_slug: str, licenses: Sequence[licensing.License], now: datetime
) -> list[EntitledRepository]:
    """Repositories a license in force covers, each with exactly the tags `licensing.decide` would allow."""
    return [
        EntitledRepository(name, licensing.allowed_tags(licenses, name, tags, now))
        for name, tags in (await vendor_tags(session, vendor_slug)).items()
        if licensing.repository_visible(licenses, name, now)
    ]
