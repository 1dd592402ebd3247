"""The server's own protection: at most WHARF_RATE_LIMIT requests per token (a token bucket holding
WHARF_RATE_LIMIT_BURST), for every token, the vendor's included. Off by default.

Counted in memory, per process: with N processes a token gets at most N times the rate, which still
stops one runaway client from taking a node; nothing is written anywhere.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

from registry.lru import LRU

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}
RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|m|h)\s*\Z")
TOKENS = 100_000  # buckets kept; a token forgotten starts full again


def parse_rate(text: str) -> tuple[float, int] | None:
    """`50/s`, `600/m` or `10000/h` as (requests per second, requests per unit); empty: off."""
    if not text.strip():
        return None
    match = RATE_RE.match(text)
    if match is None or float(match[1]) <= 0:
        raise ValueError(f"WHARF_RATE_LIMIT must be a number of requests per s, m or h, like 50/s (not {text!r})")
    count = float(match[1])
    return count / UNITS[match[2]], max(1, math.ceil(count))


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self.clock = clock
        self._buckets: LRU[int, tuple[float, float]] = LRU(TOKENS)  # token -> (requests left, when)

    @classmethod
    def from_settings(cls, rate: str, burst: int) -> RateLimiter | None:
        parsed = parse_rate(rate)
        if parsed is None:
            return None
        per_second, per_unit = parsed
        if burst < 0:
            raise ValueError("WHARF_RATE_LIMIT_BURST must be 0 (the rate's own count) or more")
        return cls(per_second, burst or per_unit)

    def take(self, token_id: int) -> float:
        """Spend one request of the token's bucket: 0 when allowed, else the seconds until one is back."""
        now = self.clock()
        left, then = self._buckets.get(token_id) or (float(self.burst), now)
        left = min(float(self.burst), left + (now - then) * self.per_second)
        if left >= 1:
            self._buckets.put(token_id, (left - 1, now))
            return 0.0
        self._buckets.put(token_id, (left, now))
        return (1 - left) / self.per_second

    def headers(self, wait: float) -> tuple[tuple[str, str], ...]:
        """RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers) and Retry-After of a refusal."""
        window = max(1, math.ceil(self.burst / self.per_second))
        retry = str(max(1, math.ceil(wait)))
        return (
            ("RateLimit-Policy", f'"requests";q={self.burst};w={window}'),
            ("RateLimit", f'"requests";r=0;t={retry}'),
            ("Retry-After", retry),
        )

    def describe(self) -> str:
        """`50 requests a second`, as a refusal names the limit."""
        for unit, seconds in (("second", 1.0), ("minute", 60.0), ("hour", 3600.0)):
            count = self.per_second * seconds
            if count >= 1 and abs(count - round(count)) < 1e-9:
                return f"{round(count):,} request{'s' if round(count) != 1 else ''} a {unit}"
        return f"{self.per_second:g} requests a second"
