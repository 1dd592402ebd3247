"""`python -m bench.blob_throughput`: push and pull one blob through Wharf, filesystem store vs S3.

Each round pushes a fresh random blob (POST, one streamed PATCH, PUT as docker and skopeo do; or with
`--flow put`, POST and one PUT carrying the body and its digest as oras, helm and containerd do) and pulls
it back (GET; on S3 the 307 to the presigned URL is followed, without Wharf's credentials). Prints the
median MiB/s per store.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.servers import Server, start_s3, start_wharf

MiB = 1024 * 1024


def chunks(data: bytes, size: int = MiB) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def one_round(server: Server, data: bytes, repo: str, flow: str = "patch") -> tuple[float, float]:
    """Seconds to push, seconds to pull `data`."""
    user, token = (server.creds or ":").split(":", 1)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with httpx.Client(base_url=f"http://{server.host}", auth=(user, token), timeout=600) as client:
        started = time.perf_counter()
        location = client.post(f"/v2/{repo}/blobs/uploads/").headers["location"]
        body = {"Content-Type": "application/octet-stream"}
        if flow == "put":
            r = client.put(location, params={"digest": digest}, content=chunks(data), headers=body)
        else:
            r = client.patch(location, content=chunks(data), headers=body)
            r = client.put(r.headers["location"], params={"digest": digest})
        pushed = time.perf_counter()
        if r.status_code != 201:
            raise RuntimeError(f"push failed: {r.status_code} {r.text}")
        received = hashlib.sha256()
        with client.stream("GET", f"/v2/{repo}/blobs/{digest}", follow_redirects=True) as response:
            for chunk in response.iter_bytes(MiB):
                received.update(chunk)
        pulled = time.perf_counter()
    if "sha256:" + received.hexdigest() != digest:
        raise RuntimeError("pulled bytes differ from pushed ones")
    return pushed - started, pulled - pushed


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blob_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=100, help="blob size in MiB (default 100)")
    parser.add_argument("--rounds", type=int, default=5, help="default 5")
    parser.add_argument("--flow", choices=["patch", "put"], default="patch", help="how the blob is sent")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-blob-bench-"))
    servers: list[Server] = []
    try:
        s3, env = start_s3(workdir)
        servers.append(s3)
        (workdir / "fs").mkdir()
        (workdir / "s3").mkdir()
        stores = {"filesystem": start_wharf(workdir / "fs"), "s3": start_wharf(workdir / "s3", env)}
        servers += stores.values()
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in stores}
        for round_ in range(args.rounds):
            data = os.urandom(args.mib * MiB)
            for name, server in stores.items() if round_ % 2 == 0 else reversed(stores.items()):
                results[name].append(one_round(server, data, f"bench/blob-{name}-{round_}", args.flow))
            print(f"round {round_ + 1}/{args.rounds} done", flush=True)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"\n{args.mib} MiB blob through Wharf ({args.flow}), median of {args.rounds} rounds (MiB/s, higher is better)"
    )
    print(f"{'store':<12}{'push':>10}{'pull':>10}")
    for name, rounds in results.items():
        push = statistics.median(args.mib / p for p, _ in rounds)
        pull = statistics.median(args.mib / g for _, g in rounds)
        print(f"{name:<12}{push:>10.1f}{pull:>10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
