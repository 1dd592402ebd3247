"""/healthz answers while the process serves; /readyz names the dependency that does not answer."""

from __future__ import annotations

import shutil

import httpx

from app.main import create_app
from app.settings import DatabaseSettings, ServerSettings, Settings
from tests.support.server import free_port


async def test_live_and_ready_on_a_working_instance(wharf):
    live = await wharf.client.get("/healthz")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = await wharf.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ok", "failed": [], "checks": {"database": "ok", "storage": "ok"}}
    assert ready.headers["cache-control"] == "no-store"


def _app(tmp_path, database_url: str):
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=80, public_url="http://wharf.test", data_dir=tmp_path),
        database=DatabaseSettings(url=database_url, auto_migrate=False),
    )
    return create_app(settings)


async def test_unreachable_database_is_named_and_liveness_stays_up(tmp_path):
    nobody = f"postgresql+asyncpg://wharf:secret@127.0.0.1:{free_port()}/wharf"  # nothing listens there
    app = _app(tmp_path, nobody)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wharf.test") as client:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        body = ready.json()
        assert body["status"] == "unavailable" and body["failed"] == ["database"]
        assert body["checks"]["storage"] == "ok" and body["checks"]["database"].startswith("failed (")
        assert "secret" not in ready.text and "127.0.0.1" not in ready.text  # no internals to anonymous callers
        assert (await client.get("/healthz")).status_code == 200
    await app.state.registry.metadata.engine.dispose()


async def test_missing_blob_store_is_named(tmp_path):
    app = _app(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'wharf.db'}")
    shutil.rmtree(tmp_path / "storage")  # a volume that is not mounted any more
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wharf.test") as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["failed"] == ["storage"] and ready.json()["checks"]["database"] == "ok"
    await app.state.registry.metadata.engine.dispose()


async def test_probes_are_not_part_of_the_automation_api_schema(wharf):
    paths = (await wharf.client.get("/api/schema/openapi.json")).json()["paths"]
    assert not {"/healthz", "/readyz", "/metrics"} & set(paths)
