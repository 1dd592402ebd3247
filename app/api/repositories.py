"""/api/v1/repositories: what the vendor has pushed (kinds, tags with chart and image details), each
repository's settings, and release notes per version.

Repository names hold slashes, so the path's suffix decides the action, as on /v2:
`<name>/tags`, `<name>/settings`, `<name>/tags/<tag>/notes`.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, get, patch, put
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import artifacts, catalog, immutability
from app.dependencies import CurrentActor, ProductSettings, Reader
from app.guards import api
from app.models import Organization
from app.roles import Permission
from app.services.errors import Invalid, NotFound
from app.services.repository_settings import settings_of
from app.times import iso


class SettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    """Any of the settings; those left out stay as they are (null or "" clears a text)."""

    display_name: str | msgspec.UnsetType | None = msgspec.UNSET
    description: str | msgspec.UnsetType | None = msgspec.UNSET
    icon: str | msgspec.UnsetType | None = msgspec.UNSET  # https only
    immutability: Literal["default", "off", "semver"] | msgspec.UnsetType = msgspec.UNSET


class NotesIn(msgspec.Struct, forbid_unknown_fields=True):
    notes: str  # Markdown; empty removes the notes


# The API's names of the settings -> the service's
SETTING_NAMES = {
    "display_name": "display_name",
    "description": "description",
    "icon": "icon_url",
    "immutability": "immutable_tags",
}


def split(path: str) -> tuple[str, str, str | None]:
    """(repository, action, tag) of `<name>/tags`, `<name>/settings` or `<name>/tags/<tag>/notes`."""
    path = path.strip("/")
    head, _, last = path.rpartition("/")
    if last == "notes":
        rest, _, tag = head.rpartition("/")
        repository, _, marker = rest.rpartition("/")
        if marker == "tags" and repository and tag:
            return repository, "notes", tag
    if last in ("tags", "settings") and head:
        return head, last, None
    return path, "", None


async def settings_view(session: AsyncSession, actor_vendor_id: int, repository: str) -> dict[str, Any]:
    row = await settings_of(session, repository)
    vendor_rule = await session.scalar(select(Organization.immutable_tags).where(Organization.id == actor_vendor_id))
    own = row.immutable_tags if row is not None else None
    effective = immutability.effective(own, vendor_rule)
    return {
        "name": repository,
        "display_name": row.display_name if row else None,
        "description": row.description if row else None,
        "icon": row.icon_url if row else None,
        "immutability": {
            "rule": own or immutability.DEFAULT,
            "effective": effective or immutability.OFF,
            "means": immutability.RULES.get(effective or "", "tags may move"),
        },
    }


class RepositoryController(Controller):
    path = "/api/v1/repositories"
    tags = ["repositories"]

    @get("/", guards=[api(Permission.READ)])
    async def list_(self, actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        found = await catalog.repositories(reader, actor.vendor_slug)
        return {
            "items": [
                {
                    "name": r.name,
                    "kinds": r.kinds,
                    "display_name": r.display_name,
                    "description": r.description,
                    "tag_count": r.tag_count,
                    "last_pushed_at": iso(r.last_pushed_at),
                }
                for r in found
            ]
        }

    @get("/{name:path}", guards=[api(Permission.READ)])
    async def read(self, name: FromPath[str], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        """`<name>/tags`: the tags of one repository, each with its kind (and chart); `<name>/settings`."""
        repository, action, _tag = split(name)
        repo_id = await catalog.repository_id(reader, actor.vendor_slug, repository) if action else None
        if repo_id is None or action not in ("tags", "settings"):
            raise NotFound(f"repository {repository or name} not found")
        if action == "settings":
            return await settings_view(reader, actor.vendor_id, repository)
        return {"items": [artifacts.api_item(t) for t in await artifacts.tags(reader, repo_id)]}

    @patch("/{name:path}", guards=[api(Permission.PUSH)])
    async def update_settings(
        self,
        name: FromPath[str],
        data: JSONBody[SettingsIn],
        actor: CurrentActor,
        repository_settings: ProductSettings,
        reader: Reader,
    ) -> dict[str, Any]:
        """`<name>/settings`: change any of display_name, description, icon (https) and immutability
        (`default`: the vendor's rule, `off`, `semver`: full semver tags are immutable)."""
        repository, action, _tag = split(name)
        if action != "settings":
            raise NotFound(f"no such resource {name}")
        given = msgspec.structs.asdict(data)
        values = {SETTING_NAMES[k]: v for k, v in given.items() if v is not msgspec.UNSET}
        try:
            await repository_settings.update(actor, repository, values)
        except Invalid as exc:  # named as the API names them
            api_names = {service: api for api, service in SETTING_NAMES.items()}
            raise Invalid.of({api_names.get(k, k): m for k, m in exc.fields.items()}) from None
        return await settings_view(reader, actor.vendor_id, repository)

    @put("/{name:path}", guards=[api(Permission.PUSH)])
    async def write_notes(
        self, name: FromPath[str], data: JSONBody[NotesIn], actor: CurrentActor, repository_settings: ProductSettings
    ) -> dict[str, Any]:
        """`<name>/tags/<tag>/notes`: the release notes of one version, in Markdown (empty removes them)."""
        repository, action, tag = split(name)
        if action != "notes" or tag is None:
            raise NotFound(f"no such resource {name}")
        stored = await repository_settings.set_notes(actor, repository, tag, data.notes)
        return {"repository": repository, "tag": tag, "notes": stored}
