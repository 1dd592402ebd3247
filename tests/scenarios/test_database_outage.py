"""A database outage during pulls: pulls go on from memory, and every answered pull is stored once it returns."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx
import pytest

from tests.conftest import in_thread
from tests.scenarios.test_durability import push
from tests.support.oci import image
from tests.support.postgres import Cluster
from tests.support.server import start_server

pytestmark = pytest.mark.slow


def stored(url: str) -> dict[str, int]:
    async def query() -> dict[str, int]:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
        try:
            rows = await conn.fetch(
                "SELECT user_agent, count(*) FROM download_events WHERE user_agent LIKE 'outage-%' GROUP BY user_agent"
            )
            return {r[0]: r[1] for r in rows}
        finally:
            await conn.close()

    return in_thread(asyncio.run, query())


def test_pulls_survive_a_database_outage_and_nothing_is_lost(tmp_path):
    cluster = Cluster()
    cluster.start()
    server = None
    try:
        url = f"{cluster.url}/postgres"
        server = start_server(tmp_path, url)
        push(server, "acme/outage", image("outage"))
        answered: list[str] = []
        with httpx.Client(base_url=server.url, auth=("ci", server.token), timeout=10) as client:

            def pull(phase: str, count: int) -> None:
                for i in range(count):
                    agent = f"outage-{phase}-{len(answered)}"
                    r = client.get("/v2/acme/outage/manifests/v1", headers={"User-Agent": agent})
                    assert r.status_code == 200, f"{phase} pull {i}: {r.status_code} {r.text}"
                    answered.append(agent)

            pull("before", 20)
            cluster.stop()
            outage_started = time.monotonic()
            while time.monotonic() - outage_started < 4:  # longer than the credential cache (2 s)
                pull("during", 10)
                time.sleep(0.2)
            # what memory cannot answer says "retry", in each face's own error form, never a 500
            r = client.get("/v2/acme/outage/manifests/never-seen")
            assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
            assert r.json()["errors"][0]["code"] == "UNAVAILABLE"
            r = client.get("/v2/acme/outage/manifests/never-seen", auth=("ci", "wharf_api_unknown"))
            assert r.status_code == 503 and r.json()["errors"][0]["code"] == "UNAVAILABLE", r.text
            r = client.get("/token", params={"service": server.host}, auth=("ci", "wharf_pull_unknown"))
            assert r.status_code == 503 and r.json()["errors"][0]["code"] == "UNAVAILABLE", r.text
            r = httpx.get(f"{server.url}/api/v1/customers", headers={"Authorization": f"Bearer {server.token}"})
            assert r.status_code == 503 and "retry" in r.json()["detail"], r.text
            cluster.start()
            pull("after", 20)
        deadline = time.monotonic() + 20
        while len(stored(url)) < len(answered) and time.monotonic() < deadline:
            time.sleep(0.3)
        rows = stored(url)
        assert set(answered) == set(rows), f"{len(set(answered) - set(rows))} answered pulls missing"
        assert all(count == 1 for count in rows.values()), {a: c for a, c in rows.items() if c > 1}
        during = sum(1 for a in answered if "-during-" in a)
        print(f"\n{during} pulls answered while PostgreSQL was down; all {len(answered)} stored once")
    finally:
        if server is not None:
            server.stop()
        cluster.remove()
