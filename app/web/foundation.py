"""The web foundation both portals stand on: database sessions, CSRF, sign-in, mail, layout, errors."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler
from sqlalchemy.ext.asyncio import AsyncEngine

from app.settings import Settings
from app.web.account import AccountController
from app.web.branding import BrandingController
from app.web.context import WebContext
from app.web.errors import MACHINE_PREFIXES, error_page
from app.web.profile import ProfileController
from app.web.sessions import SESSION_COOKIE, SESSION_STORE, DatabaseSessionConfig, DatabaseSessionStore
from app.web.setup import SetupController, setup_secret

# Bearer-token clients and probes: no cookies, no CSRF, no session lookups on the registry's hot path.
NO_BROWSER_STATE = [f"^{prefix}" for prefix in MACHINE_PREFIXES]
SESSION_SECONDS = 7 * 86400


@dataclass
class WebFoundation:
    context: WebContext
    route_handlers: list[ControllerRouterHandler]
    middleware: list[DefineMiddleware]
    csrf: CSRFConfig
    stores: dict[str, Any]
    exception_handlers: dict[Any, Any]
    static_files: ControllerRouterHandler

    async def startup(self, signing_key_pem: str) -> None:
        self.use_secret(signing_key_pem)
        self.context.setup_secret = setup_secret(signing_key_pem)
        await self.stores[SESSION_STORE].delete_expired()

    def use_secret(self, key_material: str) -> None:
        """Derive the CSRF secret from the shared signing key, so every node accepts every node's forms."""
        self.csrf.secret = hmac.new(key_material.encode(), b"wharf csrf", hashlib.sha256).hexdigest()


def build_web(
    settings: Settings,
    engine: AsyncEngine,
    static_dir: Path,
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = (),
) -> WebFoundation:
    secure = settings.public_url.startswith("https://")
    sessions = DatabaseSessionConfig(
        key=SESSION_COOKIE,
        store=SESSION_STORE,
        max_age=SESSION_SECONDS,
        secure=secure,
        httponly=True,
        samesite="lax",
        exclude=NO_BROWSER_STATE,
    )
    csrf = CSRFConfig(
        secret="replaced-at-startup",  # use_secret() sets the real one before the first request
        cookie_name="wharf_csrf",
        cookie_secure=secure,
        cookie_httponly=True,
        cookie_samesite="lax",
        exclude=NO_BROWSER_STATE,
    )
    context = WebContext(engine, settings.public_url, trusted_proxies, registry_host=settings.service)
    return WebFoundation(
        context=context,
        route_handlers=[AccountController, ProfileController, SetupController, BrandingController],
        middleware=[sessions.middleware],
        csrf=csrf,
        stores={SESSION_STORE: DatabaseSessionStore(engine)},
        exception_handlers={Exception: error_page},
        static_files=create_static_files_router(path="/static", directories=[static_dir]),
    )
