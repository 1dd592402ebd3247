"""No answered pull is lost: the spool survives SIGKILL and the next start stores it, each event once."""

from __future__ import annotations

import signal
import sqlite3
import threading
import time

import httpx
import pytest

from tests.support.oci import image, sha256
from tests.support.server import start_server

pytestmark = pytest.mark.slow


def push(server, repo: str, img) -> None:
    with httpx.Client(base_url=server.url, auth=("ci", server.token)) as client:
        for data in img.blobs.values():
            client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data)
        r = client.put(
            f"/v2/{repo}/manifests/v1",
            content=img.manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert r.status_code == 201


def stored_probes(db) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT user_agent, count(*) FROM download_events WHERE user_agent LIKE 'kill-probe-%' GROUP BY user_agent"
        ).fetchall()


def test_sigkill_in_the_middle_of_pulls_loses_nothing(tmp_path):
    db = tmp_path / "wharf.db"
    first = start_server(tmp_path, f"sqlite+aiosqlite:///{db}")
    push(first, "acme/durable", image("durable"))
    answered: list[str] = []
    stop = threading.Event()

    def pull_forever() -> None:
        with httpx.Client(base_url=first.url, auth=("ci", first.token), timeout=5) as client:
            i = 0
            while not stop.is_set() and i < 5000:
                agent = f"kill-probe-{i}"
                try:
                    r = client.get("/v2/acme/durable/manifests/v1", headers={"User-Agent": agent})
                except httpx.HTTPError:
                    return
                if r.status_code == 200:
                    answered.append(agent)
                i += 1

    puller = threading.Thread(target=pull_forever)
    puller.start()
    deadline = time.monotonic() + 30
    while len(answered) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)
    stop.set()
    puller.join(10)
    first.log.close()
    assert len(answered) >= 300

    second = start_server(tmp_path, f"sqlite+aiosqlite:///{db}", vendor="restarted")
    try:
        deadline = time.monotonic() + 20
        while len(stored_probes(db)) < len(answered) and time.monotonic() < deadline:
            time.sleep(0.2)
        rows = dict(stored_probes(db))
    finally:
        second.stop()
    missing = set(answered) - set(rows)
    assert not missing, f"{len(missing)} answered pulls were not recorded"
    assert all(count == 1 for count in rows.values()), "an event was stored twice"
    print(f"\nSIGKILL after {len(answered)} answered pulls: all {len(answered)} recorded once after restart")
