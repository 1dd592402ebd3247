"""Shared fixtures: one real database per backend (migrated with Alembic), the app in-process, and
a live `wharf serve` for real registry clients."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.db import upgrade
from app.main import create_app
from app.services.accounts import bootstrap_vendor
from app.settings import DatabaseSettings, MailSettings, RegistrySettings, ServerSettings, Settings, StorageSettings
from tests.support import postgres
from tests.support.s3 import S3Server, start_s3_server
from tests.support.server import LiveServer, start_server
from tests.support.smtp import SmtpSink, start_sink

BACKENDS = ["sqlite", "postgresql"]


def in_thread(fn: Any, *args: Any) -> Any:
    """Run blocking or asyncio-driving set-up code outside any running event loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(scope="session")
def postgres_base() -> Iterator[str]:
    stack: list[Any] = []
    url = in_thread(asyncio.run, postgres.server_url(stack))
    yield url
    for cluster in stack:
        cluster.__exit__(None, None, None)


@contextmanager
def migrated_database(backend: str, request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> Iterator[str]:
    """A new database on `backend`, schema created by the migrations (never create_all)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp.mktemp('sqlite') / 'wharf.db'}"
        in_thread(upgrade, url)
        yield url
        return
    base = request.getfixturevalue("postgres_base")
    name = f"wharf_test_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(base, name))
    in_thread(upgrade, url)
    yield url
    in_thread(asyncio.run, postgres.drop_database(base, name))


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per backend."""
    with migrated_database(request.param, request, tmp_path_factory) as url:
        yield url


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server receiving Wharf's mail for the whole run."""
    sink, controller = start_sink()
    yield sink
    controller.stop()


@dataclass
class Wharf:
    client: httpx.AsyncClient
    token: str
    vendor: str
    app: Any
    admin_email: str = ""  # the vendor admin (password "correct-horse")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": basic("ci", self.token)}

    def repo(self, label: str = "app") -> str:
        """A repository name unique to the calling test, under the vendor's slug."""
        return f"{self.vendor}/{label}-{uuid.uuid4().hex[:8]}"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test module setting `BLOB_STORAGES = [...]` runs its `wharf` tests once per blob store."""
    storages = getattr(metafunc.module, "BLOB_STORAGES", None)
    if storages and "wharf" in metafunc.fixturenames:
        metafunc.parametrize("blob_storage", storages, indirect=True, scope="session")


@pytest.fixture(scope="session")
def blob_storage(request: pytest.FixtureRequest) -> StorageSettings:
    """`filesystem` (the default), `s3` (bytes streamed through Wharf) or `s3-redirect` (307 to S3)."""
    kind = getattr(request, "param", "filesystem")
    if kind == "filesystem":
        return StorageSettings(backend="filesystem")
    server: S3Server = request.getfixturevalue("s3_server")
    env = server.env(f"wharf-{uuid.uuid4().hex[:8]}/", "redirect" if kind == "s3-redirect" else "stream")
    return StorageSettings(
        backend="s3",
        s3_bucket=env["WHARF_S3_BUCKET"],
        s3_prefix=env["WHARF_S3_PREFIX"],
        s3_endpoint_url=env["WHARF_S3_ENDPOINT_URL"],
        s3_access_key_id=env["WHARF_S3_ACCESS_KEY_ID"],
        s3_secret_access_key=env["WHARF_S3_SECRET_ACCESS_KEY"],
        s3_path_style=True,
        s3_blob_delivery=env["WHARF_S3_BLOB_DELIVERY"],
    )


_VENDOR_ADMINS: dict[str, tuple[str, str]] = {}  # database url -> (admin API token, admin email)
_FILESYSTEM_DATA: dict[str, Path] = {}


@asynccontextmanager
async def open_wharf(
    database_url: str, data_dir: Path, storage: StorageSettings, smtp_sink: SmtpSink
) -> AsyncIterator[Wharf]:
    """The app in-process on `database_url` and `storage`, with a bootstrapped vendor and an HTTP client."""
    settings = Settings(
        server=ServerSettings(
            host="testserver.local", port=80, public_url="http://testserver.local", data_dir=data_dir
        ),
        database=DatabaseSettings(url=database_url, auto_migrate=False),
        storage=storage,
        registry=RegistrySettings(token_ttl=300, credential_cache_seconds=0.0, rate_limit=""),
        mail=MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="wharf@testserver.local"),
    )
    app = create_app(settings)
    engine = app.state.registry.metadata.engine
    if database_url not in _VENDOR_ADMINS:  # the same database may be opened again, as after a restart
        admin_email = f"admin-{uuid.uuid4().hex[:6]}@acme.test"
        booted = await bootstrap_vendor(engine, "acme", admin_email, "correct-horse")
        _VENDOR_ADMINS[database_url] = (booted.token, admin_email)
    token, admin_email = _VENDOR_ADMINS[database_url]
    transport = httpx.ASGITransport(app=app)
    await app.state.startup()
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            yield Wharf(client, token, "acme", app, admin_email)
    finally:
        app.state.audit_writer.spool.close()
        await app.state.registry.store.close()
        await engine.dispose()


@pytest.fixture(scope="session")
async def wharf(
    request: pytest.FixtureRequest,
    database_url: str,
    blob_storage: StorageSettings,
    tmp_path_factory: pytest.TempPathFactory,
    smtp_sink: SmtpSink,
) -> AsyncIterator[Wharf]:
    data_dir = tmp_path_factory.mktemp("data")
    if blob_storage.backend == "filesystem":
        data_dir = _FILESYSTEM_DATA.setdefault(database_url, data_dir)  # the blobs its metadata names
        async with open_wharf(database_url, data_dir, blob_storage, smtp_sink) as app:
            yield app
        return
    # Another store needs its own metadata: blobs recorded by the filesystem run are not in S3.
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with migrated_database(backend, request, tmp_path_factory) as own_url:
        async with open_wharf(own_url, data_dir, blob_storage, smtp_sink) as app:
            yield app


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")):
            self.statements.append(statement)


@pytest.fixture
def count_queries(wharf: Wharf) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    engine = wharf.app.state.registry.metadata.engine.sync_engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """One real S3 server (`rclone serve s3`) for the run; each user takes its own key prefix."""
    server = start_s3_server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`wharf serve` on SQLite and the filesystem store: what `make run` starts."""
    data_dir: Path = tmp_path_factory.mktemp("live")
    server = start_server(data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}")
    yield server
    server.stop()


def require_tool(name: str) -> str:
    """The path of a client binary; in CI its absence fails the run instead of skipping quietly."""
    import shutil

    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (make test installs it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_terminal_summary(terminalreporter: Any) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    if skipped:
        terminalreporter.write_sep("!", f"{len(skipped)} TESTS SKIPPED — NOT PASSED", red=True, bold=True)
        for report in skipped:
            terminalreporter.write_line(f"SKIPPED {report.nodeid}: {report.longrepr[-1] if report.longrepr else ''}")
