"""The entitlement decision alone: µs per call over 1,000 licenses and 10,000 tags.

Run: .venv/bin/python -m bench.decisions [--runs N]

One vendor, 50 repositories, 1,000 licenses for ~333 customers (three each), every license with 1-4 grants
mixing exact, glob and semver-range tag rules over exact, `*` and `**` repository patterns; 10,000 tags
shaped like real ones (`1.4.2`, `v2.0.1`, `3.1.0-rc.1`, `2.4.1-lts`, `latest`, ...). Timed:

- licensing.decide for one customer (its ~3 licenses) and for a worst case customer holding all 1,000;
- licensing.allowed_tags over the 10,000 tags, for both;
- app.policy.WharfPolicy.decide_tags with its license cache warm (the registry's hot path), for one tag
  (a pull by tag), three tags (a pull by digest reached by several tags), and WharfPolicy.readable_tags over
  all 10,000 as tags/list does it;
- what quotas and the rate limit add to a request: WharfPolicy.admit (networks, WHARF_RATE_LIMIT) and
  WharfPolicy.admit_read for a new pull under a token's and a license's limits (counted, headers built).

Every figure is the median of several runs (default 7); the spread (min-max) is printed beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import licensing

VENDOR = "acme"
REPOSITORIES = [f"{VENDOR}/{name}" for name in ("app", "api", "db", "ui", "worker")] + [
    f"{VENDOR}/charts/product-{i}" for i in range(45)
]
REPOSITORY_PATTERNS = [
    *REPOSITORIES,
    f"{VENDOR}/*",
    f"{VENDOR}/charts/*",
    f"{VENDOR}/**",
    f"{VENDOR}/charts/product-1*",
]
EXACT = ["1.4.2", "2.0.0", "v3.1.4", "latest", "2.4.1-lts"]
GLOBS = ["1.*", "2.*", "*-lts", "v3.*", "*", "stable-*", "*.0"]
RANGES = [">=1.0.0 <2.0.0", "^2.3", "~3.1", ">=5.0.0", "=6.1", "^1.4 || ^3.0", ">1.2.3 <=4.0.0", "~0.9"]


def build_licenses(rng: random.Random, count: int = 1000, now: datetime | None = None) -> list[licensing.License]:
    now = now or datetime.now(UTC)
    licenses = []
    for i in range(count):
        grants = []
        for _ in range(rng.randint(1, 4)):
            repository = rng.choice(REPOSITORIES) if rng.random() < 0.7 else rng.choice(REPOSITORY_PATTERNS)
            rules = [rng.choice(rng.choice((EXACT, GLOBS, RANGES, RANGES))) for _ in range(rng.randint(1, 3))]
            grants.append(licensing.parse_grant(repository, rules))
        status: licensing.LicenseStatus = "suspended" if rng.random() < 0.03 else "active"
        licenses.append(
            licensing.License(
                id=str(i),
                customer_id=str(i // 3),
                name=f"License {i}",
                grants=tuple(grants),
                valid_from=now - timedelta(days=rng.randint(61, 700)),
                valid_until=None if rng.random() < 0.2 else now + timedelta(days=rng.randint(-60, 700)),
                grace_days=rng.choice((0, 0, 7, 30)),
                status=status,
            )
        )
    return licenses


def build_tags(rng: random.Random, count: int = 10_000) -> list[str]:
    tags: set[str] = set()
    while len(tags) < count:
        version = f"{rng.randint(0, 7)}.{rng.randint(0, 20)}.{rng.randint(0, 40)}"
        kinds = [
            version,
            version,
            f"v{version}",
            f"{version}-lts",
            f"{version}-rc.{rng.randint(1, 4)}",
            "latest",
            f"stable-{rng.randint(1, 99)}",
            f"{version}-{rng.choice(('alpine', 'debian'))}",
        ]
        tags.add(rng.choice(kinds))
    return sorted(tags)


def per_call(fn: Callable[[], object], calls: int, runs: int) -> tuple[float, float, float]:
    """(median, min, max) over `runs` of the µs one call takes, after one warm-up run."""
    fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(samples), min(samples), max(samples)


def show(label: str, figures: tuple[float, float, float], unit: str = "µs/call") -> None:
    median, low, high = figures
    if unit == "ms":
        median, low, high = median / 1e3, low / 1e3, high / 1e3
    print(f"  {label:<62} {median:8.1f} {unit:<8} ({low:.1f}-{high:.1f})")


def policy_figures(customer: list[licensing.License], repo: str, sample: list[str], runs: int) -> None:
    """WharfPolicy.decide_tags with the customer's licenses already cached (no database round trip)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.identity import TokenIdentity
    from app.policy import WharfPolicy
    from registry.auth import Principal

    engine = create_async_engine("sqlite+aiosqlite://")  # never reached: the cache is warm for the whole run
    policy = WharfPolicy(engine, cache_seconds=3600)
    policy._licenses[7] = (math.inf, tuple(customer))  # warm, as after the first request of a customer
    identity = TokenIdentity(1, "pull", "bench", "pull", 7, "customer", "globex", 1, VENDOR, None)
    principal = Principal("token:1", "bench", identity)
    allowed = [t for t in sample if licensing.decide(customer, repo, t, datetime.now(UTC))]
    denied = [t for t in sample if not licensing.decide(customer, repo, t, datetime.now(UTC))]

    async def run() -> None:
        loop_tags = itertools.cycle(sample)
        digest_tags = [frozenset(denied[i : i + 3]) for i in range(0, min(len(denied), 3000), 3)]
        loop_digest = itertools.cycle(digest_tags)

        async def one_tag(calls: int) -> None:
            for _ in range(calls):
                await policy.decide_tags(principal, repo, frozenset({next(loop_tags)}), asked="tag")

        async def three_denied(calls: int) -> None:
            for _ in range(calls):
                await policy.decide_tags(principal, repo, next(loop_digest), asked="digest")

        async def tags_list() -> None:
            await policy.readable_tags(principal, repo, sample)

        async def timed(coro_fn: Callable[..., Awaitable[None]], *args: int) -> tuple[float, float, float]:
            samples = []
            await coro_fn(*args)
            for _ in range(runs):
                started = time.perf_counter()
                await coro_fn(*args)
                samples.append(time.perf_counter() - started)
            calls = args[0] if args else 1
            us = [s / calls * 1e6 for s in samples]
            return statistics.median(us), min(us), max(us)

        from ipaddress import ip_network

        from app.limits import Limits
        from app.rate_limit import RateLimiter
        from registry.auth import Read

        limits = Limits(10**9, 10**9, 10**15)
        metered = TokenIdentity(
            2, "pull", "bench", "pull", 7, "customer", "globex", 1, VENDOR, None, (ip_network("10.0.0.0/8"),), limits
        )
        limited = Principal("token:2", "bench", metered)
        policy._license_limits[11] = ("bench", limits)
        policy.rate_limit = RateLimiter(1e9, 10**9)
        digests = [f"sha256:{i:064x}" for i in range(50_000)]

        async def admit(calls: int) -> None:
            for _ in range(calls):
                policy.admit(limited, "10.1.2.3")

        async def new_pulls(calls: int) -> None:
            for i in range(calls):
                policy.admit_read(limited, Read("pull", repo, digests[i % len(digests)], 1_000, "11"))

        show("decide_tags, one tag (pull by tag)", await timed(one_tag, 20_000))
        show("decide_tags, 3 denied tags (pull by digest, worst)", await timed(three_denied, 10_000))
        show(f"tags/list filter: readable_tags over {len(sample):,}", await timed(tags_list), "ms")
        print(f"  ({len(allowed):,} of the {len(sample):,} tags allowed for this customer in {repo})")
        show("admit: the token's networks and the request rate", await timed(admit, 20_000))
        show("admit_read: a new pull under token and license quotas", await timed(new_pulls, 20_000))

    asyncio.run(run())
    asyncio.run(engine.dispose())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per figure; the median is printed")
    args = parser.parse_args()
    rng = random.Random(7)
    now = datetime.now(UTC)
    licenses, sample = build_licenses(rng, now=now), build_tags(rng)
    rng.shuffle(sample)  # not sorted: consecutive calls should not decide near-identical tags
    repo_counts = {r: sum(lic.covers_repository(r) for lic in licenses) for r in REPOSITORIES}
    customers: dict[str, list[licensing.License]] = {}
    for lic in licenses:
        customers.setdefault(lic.customer_id, []).append(lic)
    repo = "acme/app"
    # a customer of three licenses whose rules on the timed repository open some tags but not all
    customer_id, customer = next(
        (cid, lics)
        for cid, lics in customers.items()
        if len(lics) == 3
        and licensing.repository_visible(lics, repo, now)
        and 0.05 < len(licensing.allowed_tags(lics, repo, sample[:2000], now)) / 2000 < 0.6
    )
    it = itertools.cycle(sample)

    print(
        f"{len(licenses):,} licenses ({sum(len(lic.grants) for lic in licenses):,} grants) over "
        f"{len(REPOSITORIES)} repositories; {len(sample):,} tags; {repo} is named by {repo_counts[repo]} licenses; "
        f"median of {args.runs} runs (min-max)"
    )
    print("licensing (pure):")
    show(
        f"decide, one customer ({len(customer)} licenses, #{customer_id})",
        per_call(lambda: licensing.decide(customer, repo, next(it), now), 20_000, args.runs),
    )
    show(
        "decide, worst case: one customer holding all 1,000 licenses",
        per_call(lambda: licensing.decide(licenses, repo, next(it), now), 500, args.runs),
    )
    show(
        "decide, worst case, a repository no license names",
        per_call(lambda: licensing.decide(licenses, "acme/unknown/x", next(it), now), 500, args.runs),
    )
    kept = licensing.allowed_tags(customer, repo, sample, now)
    show(
        f"allowed_tags x {len(sample):,} tags, one customer ({len(kept):,} kept)",
        per_call(lambda: licensing.allowed_tags(customer, repo, sample, now), 1, args.runs),
        "ms",
    )
    kept_all = licensing.allowed_tags(licenses, repo, sample, now)
    show(
        f"allowed_tags x {len(sample):,} tags, all 1,000 licenses ({len(kept_all):,} kept)",
        per_call(lambda: licensing.allowed_tags(licenses, repo, sample, now), 1, args.runs),
        "ms",
    )
    print("app.policy.WharfPolicy (license cache warm):")
    policy_figures(customer, repo, sample, args.runs)


if __name__ == "__main__":
    main()
