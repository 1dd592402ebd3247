"""The entitlement decision alone: µs per call with 1,000 licenses and 10,000 tags.

Run: .venv/bin/python -m bench.decisions
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import licensing

REPOSITORIES = [f"acme/product-{i}" for i in range(50)]
RULES = [">=1.0.0 <2.0.0", "^2.3", "~3.1", "*-lts", "1.*", "4.2.0", ">=5.0.0", "=6.1", "*"]


def build(rng: random.Random) -> list[licensing.License]:
    now = datetime.now(UTC)
    licenses = []
    for i in range(1000):
        grants = tuple(
            licensing.parse_grant(rng.choice([*REPOSITORIES, "acme/product-*", "acme/**"]), rng.sample(RULES, 2))
            for _ in range(rng.randint(1, 4))
        )
        licenses.append(
            licensing.License(
                id=str(i),
                customer_id=str(i // 3),
                name=f"License {i}",
                grants=grants,
                valid_until=now + timedelta(days=rng.randint(-30, 400)),
            )
        )
    return licenses


def tags(rng: random.Random, count: int) -> list[str]:
    made = []
    for _ in range(count):
        version = f"{rng.randint(0, 7)}.{rng.randint(0, 12)}.{rng.randint(0, 30)}"
        made.append(rng.choice([version, f"v{version}", f"{version}-lts", f"{version}-rc.1", "latest"]))
    return made


def per_call(fn, calls: int) -> float:  # type: ignore[no-untyped-def]
    """Median over 5 runs of the µs one call takes."""
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(runs)


def main() -> None:
    rng = random.Random(7)
    licenses, sample = build(rng), tags(rng, 10_000)
    now = datetime.now(UTC)
    customer = [lic for lic in licenses if lic.customer_id == "5"]
    repo = next(r for r in REPOSITORIES if licensing.repository_visible(customer, r, now))  # a licensed one
    it = iter(sample * 100)

    def one_customer() -> None:
        licensing.decide(customer, repo, next(it), now)

    def every_license() -> None:
        licensing.decide(licenses, repo, next(it), now)

    print(f"decide, one customer ({len(customer)} licenses):  {per_call(one_customer, 20_000):8.1f} µs/call")
    print(f"decide, worst case (all 1,000 licenses):   {per_call(every_license, 500):8.1f} µs/call")
    started = time.perf_counter()
    allowed = licensing.allowed_tags(customer, repo, sample, now)
    print(
        f"allowed_tags over 10,000 tags:              {(time.perf_counter() - started) * 1e3:8.1f} ms"
        f" ({len(allowed)} allowed)"
    )


if __name__ == "__main__":
    main()
