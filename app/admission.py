"""What the policy answers beyond entitlement: whether a pull token may be used from an address, and
whether a read fits the token's and its license's quotas, with the IETF RateLimit headers
(draft-ietf-httpapi-ratelimit-headers, structured-field form) that tell the client where it stands."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Literal

from app.limits import Limits, Network, amount, listed, permits
from app.quotas import SPANS, Period, QuotaCounters, Scope, Span, Usage, period
from app.sizes import human_size
from registry.auth import ADMITTED, Admission, Read

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Quota:
    """One limit that applies to a read: a token's or a license's pulls or bytes over a day or a month."""

    scope: Scope
    owner: int
    name: str
    what: Literal["pulls", "bytes"]
    span: Span
    limit: int

    @property
    def policy(self) -> str:
        return f"{self.scope}-{self.what}-{self.span}"  # e.g. "token-pulls-day"

    def used(self, usage: Usage) -> int:
        return usage.pulls if self.what == "pulls" else usage.bytes

    def amount(self) -> str:
        return amount(self.what, self.span, self.limit)

    def whose(self) -> str:
        return f"{self.scope} '{self.name}'"


@lru_cache(maxsize=10_000)  # the same token and license ask again and again
def quotas_of(scope: Scope, owner: int, name: str, limits: Limits) -> tuple[Quota, ...]:
    found = []
    for what, span, limit in (
        ("pulls", "day", limits.pulls_per_day),
        ("pulls", "month", limits.pulls_per_month),
        ("bytes", "month", limits.bytes_per_month),
    ):
        if limit is not None:
            found.append(Quota(scope, owner, name, what, span, limit))  # type: ignore[arg-type]
    return tuple(found)


def network_refusal(name: str, allowed: tuple[Network, ...], address: str | None) -> Admission | None:
    """DENIED, in plain words, when the token is used from outside its networks."""
    if permits(allowed, address):
        return None
    came = f"this request came from {address}" if address else "this request's address is unknown"
    reason = f"token '{name}' may be used from {listed([str(n) for n in allowed])} only; {came}"
    return Admission(False, reason, 403, code="outside_network")


class QuotaGate:
    """Admits reads against quotas and counts them in `counters` (memory; merged in the background)."""

    def __init__(self, counters: QuotaCounters) -> None:
        self.counters = counters

    def admit(self, read: Read, token: tuple[int, str, Limits], lic: tuple[int, str, Limits] | None) -> Admission:
        now = self.counters.clock()
        quotas = quotas_of("token", *token) + (quotas_of("license", *lic) if lic else ())
        if not quotas:  # nothing to enforce: counted all the same, for the pages and the API
            new = read.kind == "pull" and read.top_level and self._new_pull(token[0], read, now)
            self.counters.add(_owners(token[0], lic[0] if lic else None), now, int(new), read.size)
            return ADMITTED
        at = Moment(now, {span: period(span, now) for span in SPANS})
        if read.kind == "check":
            return Admission(headers=self.headers(quotas, at))
        owners = _owners(token[0], lic[0] if lic else None)
        if read.kind == "blob":
            if refusals := [why for q in quotas if q.what == "bytes" and (why := self._passing(q, at, read.size))]:
                return self._refusal(refusals, quotas, at)
            self.counters.add(owners, now, size=read.size)
            return Admission(headers=self.headers(quotas, at))  # a blob answer tells what is left, as a manifest's does
        new = read.top_level and self.counters.is_new_pull(token[0], read.repository, read.digest, now)
        if new:
            if refusals := [why for q in quotas if (why := self._spent(q, at))]:
                return self._refusal(refusals, quotas, at)
            self.counters.pulled(token[0], read.repository, read.digest, now)
        self.counters.add(owners, now, pulls=1 if new else 0, size=read.size)
        return Admission(headers=self.headers(quotas, at))

    def _new_pull(self, token_id: int, read: Read, now: datetime) -> bool:
        if not self.counters.is_new_pull(token_id, read.repository, read.digest, now):
            return False
        self.counters.pulled(token_id, read.repository, read.digest, now)
        return True

    def release(self, token_id: int, license_id: int | None, size: int) -> None:
        self.counters.add(_owners(token_id, license_id), self.counters.clock(), size=-size)

    def _used(self, quota: Quota, at: Moment) -> int:
        return quota.used(self.counters.used_in(quota.scope, quota.owner, quota.span, at.periods[quota.span].start))

    def _spent(self, quota: Quota, at: Moment) -> tuple[Quota, str] | None:
        """Why a new pull may not start: a pull limit reached, or the month's bytes used up."""
        if self._used(quota, at) + 1 <= quota.limit:  # one more pull, or at least a byte left
            return None
        return quota, f"{quota.whose()} reached its limit of {quota.amount()}"

    def _passing(self, quota: Quota, at: Moment, size: int) -> tuple[Quota, str] | None:
        used = self._used(quota, at)
        if used + size <= quota.limit:
            return None
        why = (
            f"this download of {human_size(size)} would pass the limit of {quota.amount()} of {quota.whose()} "
            f"({human_size(used)} used)"
        )
        return quota, why

    def _refusal(self, refusals: list[tuple[Quota, str]], quotas: tuple[Quota, ...], at: Moment) -> Admission:
        reset = max(at.periods[q.span].end for q, _ in refusals)
        reason = "; ".join(why for _, why in refusals) + f"; more from {reset:%Y-%m-%d %H:%M} UTC"
        retry = ("Retry-After", str(_seconds_until(reset, at.now)))
        return Admission(False, reason, 429, (*self.headers(quotas, at), retry), code="quota_exceeded")

    def headers(self, quotas: tuple[Quota, ...], at: Moment) -> Headers:
        """`RateLimit-Policy: "token-pulls-day";q=3;w=86400` and `RateLimit: "token-pulls-day";r=2;t=3600`."""
        resets = {span: _seconds_until(p.end, at.now) for span, p in at.periods.items()}
        limits = [f'"{q.policy}";r={max(0, q.limit - self._used(q, at))};t={resets[q.span]}' for q in quotas]
        policy = _policy_header(quotas, at.periods["day"].seconds, at.periods["month"].seconds)
        return (("RateLimit-Policy", policy), ("RateLimit", ", ".join(limits)))


@lru_cache(maxsize=10_000)
def _policy_header(quotas: tuple[Quota, ...], day_seconds: int, month_seconds: int) -> str:
    """The same for every request of a token until its limits or the month change."""
    windows = {"day": day_seconds, "month": month_seconds}
    units = {"pulls": "", "bytes": ';qu="content-bytes"'}
    return ", ".join(f'"{q.policy}";q={q.limit}{units[q.what]};w={windows[q.span]}' for q in quotas)


@dataclass(frozen=True)
class Moment:
    """The time of one admission and its day's and month's periods, worked out once."""

    now: datetime
    periods: dict[Span, Period]


def _owners(token_id: int, license_id: int | None) -> list[tuple[Scope, int]]:
    owners: list[tuple[Scope, int]] = [("token", token_id)]
    if license_id is not None:
        owners.append(("license", license_id))
    return owners


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
