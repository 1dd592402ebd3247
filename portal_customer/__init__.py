"""The customer portal (/portal/…): what a vendor's customer sees, branded with the vendor's name and colour."""

from __future__ import annotations

from litestar import Router

from app.api.common import ids_in_range
from portal_customer.downloads import downloads
from portal_customer.invitations import InvitationController
from portal_customer.software import software
from portal_customer.statement import statement
from portal_customer.team import TeamController
from portal_customer.tokens import TokenController


def customer_portal() -> Router:
    return Router(
        path="/",
        route_handlers=[InvitationController, software, TokenController, downloads, statement, TeamController],
        before_request=ids_in_range,
        include_in_schema=False,
    )
