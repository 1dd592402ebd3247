"""Where a manifest GET's CPU goes: Wharf as `make bench` runs it, wrk with a customer's pull token, and meanwhile
py-spy on every worker and the CPU each party uses (workers, PostgreSQL, wrk).

Run: .venv/bin/python -m bench.profile [--workers 2] [--seconds 20] [--rate 100] [--top 25]
Prints wrk's summary, the cores each party used while py-spy sampled, and the frames holding the most samples
(inclusive, then where the time was spent); the raw py-spy files stay in the printed directory.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench import clients, fixtures
from bench.images import write_image
from bench.servers import Server, new_database, start_postgres, start_wharf

REPOSITORY = "bench/profiled"
_FRAME = re.compile(r"(.*) \((.*?):\d+\)")


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for p in processes:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def frame_name(frame: str) -> str:
    """`handler (path/to/module.py:12)` as `handler (module.py)`, so lines of one function add up."""
    found = _FRAME.fullmatch(frame)
    return f"{found.group(1)} ({Path(found.group(2)).name})" if found else frame


def summarise(files: list[Path], top: int) -> str:
    """py-spy's raw (collapsed) stacks: the share of samples under each frame, and at each leaf."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaf: collections.Counter[str] = collections.Counter()
    total = 0
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            samples, frames = int(count), [frame_name(f) for f in stack.split(";")]
            total += samples
            leaf[frames[-1]] += samples
            for name in set(frames):
                inclusive[name] += samples
    if not total:
        return "py-spy recorded no samples"
    lines = [f"{total:,} samples", "", "under the frame (inclusive):"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "in the frame itself (leaf):"]
    lines += [f"{100 * n / total:5.1f} %  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)


def profile(wharf: Server, postgres: Server, args: argparse.Namespace, out: Path) -> str:
    url = f"http://{wharf.host}/v2/{REPOSITORY}/manifests/v1"
    load_command = ["wrk", "-t2", "-c16", f"-d{args.seconds}s", "--latency", "-H", f"Accept: {clients.OCI_MANIFEST}"]
    for name, value in wharf.customer_headers.items():
        load_command += ["-H", f"{name}: {value}"]
    load = subprocess.Popen([*load_command, url], stdout=subprocess.PIPE, text=True)
    time.sleep(min(3.0, args.seconds / 4))  # past connection set-up
    workers = psutil.Process(wharf.process.pid).children(recursive=True) or [psutil.Process(wharf.process.pid)]
    parties = {"Wharf workers": workers, "PostgreSQL": tree(postgres.process.pid), "wrk": [psutil.Process(load.pid)]}
    window = max(args.seconds / 2, 1.0)
    before = {name: cpu_seconds(procs) for name, procs in parties.items()}
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    spies = []
    for worker in workers:
        sampled = ["-p", str(worker.pid), "-r", str(args.rate), "-d", str(int(window))]
        command = [spy, "record", "--nonblocking", *sampled, "-f", "raw", "-o", str(out / f"{worker.pid}.txt")]
        spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    started = time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - started
    used = {name: (cpu_seconds(procs) - before[name]) / elapsed for name, procs in parties.items()}
    for sampler in spies:
        sampler.wait(timeout=60)
    report = load.communicate(timeout=args.seconds + 60)[0]
    cores = ", ".join(f"{name} {value:.2f}" for name, value in used.items())
    # PostgreSQL's short-lived processes take their CPU time with them: its figure is a lower bound
    stacks = summarise(sorted(out.glob("*.txt")), args.top)
    return f"{report}\ncores used while sampling ({elapsed:.0f} s): {cores}\n\n{stacks}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seconds", type=int, default=20, help="wrk's run; py-spy samples its middle half")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("missing wrk: make bench installs it (as root)")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-profile-"))
    out = workdir / "py-spy"
    out.mkdir()
    postgres, base = start_postgres(workdir)
    try:
        wharf = start_wharf(workdir / "wharf", None, args.workers, (postgres, new_database(base, "wharf")))
        try:
            layout = workdir / "layout"
            write_image(layout, [1024 * 1024] * 20)
            clients.push(wharf, layout, REPOSITORY)
            wharf.customer_headers = fixtures.basic(fixtures.customer_tokens(wharf, 1)[0])
            print(profile(wharf, postgres, args, out))
        finally:
            wharf.stop()
    finally:
        postgres.stop()
    print(f"\nraw py-spy stacks: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
