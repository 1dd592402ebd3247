"""What every customer page shares: the request and form types. Who may see a page is declared on its
route (app.guards.CUSTOMER, CUSTOMER_ADMIN); what it changes goes through a service."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.params import URLEncodedBody

Req = Request[Any, Any, Any]
Form = URLEncodedBody[dict[str, str]]
