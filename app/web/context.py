"""What the portal pages share at run time: database, mailer, sign-in throttle, public URL, proxies."""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import services
from app.mail import Mailer
from app.policy import WharfPolicy
from app.web.throttle import SignInThrottle
from app.web.users import WebUser
from registry.http.common import client_ip
from registry.sql import WRITE


@dataclass
class WebContext:
    engine: AsyncEngine
    mailer: Mailer
    public_url: str
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    registry_host: str = ""  # host[:port] that docker, helm and oras name
    # The last branding shown per vendor (None: signed-out pages), so error pages, which cannot
    # query the database, still look like the vendor's portal.
    brands: dict[int | None, Any] = field(default_factory=dict)
    policy: WharfPolicy | None = None  # set by create_app(): licenses as the registry sees them, and forget()

    def session(self) -> AsyncSession:
        """A session for a page's reads and writes (commit explicitly)."""
        return AsyncSession(self.engine.execution_options(**WRITE), expire_on_commit=False)

    def client_ip(self, request: Request[Any, Any, Any]) -> str | None:
        return client_ip(request, self.trusted_proxies)

    def record(
        self,
        session: AsyncSession,
        request: Request[Any, Any, Any],
        user: WebUser,
        action: str,
        object_type: str,
        object_id: object,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """An admin audit entry for a change made through a portal, with the person and their address."""
        services.record_change(
            session,
            vendor_id=user.vendor_id,
            actor=user.label,
            client_ip=self.client_ip(request),
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )


def web(request: Request[Any, Any, Any]) -> WebContext:
    context: WebContext = request.app.state.web
    return context
