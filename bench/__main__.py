"""`make bench`: Wharf against the reference registry, alternating, several rounds; prints the README's table.

Per round and server: skopeo pushes and pulls a 100 MiB single-layer image and a 20 x 1 MiB image, then wrk
GETs the small image's manifest (16 connections) with Wharf's vendor token and with a customer's pull token
under a license with tag rules, and one client lists a repository of 10,000 tags as that customer. nginx
serves the same manifest bytes as a static file with the same wrk settings (the machine's ceiling), and a
second Wharf on a local S3 server (`rclone serve s3`) pushes the same images (S3 against the filesystem store).
Then the load phase: many concurrent pulls by many customer tokens (bench/load.py). Wharf runs on PostgreSQL
with one worker per CPU; its database's CPU counts as Wharf's. Raw numbers go to bench/results/<time>.json.
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

from bench import clients, fixtures, load, report, runner
from bench.images import write_image
from bench.servers import (
    Server,
    new_database,
    start_nginx,
    start_postgres,
    start_reference,
    start_s3,
    start_wharf,
)

RESULTS = Path(__file__).parent / "results"
LOAD_REPO = "bench/load"
LOAD_IMAGE = [10 * 1024 * 1024] * 5  # 50 MiB
WRK = "wrk -t2 -c16"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")), help="default 3")
    parser.add_argument(
        "--phases",
        type=lambda text: [p.strip() for p in text.split(",") if p.strip()],
        default=list(runner.PHASES),
        help=f"comma-separated subset of {','.join(runner.PHASES)} (pushes a pull depends on run unrecorded)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run (default 10)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Wharf's worker processes")
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 push line")
    parser.add_argument("--no-ceiling", action="store_true", help="skip nginx")
    parser.add_argument("--load-seconds", type=int, default=120, help="the load phase's length; 0 skips it")
    parser.add_argument("--load-clients", type=int, default=200)
    parser.add_argument("--load-tokens", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (logs, data)")
    args = parser.parse_args(argv)
    unknown = [p for p in args.phases if p not in runner.PHASES]
    if unknown or not args.phases:
        parser.error(f"--phases: unknown {unknown}; choose from {','.join(runner.PHASES)}")
    if not 1 <= args.rounds <= 100:
        parser.error("--rounds must be between 1 and 100")
    return args


def _sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks below, like Ctrl-C


def _setup_wharf(server: Server, workdir: Path) -> None:
    """A customer token for the wrk phases, and the repository of 10,000 tags."""
    server.customer_headers = fixtures.basic(fixtures.customer_tokens(server, 1)[0])
    layout = workdir / "layout-many"
    write_image(layout, [1024])
    clients.push(server, layout, runner.MANY_TAGS_REPO)
    fixtures.many_tags(server, runner.MANY_TAGS_REPO)
    shutil.rmtree(layout, ignore_errors=True)


def _load_phase(server: Server, args: argparse.Namespace, workdir: Path, database_url: str | None) -> dict[str, Any]:
    layout = workdir / "layout-load"
    write_image(layout, LOAD_IMAGE)
    clients.push(server, layout, LOAD_REPO)
    tokens = fixtures.customer_tokens(server, args.load_tokens)
    print(f"load: {args.load_clients} clients, {len(tokens)} tokens, {args.load_seconds} s", flush=True)
    result = load.run(server, LOAD_REPO, tokens, args.load_seconds, args.load_clients, _recorder(database_url))
    return result.as_dict()


def _recorder(database_url: str | None) -> Any:
    if database_url is None:
        return None
    import asyncpg

    async def recorded(agent: str) -> int:
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            sql = "SELECT count(*) FROM download_events WHERE action = 'manifest.get' AND user_agent = $1"
            return int(await conn.fetchval(sql, agent))
        finally:
            await conn.close()

    return recorded


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _sigterm)
    missing = [tool for tool in ("skopeo", "wrk") if not shutil.which(tool)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: make bench installs them (as root)")
    workdir = Path(tempfile.mkdtemp(prefix="wharf-bench-"))
    servers: list[Server] = []
    helpers: list[Server] = []  # PostgreSQL, the S3 server: stopped at the end, not measured on their own
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    load_result = None
    try:
        database: tuple[Server, str] | None = None
        if args.database == "postgresql":
            pg, base = start_postgres(workdir)
            helpers.append(pg)
            database = (pg, base)
        wharf = start_wharf(_dir(workdir, "wharf"), None, args.workers, _db(database, "wharf"))
        servers += [wharf, start_reference(workdir)]
        if not args.no_ceiling:
            servers.append(start_nginx(workdir))
        if not args.no_s3:
            s3, env = start_s3(workdir)
            helpers.append(s3)
            on_s3 = start_wharf(_dir(workdir, "wharf-s3"), env, args.workers, _db(database, "wharf_s3"))
            on_s3.name = "wharf-s3"
            servers.append(on_s3)
        print(f"servers: {', '.join(f'{s.name} on {s.host}' for s in servers)}; workdir {workdir}", flush=True)
        _setup_wharf(wharf, workdir)
        results = runner.run(servers, args.phases, args.rounds, args.seconds, workdir)
        if args.load_seconds > 0:
            load_result = _load_phase(wharf, args, workdir, _db(database, "wharf", create=False))
    finally:
        for server in servers + helpers[::-1]:
            server.stop()
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    med = report.medians(results)
    found = report.verdicts(med, load_result)
    header = [
        f"`make bench` on {started:%Y-%m-%d}: {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after; Wharf {args.workers} worker(s) on {args.database}; median of {args.rounds} "
        f"round(s), servers alternating; wrk {WRK} for {args.seconds} s per run.",
    ]
    text = report.markdown(med, found, header, load_result)
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{started:%Y%m%dT%H%M%SZ}.json"
    raw = {
        "started": started.isoformat(),
        "args": vars(args),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": load_after,
        },
        "runs": results,
        "medians": med,
        "load": load_result,
        "goals": found,
        "table": text,
    }
    path.write_text(json.dumps(raw, indent=1, default=str))
    print(f"\nraw results: {path}")
    return 0


def _dir(workdir: Path, name: str) -> Path:
    (workdir / name).mkdir()
    return workdir / name


def _db(database: tuple[Server, str] | None, name: str, create: bool = True) -> Any:
    """A database of its own on the cluster for one Wharf (as (server, url)); with create=False, its URL."""
    if database is None:
        return None
    server, base = database
    if not create:
        return f"{base}/{name}"
    return server, new_database(base, name)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped, temporary directory removed (unless --keep)", file=sys.stderr)
        sys.exit(130)
