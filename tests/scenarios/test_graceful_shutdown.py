"""SIGTERM to `wharf serve` on PostgreSQL: every pull answered before the exit is in the database when the
process is gone, with no restart to replay the spool."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid

import asyncpg
import httpx
import pytest

from tests.conftest import in_thread
from tests.scenarios.test_durability import push
from tests.support import postgres
from tests.support.oci import image
from tests.support.server import start_server

pytestmark = pytest.mark.slow


async def stored_probes(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch(
            "SELECT user_agent, count(*) AS n FROM download_events WHERE user_agent LIKE 'term-probe-%' "
            "GROUP BY user_agent"
        )
    finally:
        await conn.close()
    return {row["user_agent"]: row["n"] for row in rows}


@pytest.fixture
def postgres_database(postgres_base):
    name = f"wharf_term_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(postgres_base, name))
    yield url
    in_thread(asyncio.run, postgres.drop_database(postgres_base, name))


def test_sigterm_stores_every_spooled_event_before_exit(postgres_database, tmp_path):
    # The periodic writer stays asleep: whatever is stored below, the shutdown drain stored.
    server = start_server(tmp_path, postgres_database, extra_env={"WHARF_AUDIT_FLUSH_SECONDS": "3600"})
    push(server, "acme/drained", image("drained"))
    answered: list[str] = []
    stop = threading.Event()

    def pull_until_refused() -> None:
        with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=5) as client:
            i = 0
            while not stop.is_set():
                agent = f"term-probe-{i}"
                try:
                    r = client.get("/v2/acme/drained/manifests/v1", headers={"User-Agent": agent})
                except httpx.HTTPError:
                    return  # the server stopped accepting: shutdown has begun
                if r.status_code == 200:
                    answered.append(agent)
                i += 1

    puller = threading.Thread(target=pull_until_refused)
    puller.start()
    try:
        deadline = time.monotonic() + 30
        while len(answered) < 300 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert in_thread(asyncio.run, stored_probes(postgres_database)) == {}  # all still in the spool
        server.process.send_signal(signal.SIGTERM)  # mid-stream
        returncode = server.process.wait(30)
    finally:
        stop.set()
        puller.join(10)
        server.log.close()
    log = (tmp_path / "server.log").read_text()
    assert returncode in (0, -signal.SIGTERM), log[-2000:]  # uvicorn re-raises the signal once it is done
    assert "Application shutdown complete" in log
    assert len(answered) >= 300
    rows = in_thread(asyncio.run, stored_probes(postgres_database))
    missing = set(answered) - set(rows)
    assert not missing, f"{len(missing)} of {len(answered)} answered pulls were not stored at shutdown"
    assert all(count == 1 for count in rows.values()), "an event was stored twice"
    (spool,) = (tmp_path / "spool").glob("*/events.jsonl")
    assert int((spool.parent / "stored").read_text()) == spool.stat().st_size  # nothing left for a restart
    assert "events stay in the spool" not in log
    print(f"\nSIGTERM after {len(answered)} answered pulls: all stored before the process exited")
