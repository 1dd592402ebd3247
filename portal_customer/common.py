"""What every customer page shares: who may see it, and the request type."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException

from app.web.users import WebUser, require_user

Req = Request[Any, Any, Any]


async def member(request: Req) -> WebUser:
    """A signed-in user of a customer organization; vendor staff and strangers never see these pages."""
    return await require_user(request, "customer")


async def admin(request: Req) -> WebUser:
    """A customer admin; to a member, admin pages answer 404 as if they did not exist."""
    user = await member(request)
    if user.role != "admin":
        raise NotFoundException("no such page")
    return user
