"""Manifest GETs/s of two Wharf trees side by side: both servers up at once, wrk alternating between them.

Run: .venv/bin/python -m bench.ab --before-tree DIR [--pairs 10] [--seconds 5] [--first before|after]

`DIR` holds another checkout's packages (e.g. `git archive <commit> | tar -x -C DIR`); its server runs with
PYTHONPATH=DIR, the other with this tree. A 2 x 1 MiB image is pushed to both, then wrk (16 connections)
GETs its manifest, the order within each pair alternating. Prints medians of req/s and server CPU µs per
request, and after/before. The server started second tends to lose a few percent on a busy machine: run
once with each --first and compare.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from bench import clients
from bench.images import write_image
from bench.servers import Server, start_wharf

REPO = "bench/small"


def start(workdir: Path, name: str, before_tree: str) -> Server:
    (workdir / name).mkdir()
    if name == "before":
        os.environ["PYTHONPATH"] = before_tree
    try:
        return start_wharf(workdir / name)
    finally:
        os.environ.pop("PYTHONPATH", None)


def measure(server: Server, seconds: int) -> dict[str, float]:
    cpu = server.cpu_seconds()
    result = clients.wrk(server, f"/v2/{REPO}/manifests/v1", seconds, server.headers)
    result["cpu_us_per_req"] = (server.cpu_seconds() - cpu) / (result["rps"] * seconds) * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n")[0])
    parser.add_argument("--before-tree", required=True, help="directory with the other tree's packages")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--first", choices=["before", "after"], default="before", help="which server starts first")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-ab-"))
    order = [args.first, "after" if args.first == "before" else "before"]
    servers: dict[str, Server] = {}
    try:
        for name in order:
            servers[name] = start(workdir, name, args.before_tree)
        write_image(workdir / "layout", [1024 * 1024] * 2)
        for server in servers.values():
            clients.push(server, workdir / "layout", REPO)
        results: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
        for i in range(args.pairs):
            for name in ("before", "after") if i % 2 == 0 else ("after", "before"):
                results[name].append(measure(servers[name], args.seconds))
                last = results[name][-1]
                print(f"{i} {name}: {last['rps']:,.0f} req/s, {last['cpu_us_per_req']:.0f} CPU µs/req", flush=True)
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    medians = {
        name: {key: statistics.median(r[key] for r in rs) for key in ("rps", "cpu_us_per_req", "latency_p99_ms")}
        for name, rs in results.items()
    }
    for name, m in medians.items():
        print(f"{name}: {m['rps']:,.0f} req/s, {m['cpu_us_per_req']:.0f} CPU µs/req, p99 {m['latency_p99_ms']:.0f} ms")
    print(f"after/before: req/s {medians['after']['rps'] / medians['before']['rps']:.3f}, ", end="")
    print(f"CPU per request {medians['after']['cpu_us_per_req'] / medians['before']['cpu_us_per_req']:.3f}")


if __name__ == "__main__":
    main()
