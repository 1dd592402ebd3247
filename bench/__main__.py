"""Run the benchmark: push/pull with skopeo and manifest GET with wrk, Wharf and the reference
registry alternating, several rounds; print medians, ratios and server CPU seconds per phase."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.images import write_image
from bench.servers import Server, cleanup, start_reference, start_wharf

MiB = 1024 * 1024
PHASES = ["push-100MiB", "pull-100MiB", "push-20x1MiB", "pull-20x1MiB", "manifest-get"]
ACCEPT = "application/vnd.oci.image.manifest.v1+json"


def skopeo(*args: str) -> None:
    subprocess.run(["skopeo", "--insecure-policy", *args], check=True, capture_output=True, timeout=600)


def push(server: Server, layout: Path, repo: str) -> None:
    creds = ["--dest-creds", server.creds] if server.creds else []
    skopeo("copy", "--dest-tls-verify=false", *creds, f"oci:{layout}:v1", f"docker://{server.host}/{repo}:v1")


def pull(server: Server, repo: str, target: Path) -> None:
    creds = ["--src-creds", server.creds] if server.creds else []
    skopeo("copy", "--src-tls-verify=false", *creds, f"docker://{server.host}/{repo}:v1", f"dir:{target}")
    shutil.rmtree(target, ignore_errors=True)


def wrk(server: Server, repo: str, seconds: int) -> tuple[float, str]:
    headers = [
        arg for name, value in {"Accept": ACCEPT, **server.headers}.items() for arg in ("-H", f"{name}: {value}")
    ]
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", *headers, f"http://{server.host}/v2/{repo}/manifests/v1"],
        check=True,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors from {server.name}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    return rps, p99.group(1) if p99 else "?"


def measure(server: Server, action, *args) -> dict[str, float]:  # type: ignore[no-untyped-def]
    cpu, started = server.cpu_seconds(), time.perf_counter()
    result = action(server, *args)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": server.cpu_seconds() - cpu,
        **({"rps": result[0]} if isinstance(result, tuple) else {}),
    }


def run(rounds: int, seconds: int, workdir: Path) -> dict[str, dict[str, list[dict[str, float]]]]:
    servers = [start_wharf(workdir), start_reference(workdir)]
    results: dict[str, dict[str, list[dict[str, float]]]] = {s.name: {p: [] for p in PHASES} for s in servers}
    try:
        for round_ in range(rounds):
            # Fresh random content every round: skopeo remembers where it saw a blob and would mount it
            # from the previous round's repository instead of uploading it again.
            big, small = workdir / f"big-{round_}", workdir / f"small-{round_}"
            sizes = {"100MiB": write_image(big, [100 * MiB]), "20x1MiB": write_image(small, [MiB] * 20)}
            order = servers if round_ % 2 == 0 else servers[::-1]  # alternate who goes first
            for server in order:
                r = results[server.name]
                r["push-100MiB"].append(measure(server, push, big, f"bench/big-{round_}"))
                r["pull-100MiB"].append(measure(server, pull, f"bench/big-{round_}", workdir / "pulled"))
                r["push-20x1MiB"].append(measure(server, push, small, f"bench/small-{round_}"))
                r["pull-20x1MiB"].append(measure(server, pull, f"bench/small-{round_}", workdir / "pulled"))
                r["manifest-get"].append(measure(server, wrk, f"bench/small-{round_}", seconds))
                print(f"round {round_ + 1}/{rounds} {server.name}: done", flush=True)
            cleanup(big)
            cleanup(small)
    finally:
        for server in servers:
            server.stop()
    results["_sizes"] = {k: [{"bytes": float(v)}] for k, v in sizes.items()}
    return results


def report(results: dict[str, dict[str, list[dict[str, float]]]]) -> None:
    def med(server: str, phase: str, key: str) -> float:
        return statistics.median(r[key] for r in results[server][phase])

    print("\nmedians over rounds (reference = Debian docker-registry, no auth; Wharf checks a token on every request)")
    print(f"{'phase':<14}{'wharf':>14}{'reference':>14}{'ratio':>9}   {'cpu wharf':>10}{'cpu ref':>9}   goal")
    for phase in PHASES:
        cpu_w, cpu_r = med("wharf", phase, "cpu"), med("reference", phase, "cpu")
        if phase == "manifest-get":
            w, r = med("wharf", phase, "rps"), med("reference", phase, "rps")
            line, ratio, goal = (f"{w:>10.0f} r/s{r:>10.0f} r/s", w / r, "wharf/ref >= 1.5")
        else:
            w, r = med("wharf", phase, "seconds"), med("reference", phase, "seconds")
            line, ratio = f"{w:>12.2f} s{r:>12.2f} s", r / w
            goal = "ref/wharf time >= 1.0" if phase.startswith("pull") else "cpu per GB <= ref"
        print(f"{phase:<14}{line}{ratio:>8.2f}x   {cpu_w:>9.2f}s{cpu_r:>8.2f}s   {goal}")
    for size in ("100MiB", "20x1MiB"):
        gb = results["_sizes"][size][0]["bytes"] / 1e9
        w, r = med("wharf", f"push-{size}", "cpu") / gb, med("reference", f"push-{size}", "cpu") / gb
        print(f"push {size} server CPU per GB: wharf {w:.2f} s, reference {r:.2f} s (ratio {w / r:.2f}, goal <= 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each manifest GET run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-"))
    try:
        results = run(args.rounds, args.seconds, workdir)
    finally:
        if not args.keep:
            cleanup(workdir)
    report(results)
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    path = out / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"\nraw results: {path}")


if __name__ == "__main__":
    main()
