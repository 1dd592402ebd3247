"""The customer admin's own printable monthly statement (app.web.statements): never another organization's."""

from __future__ import annotations

from litestar import get
from litestar.params import FromQuery
from litestar.response import Template

from app.dependencies import Reader, SignedIn
from app.guards import CUSTOMER_ADMIN
from app.models import Organization
from app.web.statements import statement_page
from portal_customer.common import Req


@get("/portal/statement", include_in_schema=False, guards=[CUSTOMER_ADMIN])
async def statement(request: Req, user: SignedIn, reader: Reader, month: FromQuery[str] = "") -> Template:
    org = await reader.get(Organization, user.org_id)
    assert org is not None
    return await statement_page(request, user, reader, org, month, "/portal/downloads")
