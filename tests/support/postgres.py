"""A real PostgreSQL for the suite: the machine's server if one answers, else a throwaway cluster.

Order: $WHARF_TEST_POSTGRES_URL, then 127.0.0.1:5432 as `postgres`, then `initdb` + `pg_ctl` in a
temporary directory (run as the `postgres` user when we are root, since PostgreSQL refuses root).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _can_connect(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def _bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed; `make test` installs it (apt package postgresql)")
    return found


class Cluster:
    """A PostgreSQL cluster in a temporary directory, which a test may stop and start again."""

    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="wharf-pg-")
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]
        self.data = os.path.join(self.root, "data")
        subprocess.run(
            [*self.prefix, _bin("initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
        )
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *self.prefix,
                _bin("pg_ctl"),
                "-D",
                self.data,
                "-o",
                options,
                "-l",
                os.path.join(self.root, "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.prefix, _bin("pg_ctl"), "-D", self.data, "-m", mode, "-w", "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    cluster = Cluster()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


async def server_url(stack: list[object]) -> str:
    """Base URL (no database) of a reachable server; starts a throwaway one if needed."""
    explicit = os.environ.get("WHARF_TEST_POSTGRES_URL")
    if explicit:
        return explicit.rstrip("/")
    local = "postgresql+asyncpg://postgres@127.0.0.1:5432"
    if await _can_connect(local + "/postgres"):
        return local
    cluster = throwaway_cluster()
    url = cluster.__enter__()
    stack.append(cluster)
    for _ in range(50):
        if await _can_connect(url + "/postgres"):
            return url
        time.sleep(0.1)
    raise RuntimeError("the throwaway PostgreSQL cluster did not come up")


async def create_database(base: str, name: str) -> str:
    conn = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


async def drop_database(base: str, name: str) -> None:
    conn = await asyncpg.connect(base.replace("postgresql+asyncpg", "postgresql") + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
