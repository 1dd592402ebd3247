"""/api/v1/tokens: the vendor's own API and push tokens, never above the creating token's role."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from app.api.common import moment
from app.api.customers import token_json
from app.dependencies import CurrentActor, Reader, VendorTokens
from app.guards import api
from app.roles import Permission
from app.services.tokens import vendor_tokens_of


class TokenIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    role: str
    kind: Literal["api", "push"] = "api"
    expires_at: str | None = None  # a date (the token works through that UTC day) or a date and time


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["tokens"]

    @post("/", guards=[api(Permission.MANAGE_TOKENS)])
    async def create(self, data: JSONBody[TokenIn], actor: CurrentActor, vendor_tokens: VendorTokens) -> dict[str, Any]:
        """The new token's person is the one behind the calling token; removing them revokes it."""
        expires = moment("expires_at", data.expires_at, "end")
        token, secret = await vendor_tokens.create(actor, data.kind, data.name, data.role, expires)
        return {**token_json(token), "token": secret}

    @get("/", guards=[api(Permission.MANAGE_TOKENS)])
    async def list_(self, actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        found = sorted(await vendor_tokens_of(reader, actor.vendor_id), key=lambda t: t.id)
        return {"items": [token_json(t) for t in found]}

    @delete("/{token_id:int}", guards=[api(Permission.MANAGE_TOKENS)])
    async def revoke(self, token_id: FromPath[int], actor: CurrentActor, vendor_tokens: VendorTokens) -> None:
        await vendor_tokens.revoke(actor, token_id)
