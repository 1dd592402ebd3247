"""The `wharf` command: serve, db upgrade, bootstrap, user reset-link and confirm, audit prune, gc."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import click

from app.logging import configure_logging
from app.settings import Settings

log = logging.getLogger("wharf")


@click.group()
def main() -> None:
    """Wharf: ship container images and Helm charts to licensed customers."""


@main.command()
@click.option("--host", help="Address to listen on (WHARF_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port (WHARF_PORT, default 5000).")
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory (WHARF_DATA_DIR).")
@click.option(
    "--workers",
    type=click.IntRange(1, 512),
    help="Server processes sharing the port (WHARF_WORKERS, default 1); PostgreSQL for more than one.",
)
def serve(host: str | None, port: int | None, data_dir: Path | None, workers: int | None) -> None:
    """Start Wharf (migrations run first unless WHARF_AUTO_MIGRATE=false)."""
    from app import server

    for name, value in (
        ("WHARF_HOST", host),
        ("WHARF_PORT", port),
        ("WHARF_DATA_DIR", data_dir),
        ("WHARF_WORKERS", workers),
    ):
        if value is not None:
            os.environ[name] = str(value)
    try:
        settings = Settings()
    except ValueError as exc:
        click.echo(f"error: invalid setting: {exc}", err=True)
        sys.exit(2)
    if settings.server.workers < 1:
        click.echo(f"error: WHARF_WORKERS must be at least 1, not {settings.server.workers}", err=True)
        sys.exit(2)
    level = settings.observability.log_level.lower()
    try:
        log_config = configure_logging(settings.observability.log_format, level)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    workers_note = f", {settings.server.workers} worker processes" if settings.server.workers > 1 else ""
    log.info("Wharf on %s (data: %s%s)", settings.public_url, settings.server.data_dir.resolve(), workers_note)
    server.run(settings, log_config, level)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to WHARF_DATABASE_URL."""
    from app.db import upgrade

    settings = Settings()
    settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url, revision)
    click.echo(f"database at {revision}", err=True)


@main.command()
@click.option("--vendor", "slug", required=True, help="Vendor slug: the first path segment of its repositories.")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory (WHARF_DATA_DIR).")
@click.option(
    "--adopt-existing",
    is_flag=True,
    help="Make an existing account with this email the admin: its password is reset and its sessions end.",
)
def bootstrap(slug: str, email: str, password: str, data_dir: Path | None, adopt_existing: bool) -> None:
    """Create a vendor and its admin; print an admin API token as the last line."""
    from app.db import upgrade
    from app.services.accounts import bootstrap_vendor
    from app.services.errors import ServiceError
    from registry.sql import create_engine

    if data_dir is not None:
        os.environ["WHARF_DATA_DIR"] = str(data_dir)
    settings = Settings()
    settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            created = await bootstrap_vendor(engine, slug, email, password, adopt_existing=adopt_existing)
            assert created.token is not None  # the command line always makes the token it prints
            return created.token
        finally:
            await engine.dispose()

    try:
        token = asyncio.run(run())
    except ServiceError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(f"Vendor {slug!r} created with admin {email}. API token (shown once; it can push and pull):", err=True)
    click.echo(token)


@main.group()
def user() -> None:
    """People's accounts."""


@user.command("confirm")
@click.argument("email")
def user_confirm(email: str) -> None:
    """Mark EMAIL's address as confirmed: for servers without SMTP, after you checked the address yourself
    (an unconfirmed account cannot join another organization)."""
    from app.mail import LogMailer
    from app.services.accounts import AccountService
    from app.services.base import ServiceDeps
    from app.services.errors import NotFound
    from registry.sql import create_engine

    settings = Settings()

    async def run() -> str:
        engine = create_engine(settings.database_url)
        try:
            service = AccountService(ServiceDeps(engine, LogMailer(), settings.public_url))
            return (await service.confirm_address(email)).email
        finally:
            await engine.dispose()

    try:
        confirmed = asyncio.run(run())
    except NotFound as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    click.echo(f"{confirmed} is confirmed.", err=True)


@user.command("reset-link")
@click.argument("email")
def user_reset_link(email: str) -> None:
    """Print a password reset link for EMAIL (one hour, single use): what the mail would carry, for when
    Wharf has no SMTP server. Hand it to the person over a channel you trust."""
    from app.mail import LogMailer
    from app.services.accounts import RESET_LIFETIME, AccountService
    from app.services.base import ServiceDeps
    from registry.sql import create_engine

    settings = Settings()

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await AccountService(ServiceDeps(engine, LogMailer(), settings.public_url)).issue_reset(email)
        finally:
            await engine.dispose()

    secret = asyncio.run(run())
    if secret is None:
        click.echo(f"error: no account has the email {email}", err=True)
        sys.exit(2)
    minutes = int(RESET_LIFETIME.total_seconds() // 60)
    click.echo(f"Reset link for {email} (works once, for {minutes} minutes):", err=True)
    click.echo(f"{settings.public_url}/password/reset/{secret}")


@main.group()
def audit() -> None:
    """Download audit commands."""


@audit.command("prune")
@click.option("--days", type=int, help="Keep this many days (default: WHARF_EVENT_RETENTION_DAYS; 0 keeps all).")
def audit_prune(days: int | None) -> None:
    """Delete raw download events older than the retention period."""
    from app.event_spool.retention import prune
    from registry.sql import create_engine

    settings = Settings()
    keep = settings.audit.event_retention_days if days is None else days
    if keep <= 0:
        click.echo("retention is 'forever' (0 days): nothing deleted", err=True)
        return

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return await prune(engine, keep)
        finally:
            await engine.dispose()

    click.echo(f"deleted {asyncio.run(run())} download events older than {keep} days", err=True)


@audit.command("rollup")
@click.option("--days", type=int, default=3660, show_default=True, help="Roll up at most this many days.")
def audit_rollup(days: int) -> None:
    """Sum complete days of download events into daily usage rows now (`wharf serve` also does it on its own)."""
    from app.reports.rollup import roll_up_pending
    from registry.sql import create_engine

    settings = Settings()

    async def run() -> int:
        engine = create_engine(settings.database_url)
        try:
            return len(await roll_up_pending(engine, limit=days))
        finally:
            await engine.dispose()

    click.echo(f"rolled up {asyncio.run(run())} days of download events", err=True)


@main.command()
@click.option("--delete", "really", is_flag=True, help="Remove the garbage; without it, only report what would go.")
@click.option(
    "--grace", default="24h", show_default=True, help="Never touch content pushed more recently (30m, 24h, 7d)."
)
@click.option("--repository", help="Collect only in this repository.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--verbose", is_flag=True, help="List every manifest, link and blob.")
@click.option(
    "--abandoned-uploads",
    "abandoned",
    default="7d",
    show_default=True,
    help="With --delete, also remove upload sessions untouched this long (never finished nor cancelled).",
)
def gc(really: bool, grace: str, repository: str | None, as_json: bool, verbose: bool, abandoned: str) -> None:
    """Remove manifests no tag reaches and blobs nothing uses (a dry run unless --delete)."""
    import time

    from app import gc_report
    from app.blob_stores import build_blob_store
    from registry.abandoned_uploads import remove_abandoned_uploads
    from registry.gc import Collection, UnknownRepository, collect
    from registry.sql import create_engine

    try:
        period = gc_report.parse_grace(grace)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--grace") from None
    try:
        upload_age = gc_report.parse_grace(abandoned)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--abandoned-uploads") from None
    settings = Settings()

    async def run() -> tuple[Collection, list[str]]:
        engine = create_engine(settings.database_url)
        store = build_blob_store(settings.storage, settings.storage_path)
        try:
            result = await collect(engine, store, period, repository=repository, delete=really)
            uploads = await remove_abandoned_uploads(engine, store, upload_age) if really else []
            return result, uploads
        finally:
            await store.close()
            await engine.dispose()

    started = time.monotonic()
    try:
        result, uploads = asyncio.run(run())
    except UnknownRepository as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    render = gc_report.as_json if as_json else gc_report.as_text
    click.echo(render(result, period, time.monotonic() - started, verbose))
    if really:
        click.echo(f"removed {len(uploads)} abandoned upload sessions (untouched for {abandoned})", err=True)
