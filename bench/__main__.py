"""`make bench`: Wharf against the reference registry, alternating, several rounds.

Phases per round and server: skopeo pushes and pulls a 100 MiB single-layer image and a 20 x 1 MiB image,
then wrk GETs the small image's manifest. Prints medians, Wharf/reference ratios, server CPU seconds and the
goals; writes the raw numbers to bench/results/<timestamp>.json. `--storage s3` (or BENCH_STORAGE=s3) puts
Wharf's blobs on a local S3 server (`rclone serve s3`) and redirects its blob GETs there.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report, runner
from bench.servers import STARTERS, Server, start_s3, start_wharf

RESULTS = Path(__file__).parent / "results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")), help="default 3")
    parser.add_argument("--only", choices=list(STARTERS), help="run one server only (no ratios)")
    parser.add_argument(
        "--phases",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=list(runner.PHASES),
        help=f"comma-separated subset of {','.join(runner.PHASES)} (pushes a pull depends on run unrecorded)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    parser.add_argument(
        "--storage",
        choices=["filesystem", "s3"],
        default=os.environ.get("BENCH_STORAGE", "filesystem"),
        help="Wharf's blob store; s3 = a local `rclone serve s3` with blob GETs redirected (default filesystem)",
    )
    args = parser.parse_args(argv)
    unknown = [p for p in args.phases if p not in runner.PHASES]
    if unknown or not args.phases:
        parser.error(f"--phases: unknown {unknown}; choose from {','.join(runner.PHASES)}")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    return args


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks below, like Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    missing = [tool for tool in ("skopeo", "wrk") if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: make bench installs them (as root)")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-"))
    servers: list[Server] = []
    helpers: list[Server] = []  # the S3 server: stopped at the end, not measured
    started = datetime.now(UTC)
    try:
        for name in [args.only] if args.only else list(STARTERS):
            if name == "wharf" and args.storage == "s3":
                s3, env = start_s3(workdir)
                helpers.append(s3)
                servers.append(start_wharf(workdir, env))
            else:
                servers.append(STARTERS[name](workdir))
        print(f"servers: {', '.join(f'{s.name} on {s.host}' for s in servers)}; workdir {workdir}", flush=True)
        results = runner.run(servers, args.phases, args.rounds, args.seconds, workdir)
    finally:
        for server in servers + helpers:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    med = report.medians(results)
    text, verdicts = report.table(med, args.rounds, args.storage)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    raw = {
        "started": started.isoformat(),
        "args": vars(args),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "pushed_bytes": runner.pushed_bytes(),
        "runs": results,
        "medians": med,
        "goals": verdicts,
    }
    path.write_text(json.dumps(raw, indent=1))
    print(f"\nraw results: {path}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temporary directory removed (unless --keep)", file=sys.stderr)
        sys.exit(130)
