"""`python -m bench.asgi_servers`: the same Wharf application under `wharf serve` (uvicorn with Wharf's
protocol: zero-copy blob sends) and under granian, side by side, alternating.

Per pair: wrk GETs a manifest (16 connections) and curl GETs a 100 MiB blob three times, on each server.
Prints medians of req/s, p99, server CPU µs per manifest GET, blob wall time and server CPU per GB.
Run: .venv/bin/python -m bench.asgi_servers [--pairs 5] [--seconds 5] [--workers 1]
(granian comes with `pip install -e '.[bench]'`; `make bench` installs it.)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench import clients
from bench.images import write_image
from bench.servers import Server, _spawn, _wait_until_up, free_port, start_wharf

GRANIAN = str(Path(sys.executable).parent / "granian")
REPO = "bench/small"
BLOB_BYTES = 100 * 1024 * 1024


def start_granian(workdir: Path, like: Server, workers: int) -> Server:
    """granian serving Wharf's app factory on the same database and blobs as `like` (a `wharf serve`)."""
    port = free_port()
    env = {
        **os.environ,
        "WHARF_DATA_DIR": str(workdir / "wharf-data"),
        "WHARF_PORT": str(port),
        "WHARF_HOST": "127.0.0.1",
        "WHARF_NODE_NAME": "granian",
        "WHARF_PUBLIC_URL": f"http://{like.host}",  # the same token audience as the server it mirrors
    }
    argv = [GRANIAN, "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    argv += ["--loop", "uvloop", "--no-ws", "--factory", "app.main:create_app"]
    log = workdir / "granian.log"
    process = _spawn(argv, log, env)
    server = Server("granian", process, f"127.0.0.1:{port}", log, like.creds, like.headers)
    return _wait_until_up(server, 401)


def blob_get(server: Server, digest: str) -> tuple[float, float]:
    """Wall seconds and server CPU seconds of one 100 MiB blob GET (curl, bytes dropped)."""
    user, token = (server.creds or ":").split(":", 1)
    url = f"http://{server.host}/v2/{REPO}/blobs/{digest}"
    cpu, started = server.cpu_seconds(), time.perf_counter()
    subprocess.run(["curl", "-sf", "-o", "/dev/null", "-u", f"{user}:{token}", url], check=True)
    return time.perf_counter() - started, server.cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.asgi_servers", description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if not os.path.exists(GRANIAN):
        sys.exit("granian is missing: pip install -e '.[bench]' (make bench does it)")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-asgi-"))
    servers: dict[str, Server] = {}
    try:
        uvicorn = servers["uvicorn"] = start_wharf(workdir, workers=args.workers)
        write_image(workdir / "layout", [1024 * 1024] * 2)
        clients.push(uvicorn, workdir / "layout", REPO)
        data = os.urandom(BLOB_BYTES)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        user, token = (uvicorn.creds or ":").split(":", 1)
        with httpx.Client(base_url=f"http://{uvicorn.host}", auth=(user, token), timeout=300) as client:
            client.post(f"/v2/{REPO}/blobs/uploads/", params={"digest": digest}, content=data).raise_for_status()
        del data
        uvicorn.stop()  # SQLite: one server at a time on the file; restart both on it
        servers["uvicorn"] = start_wharf_again(workdir, uvicorn, args.workers)
        servers["granian"] = start_granian(workdir, servers["uvicorn"], args.workers)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        for i in range(args.pairs):
            for name in ("uvicorn", "granian") if i % 2 == 0 else ("granian", "uvicorn"):
                server = servers[name]
                cpu = server.cpu_seconds()
                wrk = clients.wrk(server, f"/v2/{REPO}/manifests/v1", args.seconds, server.headers)
                wrk["cpu_us_per_req"] = (server.cpu_seconds() - cpu) / (wrk["rps"] * args.seconds) * 1e6
                blobs = [blob_get(server, digest) for _ in range(3)]
                wrk["blob_seconds"] = statistics.median(b[0] for b in blobs)
                wrk["blob_cpu_per_gb"] = statistics.median(b[1] for b in blobs) / (BLOB_BYTES / 1e9)
                results[name].append(wrk)
                line = f"{i} {name}: {wrk['rps']:,.0f} req/s, p99 {wrk['latency_p99_ms']:.1f} ms, "
                print(line + f"blob {wrk['blob_seconds']:.2f} s, {wrk['blob_cpu_per_gb']:.2f} CPU s/GB", flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    keys = ("rps", "latency_p99_ms", "cpu_us_per_req", "blob_seconds", "blob_cpu_per_gb")
    for name, rows in results.items():
        m = {k: statistics.median(r[k] for r in rows) for k in keys}
        print(
            f"{name}: {m['rps']:,.0f} req/s, p99 {m['latency_p99_ms']:.1f} ms, {m['cpu_us_per_req']:.0f} CPU µs/req; "
            f"100 MiB blob GET {m['blob_seconds']:.2f} s, {m['blob_cpu_per_gb']:.2f} server CPU s per GB"
        )


def start_wharf_again(workdir: Path, before: Server, workers: int) -> Server:
    """`wharf serve` again on the same data directory (its token still works)."""
    env = {
        **os.environ,
        "WHARF_DATA_DIR": str(workdir / "wharf-data"),
        "WHARF_PORT": before.host.rsplit(":", 1)[1],
        "WHARF_HOST": "127.0.0.1",
        "WHARF_WORKERS": str(workers),
    }
    process = _spawn([str(Path(sys.executable).parent / "wharf"), "serve"], workdir / "wharf-again.log", env)
    server = Server("uvicorn", process, before.host, workdir / "wharf-again.log", before.creds, before.headers)
    return _wait_until_up(server, 401)


if __name__ == "__main__":
    main()
