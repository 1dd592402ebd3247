"""Sign-in throttling: after 5 failures in 15 minutes, an account or an address must wait.

Counted in memory, per process: with N nodes an attacker gets at most N times the budget, which
still rules out guessing a password; a restart forgets the counts."""

from __future__ import annotations

import time
from collections import deque

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


class SignInThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def wait_seconds(self, email: str, ip: str | None) -> int:
        """0 when a sign-in may be tried; else how long until the oldest counted failure expires."""
        now = time.monotonic()
        waits = [
            int(failures[0] + self.window - now) + 1
            for key in self._keys(email, ip)
            if len(failures := self._recent(key, now)) >= self.max_failures
        ]
        return max(waits, default=0)

    def failed(self, email: str, ip: str | None) -> None:
        now = time.monotonic()
        if len(self._failures) > 100_000:  # bound memory under a spray of addresses
            self._failures.clear()
        for key in self._keys(email, ip):
            self._recent(key, now).append(now)

    def succeeded(self, email: str) -> None:
        self._failures.pop(f"account:{email}", None)

    @staticmethod
    def _keys(email: str, ip: str | None) -> list[str]:
        return [f"account:{email}", *([f"ip:{ip}"] if ip else [])]
