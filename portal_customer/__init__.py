"""The customer portal (/portal/…): what a vendor's customer sees, branded with the vendor's name and colour."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from portal_customer.downloads import downloads
from portal_customer.invitations import invitation_controller
from portal_customer.software import software
from portal_customer.team import TeamController
from portal_customer.tokens import TokenController


def customer_portal(engine: AsyncEngine) -> list[Any]:
    return [invitation_controller(engine), software, TokenController, downloads, TeamController]
