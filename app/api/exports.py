"""/api/v1/exports/{id}: the record of an export, to check a file handed on (its rows and SHA-256)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath

from app.dependencies import CurrentActor, Exports
from app.guards import api
from app.roles import Permission


class ExportController(Controller):
    path = "/api/v1/exports"
    tags = ["audit"]

    @get("/{export_id:str}", guards=[api(Permission.AUDIT)])
    async def get_(self, actor: CurrentActor, exports: Exports, export_id: FromPath[str]) -> dict[str, Any]:
        """Who exported what (kind, format, filters), when and through which channel; its state (streaming,
        complete, aborted) and the rows, bytes and SHA-256 of exactly what was sent."""
        return await exports.get(actor, export_id)
