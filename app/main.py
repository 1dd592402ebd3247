"""`create_app()`: the one place the Litestar application is assembled."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import anyio.to_thread
from joserfc.jwk import ECKey
from litestar import Litestar, Router
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app import catalog, db
from app.api import build_api_router
from app.api_docs import LocalSwaggerUI
from app.blob_stores import build_blob_store
from app.body_limits import BodyLimits
from app.dependencies import build_dependencies
from app.event_spool.spool import claim
from app.event_spool.writer import SpoolWriter, WriterThread
from app.favicon import build_favicon_route
from app.guards import PUBLIC, REGISTRY
from app.health import build_health_router
from app.http_metrics import RequestMetrics, build_metrics_router
from app.logging import litestar_logging, unexpected_error_logger
from app.mail import build_mailer
from app.markdown import markdown
from app.metrics import WharfMetrics
from app.policy import WharfPolicy
from app.quotas import QuotaCounters
from app.rate_limit import RateLimiter
from app.reports.rollup import roll_up_pending
from app.reports.schedules import ReportRunner
from app.services import ServiceDeps, ServiceError, Services
from app.services.accounts import vendor_exists
from app.services.base import read_session
from app.settings import Settings
from app.web.foundation import build_web
from app.web.headers import SecurityHeaders
from portal_customer import customer_portal
from portal_vendor import vendor_router
from registry.access import Authenticator
from registry.changes import ChangeWatcher
from registry.details import describe_stored
from registry.errors import RegistryError
from registry.http import Registry, build_router
from registry.metadata import Metadata
from registry.sql import create_engine
from registry.token_endpoint import build_token_router
from registry.tokens import TokenService
from registry.uploads import Uploads

log = logging.getLogger(__name__)
LAST_USED_FLUSH_SECONDS = 30
ROLLUP_SECONDS = 600
COLLECTION_CHECK_SECONDS = 2  # how long a cache may answer for tags moved or content deleted elsewhere


def templates_dir() -> Path:
    """Templates and static files: package data (app/templates) once installed, templates/ in a checkout."""
    packaged = Path(__file__).resolve().parent / "templates"
    return packaged if packaged.is_dir() else packaged.parent.parent / "templates"


TEMPLATES = templates_dir()


def _new_key() -> tuple[str, str]:
    key = TokenService.generate_key()
    return str(key.kid), key.as_pem(private=True).decode()


def trusted_proxies(value: str) -> tuple[IPv4Network | IPv6Network, ...]:
    try:
        return tuple(ip_network(part.strip()) for part in value.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"WHARF_TRUSTED_PROXIES must list addresses or networks (CIDR): {exc}") from None


def template_filters(engine: JinjaTemplateEngine) -> None:
    engine.engine.filters["markdown"] = markdown
    engine.engine.filters["kind_noun"] = catalog.kind_noun


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings()
    settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    store = build_blob_store(settings.storage, settings.storage_path)
    engine = create_engine(settings.database_url)
    metadata = Metadata(engine)
    quotas = QuotaCounters(engine, settings.registry.quota_merge_seconds)
    rate_limit = RateLimiter.from_settings(settings.registry.rate_limit, settings.registry.rate_limit_burst)
    policy = WharfPolicy(engine, settings.registry.credential_cache_seconds, quotas=quotas, rate_limit=rate_limit)
    tokens = TokenService(
        issuer=settings.public_url,
        service=settings.service,
        access_ttl=settings.registry.token_ttl,
    )
    auth = Authenticator(policy, tokens, realm=f"{settings.public_url}/token")
    spool = claim(settings.spool_dir, settings.server.workers)  # one per worker process
    writer = SpoolWriter(spool, engine)  # drains on demand (tests); serving drains on the WriterThread
    proxies = trusted_proxies(settings.registry.trusted_proxies)
    metrics = WharfMetrics()
    metrics.watch(spool, policy)
    registry = Registry(metadata, store, Uploads(metadata, store), auth, metrics.sink(spool), proxies)
    web = build_web(settings, engine, TEMPLATES / "static", proxies)
    web.context.policy = policy
    mailer = build_mailer(settings.mail)
    services = Services.build(ServiceDeps(engine, mailer, settings.public_url, policy.forget, metadata))
    reports = ReportRunner(engine, mailer)  # scheduled usage reports: queued and mailed by whichever node wins

    async def startup() -> None:
        if settings.database.auto_migrate:
            await anyio.to_thread.run_sync(db.upgrade, settings.database_url)
        kid, pem = await db.signing_key_pem(engine, _new_key)
        tokens.use_key(ECKey.import_key(pem, parameters={"kid": kid}))
        await web.startup(pem)
        async with read_session(engine) as session:
            if not await vendor_exists(session):
                log.warning(
                    "Wharf has no vendor yet: open %s/setup/%s to create the first vendor and its admin "
                    "(or run `wharf bootstrap`). The link works until a vendor exists.",
                    settings.public_url,
                    web.context.setup_secret,
                )

    async def record_token_use() -> None:
        while True:
            await asyncio.sleep(LAST_USED_FLUSH_SECONDS)
            try:
                await policy.flush_last_used()
            except Exception:  # a database hiccup must not end the loop; the next flush retries
                log.exception("could not record token use")

    async def roll_up_usage() -> None:
        delay = 60.0  # soon after start, then every ROLLUP_SECONDS; a backlog goes a week at a time
        while True:
            await asyncio.sleep(delay * random.uniform(0.9, 1.1))  # nodes need not line up
            try:
                done = await roll_up_pending(engine, limit=7)
            except Exception:  # reports stay exact without rollups (raw events answer); retry later
                log.exception("could not roll up daily usage")
                done = []
            delay = 1.0 if done else ROLLUP_SECONDS

    async def merge_quotas() -> None:
        # half the merge interval apart: a count written here is read everywhere within one interval
        while True:
            await asyncio.sleep(quotas.merge_seconds / 2)
            try:
                await quotas.merge()
            except Exception:  # counts stay in memory and go with the next merge
                log.exception("could not merge download quota counts")

    async def describe_older_manifests() -> None:
        """Charts and images stored before kinds existed get their details, a batch at a time."""
        while True:
            try:
                if not await describe_stored(metadata, store):
                    return
            except Exception:  # the next start (or the next try, a minute on) picks up where this stopped
                log.exception("could not describe stored manifests")
                await asyncio.sleep(60)

    changes = ChangeWatcher(metadata)

    async def watch_other_processes() -> None:
        while True:
            try:
                await changes.poll()
            except Exception:  # a database hiccup must not end the loop; the next check retries
                log.exception("could not check for changes made by other processes")
            await asyncio.sleep(COLLECTION_CHECK_SECONDS)

    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await startup()
        flusher = asyncio.create_task(record_token_use())
        # stores spooled events on its own thread; it also replays what a previous run left in the spool
        audit = WriterThread(spool, settings.database_url, settings.audit.flush_seconds)
        await audit.start()
        rollups = asyncio.create_task(roll_up_usage())
        collections = asyncio.create_task(watch_other_processes())
        merges = asyncio.create_task(merge_quotas())
        describing = asyncio.create_task(describe_older_manifests())
        mailing = asyncio.create_task(reports.run(settings.audit.report_seconds))  # a missed run goes out now
        try:
            yield
        finally:
            loops = (rollups, describing, mailing, flusher, collections, merges)
            for loop in loops:
                loop.cancel()
            # wait for them to unwind, so none is holding a connection when the engine is disposed
            await asyncio.gather(*loops, return_exceptions=True)
            await audit.stop()  # a final drain on the writer's own thread
            spool.close()
            try:
                await policy.flush_last_used()
            except Exception:
                log.exception("could not record token use at shutdown")
            try:
                await quotas.merge()
            except Exception:
                log.exception("could not merge download quota counts at shutdown")
            await store.close()
            await engine.dispose()

    # Routes outside the portals and the API carry their rule here: the registry decides every request
    # itself through the AccessPolicy; probes, metrics (optionally token-protected) and static files are open.
    registry_routes = Router(
        "/", route_handlers=[build_router(registry), build_token_router(registry)], guards=[REGISTRY]
    )
    open_routes = Router(
        "/",
        route_handlers=[
            build_health_router(engine, store),
            build_metrics_router(metrics, settings.observability.metrics_token),
            web.static_files,
            build_favicon_route(TEMPLATES / "static"),
        ],
        guards=[PUBLIC],
    )
    app = Litestar(
        route_handlers=[
            *web.route_handlers,
            customer_portal(),
            vendor_router(),
            registry_routes,
            build_api_router(engine),
            open_routes,
        ],
        dependencies=build_dependencies(services, proxies),
        lifespan=[lifespan],
        middleware=[DefineMiddleware(BodyLimits), *web.middleware],  # bodies bounded before sessions, CSRF or a handler
        csrf_config=web.csrf,
        stores=web.stores,
        exception_handlers=web.exception_handlers,
        openapi_config=OpenAPIConfig(
            title="Wharf automation API",
            version="1",
            path="/api/schema",
            render_plugins=[LocalSwaggerUI()],
            openapi_router=Router("/api/schema", route_handlers=[], guards=[PUBLIC]),  # the API's own description
        ),
        template_config=TemplateConfig(
            directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=template_filters
        ),
        debug=False,
        logging_config=litestar_logging(),
        after_exception=[unexpected_error_logger((HTTPException, RegistryError, ServiceError))],
    )
    # Outermost, so unrouted requests (404s) are counted too, and unrouted pages carry the security headers.
    app.asgi_handler = RequestMetrics(SecurityHeaders(app.asgi_handler), metrics)  # type: ignore[assignment,arg-type]
    app.state.metrics = metrics
    app.state.settings = settings
    app.state.registry = registry
    app.state.policy = policy  # the API's guard resolves tokens (and admits them at the request rate) with it
    app.state.quotas = quotas
    app.state.services = services  # for tests and the CLI; handlers receive services by dependency injection
    app.state.web = web.context
    app.state.startup = startup
    app.state.audit_writer = writer
    app.state.reports = reports
    return app
