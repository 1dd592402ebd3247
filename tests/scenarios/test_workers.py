"""`wharf serve --workers 2` on PostgreSQL: one port, two processes, each with its own audit spool. A change
reaches the other worker within the poll interval (as it reaches another node), SIGTERM drains every spool,
and a SIGKILL of the supervisor leaves no worker holding the port or a spool."""

from __future__ import annotations

import asyncio
import fcntl
import os
import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import in_thread
from tests.scenarios import test_graceful_shutdown
from tests.scenarios.test_durability import push
from tests.scenarios.test_graceful_shutdown import stored_probes
from tests.scenarios.test_two_nodes import enforce_across_nodes
from tests.support.oci import image
from tests.support.server import LiveServer, start_server

pytestmark = pytest.mark.slow
postgres_database = test_graceful_shutdown.postgres_database  # a new database per test


def start_workers(tmp_path: Path, url: str, **env: str) -> LiveServer:
    server = start_server(tmp_path, url, extra_env={"WHARF_WORKERS": "2", **env})
    deadline = time.monotonic() + 60  # the port answers once the first worker is up; wait for both
    while len(worker_spools(tmp_path)) < 2 or len(workers_of(server)) < 2:
        assert time.monotonic() < deadline, "two workers did not start"
        time.sleep(0.2)
    return server


def workers_of(server: LiveServer) -> list[psutil.Process]:
    children = psutil.Process(server.process.pid).children()
    return [p for p in children if "spawn_main" in " ".join(p.cmdline())]


def worker_spools(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "spool").glob("*-[0-9]*") if (p / "lock").exists())


def held(spool: Path) -> bool:
    fd = os.open(spool / "lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_changes_reach_every_worker_within_the_poll_interval(postgres_database, tmp_path):
    # Each keep-alive connection stays on one worker, and which one is the kernel's choice: what is
    # promised, and checked, is the bound that holds whichever worker answers.
    server = start_workers(tmp_path, postgres_database)
    try:
        with ExitStack() as clients:
            enforce_across_nodes(server, server, lambda **kw: clients.enter_context(httpx.Client(timeout=30, **kw)))
    finally:
        server.stop()


def test_each_worker_spools_its_own_events_and_sigterm_drains_them_all(postgres_database, tmp_path):
    server = start_workers(tmp_path, postgres_database, WHARF_AUDIT_FLUSH_SECONDS="3600")  # only the shutdown drains
    try:
        push(server, "acme/workers", image("workers"))
        spools = worker_spools(tmp_path)
        assert len(spools) == 2 and all(held(spool) for spool in spools)
        answered = []
        for i in range(200):  # a new connection each time: the kernel hands them to both workers
            agent = f"term-probe-{i}"
            r = httpx.get(
                f"{server.url}/v2/acme/workers/manifests/v1", auth=("ci", server.token), headers={"User-Agent": agent}
            )
            assert r.status_code == 200
            answered.append(agent)
        assert in_thread(asyncio.run, stored_probes(postgres_database)) == {}  # all still in the spools
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0
    finally:
        server.log.close()
    rows = in_thread(asyncio.run, stored_probes(postgres_database))
    assert set(rows) == set(answered) and all(n == 1 for n in rows.values())
    for spool in spools:  # drained to the end, and no longer held
        events = spool / "events.jsonl"
        assert int((spool / "stored").read_text()) == events.stat().st_size
        assert not held(spool)
    log = (tmp_path / "server.log").read_text()
    assert log.count("Application shutdown complete") == 2


def test_a_killed_supervisor_takes_its_workers_down(postgres_database, tmp_path):
    server = start_workers(tmp_path, postgres_database)
    try:
        workers = workers_of(server)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(10)
        _gone, alive = psutil.wait_procs(workers, timeout=60)
        assert not alive, f"workers outlived their supervisor: {alive}"
    finally:
        server.log.close()
    host, port = server.host.split(":")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, int(port)), timeout=5):
        pass
    assert not any(held(spool) for spool in worker_spools(tmp_path))
    log = (tmp_path / "server.log").read_text()
    assert log.count("Application shutdown complete") == 2  # SIGTERM from the kernel: a graceful stop
