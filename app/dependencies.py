"""What handlers receive by Litestar DI, the same in the API and both portals: the `actor` behind the
request (set up by the route's guard), the signed-in `user`, a read-only `reader` session, and the
services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.guards import API_IDENTITY
from app.identity import Actor, Channel
from app.services import Services
from app.services.accounts import AccountService
from app.services.base import read_session
from app.services.customers import CustomerService
from app.services.exports import ExportService
from app.services.invitations import InvitationService
from app.services.licenses import LicenseService
from app.services.report_schedules import ReportScheduleService
from app.services.repositories import RepositoryService
from app.services.repository_settings import RepositorySettingsService
from app.services.settings import SettingsService
from app.services.team import TeamService
from app.services.tokens import PullTokenService, VendorTokenService
from app.web.users import WebUser, current_user
from registry.http.common import client_ip

Req = Request[Any, Any, Any]


def build_dependencies(services: Services, trusted_proxies: tuple[IPv4Network | IPv6Network, ...]) -> dict[str, Any]:
    """The app-wide providers (create_app registers them on the application)."""
    engine = services.deps.engine

    async def provide_actor(request: Req) -> Actor:
        """Who makes this request: the API token or the signed-in person its route's guard admitted."""
        address = client_ip(request, trusted_proxies)
        token = request.state.get(API_IDENTITY)
        if token is not None:
            return Actor.of_token(token, Channel.API, address)
        user = await current_user(request)
        if user is None:
            raise NotAuthorizedException("sign in first")
        return user.actor(address)

    async def provide_user(request: Req) -> WebUser:
        user = await current_user(request)
        if user is None:
            raise NotAuthorizedException("sign in first")
        return user

    async def provide_reader() -> AsyncIterator[AsyncSession]:
        async with read_session(engine) as session:
            yield session

    def constant(value: Any) -> Provide:
        return Provide(lambda: value, sync_to_thread=False, use_cache=True)

    return {
        "actor": Provide(provide_actor),
        "user": Provide(provide_user),
        "reader": Provide(provide_reader),
        "services": constant(services),
        "accounts": constant(services.accounts),
        "customers": constant(services.customers),
        "exports": constant(services.exports),
        "invitations": constant(services.invitations),
        "licenses": constant(services.licenses),
        "pull_tokens": constant(services.pull_tokens),
        "report_schedules": constant(services.report_schedules),
        "repositories": constant(services.repositories),
        "repository_settings": constant(services.repository_settings),
        "settings_service": constant(services.settings),
        "team": constant(services.team),
        "vendor_tokens": constant(services.vendor_tokens),
        "engine": constant(engine),
    }


# How handlers name what they receive (Litestar wants injected parameters marked as dependencies).
CurrentActor = NamedDependency[Actor]
SignedIn = NamedDependency[WebUser]
Reader = NamedDependency[AsyncSession]  # read-only; writes go through the services
Accounts = NamedDependency[AccountService]
Customers = NamedDependency[CustomerService]
Exports = NamedDependency[ExportService]
Invitations = NamedDependency[InvitationService]
Licenses = NamedDependency[LicenseService]
PullTokens = NamedDependency[PullTokenService]
ReportSchedules = NamedDependency[ReportScheduleService]
Repositories = NamedDependency[RepositoryService]
ProductSettings = NamedDependency[RepositorySettingsService]  # injected as `repository_settings`
VendorSettings = NamedDependency[SettingsService]
Team = NamedDependency[TeamService]
VendorTokens = NamedDependency[VendorTokenService]
Engine = NamedDependency[AsyncEngine]  # for exports that stream past the request's own session
