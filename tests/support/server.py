"""Run Wharf as a real process (`wharf serve`) for clients that need a listening socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    process: subprocess.Popen[bytes]
    url: str
    host: str  # host:port, as registry clients name it
    token: str
    env: dict[str, str]
    log: IO[bytes]

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask a test server to stop; kill it if it has not within 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def start_server(
    data_dir: Path, database_url: str, vendor: str = "acme", extra_env: dict[str, str] | None = None
) -> LiveServer:
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "WHARF_DATA_DIR": str(data_dir),
        "WHARF_DATABASE_URL": database_url,
        "WHARF_PORT": str(port),
        "WHARF_HOST": "127.0.0.1",
        **(extra_env or {}),
    }
    env.pop("WHARF_PUBLIC_URL", None)
    if "WHARF_RATE_LIMIT" not in (extra_env or {}):  # long streams (uploads, pulls, the GC race) run without it
        env.pop("WHARF_RATE_LIMIT", None)
    boot = subprocess.run(
        [
            str(BIN / "wharf"),
            "bootstrap",
            "--vendor",
            vendor,
            "--email",
            f"admin@{vendor}.test",
            "--password",
            "correct-horse",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = boot.stdout.strip().splitlines()[-1]
    log = open(data_dir / "server.log", "ab")  # noqa: SIM115 - kept open for the process lifetime
    process = subprocess.Popen([str(BIN / "wharf"), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.close()
            raise RuntimeError(f"wharf serve exited: {(data_dir / 'server.log').read_text()[-2000:]}")
        try:
            if httpx.get(url + "/v2/", timeout=1).status_code == 401:
                return LiveServer(process, url, f"127.0.0.1:{port}", token, env, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    log.close()
    raise RuntimeError("wharf serve did not answer within 30 s")
