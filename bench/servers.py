"""Start and stop the two registries under test, and read their CPU time."""

from __future__ import annotations

import base64
import os
import shutil
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    host: str
    creds: str | None  # "user:password" for skopeo, None when the server needs none
    headers: dict[str, str] = field(default_factory=dict)

    def cpu_seconds(self) -> float:
        proc = psutil.Process(self.process.pid)
        times = proc.cpu_times()
        total = times.user + times.system
        for child in proc.children(recursive=True):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        return total

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def _wait(server: Server, expect: set[int]) -> Server:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.process.returncode}")
        try:
            if httpx.get(f"http://{server.host}/v2/", timeout=1).status_code in expect:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer within 30 s")


def start_reference(workdir: Path) -> Server:
    if not os.path.exists(REFERENCE):
        raise SystemExit(f"{REFERENCE} is missing: apt-get install docker-registry (make bench does it as root)")
    port = free_port()
    config = workdir / "reference.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'reference-data'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    with open(workdir / "reference.log", "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen([REFERENCE, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=log)
    return _wait(Server("reference", process, f"127.0.0.1:{port}", None), {200})


def start_wharf(workdir: Path) -> Server:
    port = free_port()
    data = workdir / "wharf-data"
    env = {**os.environ, "WHARF_DATA_DIR": str(data), "WHARF_PORT": str(port), "WHARF_HOST": "127.0.0.1"}
    boot = subprocess.run(
        [WHARF, "bootstrap", "--vendor", "bench", "--email", "a@bench.test", "--password", "benchpass1"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = boot.stdout.strip().splitlines()[-1]
    with open(workdir / "wharf.log", "wb") as log:
        process = subprocess.Popen([WHARF, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=log)
    basic = base64.b64encode(f"bench:{token}".encode()).decode()
    return _wait(
        Server("wharf", process, f"127.0.0.1:{port}", f"bench:{token}", {"Authorization": f"Basic {basic}"}), {401}
    )


def cleanup(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
