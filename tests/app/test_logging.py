"""WHARF_LOG_FORMAT=json turns every line `wharf serve` writes, uvicorn's included, into one JSON object."""

from __future__ import annotations

import json
import logging
import sqlite3
import sys

import httpx
import pytest

from app.logging import JsonFormatter, logging_config
from app.main import create_app
from app.settings import DatabaseSettings, ServerSettings, Settings
from tests.app.test_cli import run
from tests.support.server import free_port, start_server


def test_json_lines_carry_level_logger_message_extras_and_the_exception():
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError:
        record = logging.getLogger("wharf.test").makeRecord(
            "wharf.test", logging.ERROR, __file__, 1, "spool %s stuck", ("a",), exc_info=sys.exc_info()
        )
    record.node = "node-1"
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "error" and entry["logger"] == "wharf.test" and entry["message"] == "spool a stuck"
    assert entry["node"] == "node-1" and "RuntimeError: disk on fire" in entry["exception"]
    assert entry["time"].endswith("+00:00")


@pytest.mark.parametrize(("fmt", "level", "message"), [("xml", "info", "WHARF_LOG_FORMAT"), ("json", "loud", "LEVEL")])
def test_bad_settings_are_refused_by_name(fmt, level, message):
    with pytest.raises(ValueError, match=message):
        logging_config(fmt, level)


def test_serve_refuses_an_unknown_log_format_without_a_traceback(tmp_path):
    result = run("serve", data_dir=tmp_path, WHARF_LOG_FORMAT="yaml")
    assert result.returncode == 2 and "WHARF_LOG_FORMAT must be one of text, json" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_writes_json_lines_from_wharf_and_uvicorn(tmp_path):
    server = start_server(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", extra_env={"WHARF_LOG_FORMAT": "json"})
    server.stop()
    lines = [line for line in (tmp_path / "server.log").read_text().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    loggers = {entry["logger"] for entry in entries}
    assert {"wharf", "uvicorn.error"} <= loggers, loggers
    messages = " ".join(entry["message"] for entry in entries)
    assert "Wharf on http://127.0.0.1:" in messages and "Application startup complete" in messages


async def test_a_500_is_logged_with_its_traceback_and_a_client_error_is_not(tmp_path, caplog):
    url = f"sqlite+aiosqlite:///{tmp_path / 'wharf.db'}"
    booted = run(
        "bootstrap", "--vendor", "acme", "--email", "a@acme.test", "--password", "pw-123456", data_dir=tmp_path
    )
    token = booted.stdout.strip().splitlines()[-1]
    with sqlite3.connect(tmp_path / "wharf.db") as conn:  # a row no code path writes: an internal fault
        conn.execute("INSERT INTO organizations (kind, slug, name, vendor_id) VALUES ('customer', 'c', 'C', 1)")
        conn.execute(
            "INSERT INTO licenses (vendor_id, customer_id, name, notes, status, grace_days) "
            "VALUES (1, 2, 'L', '', 'active', 0)"
        )
        conn.execute("INSERT INTO license_grants (license_id, repository, tags) VALUES (1, 'acme/*', '{broken')")
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=80, public_url="http://wharf.test", data_dir=tmp_path),
        database=DatabaseSettings(url=url, auto_migrate=False),
    )
    app = create_app(settings)
    caplog.set_level(logging.WARNING, logger="wharf")
    api = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wharf.test") as client:
        assert (await client.get("/no-such-page")).status_code == 404
        assert (await client.get("/api/v1/licenses/999", headers=api)).status_code == 404
        assert not caplog.records
        failed = await client.get("/api/v1/licenses/1", headers=api)
    assert failed.status_code == 500
    (record,) = caplog.records
    assert record.getMessage() == "unhandled error on GET /api/v1/licenses/1" and record.exc_info
    await app.state.registry.metadata.engine.dispose()


async def test_an_unreachable_database_is_a_503_and_a_warning_not_a_traceback(tmp_path, caplog):
    nobody = f"postgresql+asyncpg://wharf@127.0.0.1:{free_port()}/wharf"  # the database is down
    settings = Settings(
        server=ServerSettings(host="127.0.0.1", port=80, public_url="http://wharf.test", data_dir=tmp_path),
        database=DatabaseSettings(url=nobody, auto_migrate=False),
    )
    app = create_app(settings)
    caplog.set_level(logging.WARNING)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wharf.test") as client:
        failed = await client.get("/api/v1/customers", headers={"Authorization": "Bearer wharf_api_x"})
        pulled = await client.get("/v2/acme/app/manifests/1.0", headers={"Authorization": "Bearer x.y.z"})
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
    assert pulled.status_code in (401, 503)  # a JWT that does not verify needs no database
    assert [r.levelno for r in caplog.records if r.name.startswith("app.")] == [logging.WARNING]
    assert all(r.exc_info is None for r in caplog.records if r.name.startswith("app."))
    await app.state.registry.metadata.engine.dispose()


async def test_a_client_leaving_mid_upload_is_one_line_without_a_traceback(wharf, caplog):
    """PATCH and PUT bodies broken off by the client: the upload stays resumable, the log says so once."""
    repo = wharf.repo("gone")
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    await wharf.client.patch(location, content=b"kept", headers=wharf.auth)
    caplog.set_level(logging.DEBUG)
    for method, query in (("PATCH", b""), ("PUT", b"digest=sha256:" + b"0" * 64)):
        caplog.clear()
        messages = [{"type": "http.request", "body": b"lost" * 1000, "more_body": True}]

        async def receive(messages=messages):
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            pass  # the client is gone: nothing it could read

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": location,
            "raw_path": location.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [
                (b"host", b"testserver.local"),
                (b"authorization", wharf.auth["Authorization"].encode()),
                (b"content-type", b"application/octet-stream"),
            ],
            "client": ("10.1.1.1", 5000),
            "server": ("testserver.local", 80),
            "state": {},
        }
        await wharf.app(scope, receive, send)
        noted = [
            r
            for r in caplog.records
            if r.levelno >= logging.INFO and r.name.startswith(("wharf", "registry", "app", "litestar"))
        ]
        assert len(noted) == 1 and noted[0].levelno <= logging.WARNING, [r.getMessage() for r in noted]
        assert "went away" in noted[0].getMessage() and noted[0].exc_info is None
        assert "Traceback" not in caplog.text
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.status_code == 204 and r.headers["range"] == "0-3"  # resumable: what was kept is still there
