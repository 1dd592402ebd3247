"""What the portal pages share at run time: database, public URL, proxies, branding, the setup secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from app.policy import WharfPolicy
from registry.http.common import client_ip


@dataclass
class WebContext:
    engine: AsyncEngine
    public_url: str
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    registry_host: str = ""  # host[:port] that docker, helm and oras name
    # The last branding shown per vendor (None: signed-out pages), so error pages, which cannot
    # query the database, still look like the vendor's portal.
    brands: dict[int | None, Any] = field(default_factory=dict)
    policy: WharfPolicy | None = None  # set by create_app(): licenses as the registry sees them
    setup_secret: str = ""  # the one-time setup link's secret, derived from the signing key at start

    def client_ip(self, request: Request[Any, Any, Any]) -> str | None:
        return client_ip(request, self.trusted_proxies)


def web(request: Request[Any, Any, Any]) -> WebContext:
    context: WebContext = request.app.state.web
    return context
