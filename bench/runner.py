"""The rounds: each server in turn (alternating who goes first) pushes, pulls and serves manifest GETs."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from bench import clients
from bench.images import write_image
from bench.servers import Server

MiB = 1024 * 1024
IMAGES = {"100MiB": [100 * MiB], "20x1MiB": [MiB] * 20}  # label -> layer sizes
REPOS = {"100MiB": "big", "20x1MiB": "small"}  # label -> repository name stem
# phase -> the image it uses, in running order
PHASES = {
    "push-100MiB": "100MiB",
    "pull-100MiB": "100MiB",
    "push-20x1MiB": "20x1MiB",
    "pull-20x1MiB": "20x1MiB",
    "manifest-get": "20x1MiB",
    "manifest-get-customer": "20x1MiB",
    "tags-list-customer": "20x1MiB",
}
# What each kind of server takes part in: nginx is the ceiling for a small GET; wharf-s3 pushes to S3.
ROLES = {
    "wharf": set(PHASES),
    "reference": set(PHASES) - {"tags-list-customer"},
    "nginx": {"manifest-get"},
    "wharf-s3": {"push-100MiB", "push-20x1MiB"},
}
MANY_TAGS_REPO = "bench/many"  # set up once: 10,000 tags on one manifest (bench.tags)
SETTLE_SECONDS = 15  # at most this long waiting for a server to go idle after a phase
IDLE_CPU = 0.02  # server CPU seconds per 0.5 s below which it counts as idle
Results = dict[str, dict[str, list[dict[str, float]]]]


def to_run(selected: list[str]) -> list[str]:
    """The selected phases plus the pushes they depend on, in running order."""
    needed = set(selected) | {f"push-{PHASES[p]}" for p in selected}
    return [p for p in PHASES if p in needed]


def act(server: Server, phase: str, layout: Path, repo: str, seconds: int, workdir: Path) -> dict[str, float]:
    if phase.startswith("push"):
        clients.push(server, layout, repo)
    elif phase.startswith("pull"):
        clients.pull(server, repo, workdir / "pulled")
    elif phase == "manifest-get":
        return clients.wrk(server, f"/v2/{repo}/manifests/v1", seconds, server.headers)
    elif phase == "manifest-get-customer":  # the reference has no licenses: it serves everyone alike
        return clients.wrk(server, f"/v2/{repo}/manifests/v1", seconds, server.customer_headers or server.headers)
    elif phase == "tags-list-customer":  # latency of one client listing 10,000 tags
        path = f"/v2/{MANY_TAGS_REPO}/tags/list"
        return clients.wrk(server, path, max(seconds // 2, 3), server.customer_headers, connections=1, threads=1)
    return {}


def settle(server: Server) -> float:
    """Wait (bounded) until the server is idle; return the CPU seconds it spent meanwhile. Work a phase leaves
    behind (Wharf's audit writer storing the events of 60,000 manifest GETs) is charged to that phase, not the next."""
    start = last = server.cpu_seconds()
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = server.cpu_seconds()
        if now - last < IDLE_CPU:
            break
        last = now
    return last - start


def serve_manifest_statically(root: Path, layout: Path, repo: str) -> None:
    """Put the layout's manifest where nginx serves /v2/<repo>/manifests/v1: the same bytes Wharf serves."""
    digest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
    target = root / "v2" / repo / "manifests" / "v1"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(layout / "blobs" / "sha256" / digest.removeprefix("sha256:"), target)


def run(servers: list[Server], selected: list[str], rounds: int, seconds: int, workdir: Path) -> Results:
    """Per server, per selected phase, one record per round: wall seconds, server CPU seconds, wrk numbers."""
    results: Results = {s.name: {p: [] for p in selected if p in ROLES[s.name]} for s in servers}
    phases = to_run(selected)
    for round_ in range(rounds):
        # Fresh random content every round: skopeo's blob info cache remembers the previous round's repository
        # and would mount the blobs from there instead of uploading them again.
        layouts = {label: workdir / f"layout-{label}-{round_}" for label in {PHASES[p] for p in phases}}
        for label, layout in layouts.items():
            write_image(layout, IMAGES[label])
        if "20x1MiB" in layouts:
            serve_manifest_statically(workdir / "nginx-root", layouts["20x1MiB"], f"bench/small-{round_}")
        for server in servers if round_ % 2 == 0 else servers[::-1]:
            for phase in phases:
                if phase not in ROLES[server.name]:
                    continue
                label = PHASES[phase]
                cpu, started = server.cpu_seconds(), time.perf_counter()
                extra = act(server, phase, layouts[label], f"bench/{REPOS[label]}-{round_}", seconds, workdir)
                wall, during = time.perf_counter() - started, server.cpu_seconds() - cpu
                after = settle(server)
                record = {"seconds": wall, "cpu": during + after, "cpu_during": during, "cpu_after": after, **extra}
                if phase in results[server.name]:
                    results[server.name][phase].append(record)
            print(f"round {round_ + 1}/{rounds} {server.name}: done", flush=True)
        for layout in layouts.values():
            shutil.rmtree(layout, ignore_errors=True)
    return results


def pushed_bytes() -> dict[str, int]:
    """Bytes of layers per push and pull phase (config and manifest are noise next to them)."""
    out = {}
    for label, sizes in IMAGES.items():
        out[f"push-{label}"] = out[f"pull-{label}"] = sum(sizes)
    return out
