"""How a repository shows as a product (display name, description, icon), whether its tags may move
(immutability), and the release notes of each version. Release engineers (push) and admins edit them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import immutability
from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import ReleaseNote, RepositorySettings
from app.roles import Permission
from app.services import validation
from app.services.base import Service, require
from app.services.errors import Invalid, NotFound
from app.times import utcnow
from registry.describe import https_url
from registry.tables import Repository, Tag

FIELDS = ("display_name", "description", "icon_url", "immutable_tags")
MAX_DESCRIPTION = 2000
RULE_CHOICES = (immutability.DEFAULT, immutability.OFF, *immutability.RULES)


def check(values: Mapping[str, Any]) -> dict[str, str | None]:
    """The given fields as stored (empty means none; immutable_tags "default" means the vendor's rule)."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str | None] = {}
    unknown = set(values) - set(FIELDS)
    if unknown:
        errors[sorted(unknown)[0]] = f"Unknown setting; these exist: {', '.join(FIELDS)}."
    for field in set(FIELDS) & set(values):
        raw = values[field]
        text = "" if raw is None else str(raw).strip()
        try:
            cleaned[field] = _clean(field, text)
        except Invalid as exc:
            errors[field] = exc.message
    if errors:
        raise Invalid.of(errors)
    return cleaned


def _clean(field: str, text: str) -> str | None:
    if field == "display_name":
        return validation.name(field, text, "product") if text else None
    if field == "description":
        if len(text) > MAX_DESCRIPTION:
            raise Invalid(field, f"Keep the description under {MAX_DESCRIPTION:,} characters.")
        return text or None
    if field == "icon_url":
        if text and https_url(text) != text:
            raise Invalid(field, "Use an https:// address of at most 500 characters, without spaces or quotes.")
        return text or None
    if text not in RULE_CHOICES:
        raise Invalid(field, f"Choose one of: {', '.join(RULE_CHOICES)}.")
    return None if text == immutability.DEFAULT else text


def snapshot(row: RepositorySettings | None) -> dict[str, str | None]:
    return {f: getattr(row, f) if row is not None else None for f in FIELDS}


async def settings_of(session: AsyncSession, repository: str) -> RepositorySettings | None:
    return await session.get(RepositorySettings, repository)


async def notes_of(session: AsyncSession, repository: str, tags: list[str] | None = None) -> dict[str, str]:
    """The vendor's release notes of `repository`, by tag (of `tags` only, when given)."""
    stmt = select(ReleaseNote.tag, ReleaseNote.text).where(ReleaseNote.repository == repository)
    if tags is not None:
        stmt = stmt.where(ReleaseNote.tag.in_(tags))
    return {row.tag: row.text for row in await session.execute(stmt)}


class RepositorySettingsService(Service):
    async def _own(self, session: AsyncSession, actor: Actor, repository: str) -> int:
        require(actor, Permission.PUSH)
        repo_id = None
        if repository.startswith(actor.vendor_slug + "/"):
            repo_id = await session.scalar(select(Repository.id).where(Repository.name == repository))
        if repo_id is None:
            raise NotFound(f"repository {repository} not found")
        return int(repo_id)

    async def update(self, actor: Actor, repository: str, values: Mapping[str, Any]) -> dict[str, str | None]:
        """Change the given settings (the others stay); the settings after the change."""
        require(actor, Permission.PUSH)
        cleaned = check(values)
        async with self.change(actor) as change:
            await self._own(change.session, actor, repository)
            row = await change.session.get(RepositorySettings, repository)
            before = snapshot(row)
            after = {**before, **cleaned}
            if after == before:
                return before
            if row is None:
                row = RepositorySettings(repository=repository, vendor_id=actor.vendor_id)
                change.session.add(row)
            for field, value in cleaned.items():
                setattr(row, field, value)
            row.updated_at = utcnow()
            change.record(DomainEvent.REPOSITORY_UPDATED, "repository", repository, before=before, after=after)
            change.drops_access = before["immutable_tags"] != after["immutable_tags"]  # the rule the policy caches
        return after

    async def set_notes(self, actor: Actor, repository: str, tag: str, text: str) -> str | None:
        """Write (or, with empty text, remove) the release notes of one version; the notes as stored."""
        require(actor, Permission.PUSH)
        text = validation.notes("notes", text.strip())
        async with self.change(actor) as change:
            repo_id = await self._own(change.session, actor, repository)
            tagged = await change.session.scalar(select(Tag.name).where(Tag.repository_id == repo_id, Tag.name == tag))
            if tagged is None:
                raise NotFound(f"tag {tag} not found in {repository}")
            row = await change.session.get(ReleaseNote, (repository, tag))
            before = row.text if row is not None else None
            if before == (text or None):
                return before
            where = {"repository": repository, "tag": tag}
            if not text:
                await change.session.execute(
                    delete(ReleaseNote).where(ReleaseNote.repository == repository, ReleaseNote.tag == tag)
                )
                change.record(
                    DomainEvent.RELEASE_NOTES_REMOVED, "repository", repository, before={**where, "notes": before}
                )
                return None
            if row is None:
                row = ReleaseNote(repository=repository, tag=tag, vendor_id=actor.vendor_id, text=text)
                change.session.add(row)
            row.text, row.updated_at = text, utcnow()
            change.record(
                DomainEvent.RELEASE_NOTES_UPDATED,
                "repository",
                repository,
                before={**where, "notes": before} if before is not None else None,
                after={**where, "notes": text},
            )
        return text
