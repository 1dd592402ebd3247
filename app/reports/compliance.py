"""License compliance: what a license entitles and what was pulled under it over a period, and tokens used
from too many networks in a day (the sharing signal); a customer's monthly statement is in
app.reports.statements. All periods are UTC, half-open [since, until). The definitions are in docs/audit.md
("Compliance")."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app import adoption, catalog
from app.models import DownloadEvent as E
from app.models import License, Organization
from app.policy import licenses_by_customer
from app.reports import rollup
from app.reports.periods import next_boundary, period_start
from app.services.errors import Invalid
from app.times import EARLIEST, LATEST, BadMoment, aware, parse_moment, within_bounds

DEFAULT_SHARING_NETWORKS = 5  # a token used from more networks than this in one UTC day is flagged
CLIENT_READS = ("manifest.get", "manifest.head")  # what makes an address a client (blob reads follow them)
RECENT_DAYS = 30  # the customer page and the dashboard show sharing flags of this many days
MONTH_RE = re.compile(r"^([0-9]{4})-([0-9]{2})\Z")  # ASCII digits only (\d takes any script's)
OTHER = "other"  # the reason code of a denial stored without one


def network_of(address: str | None) -> str | None:
    """The client network of an address: its /24 (IPv4) or /64 (IPv6); None for no or an unreadable address."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def recent_days(now: datetime, days: int = RECENT_DAYS) -> tuple[datetime, datetime]:
    """The last `days` whole UTC days up to now, today included: the window pages show sharing flags for."""
    start = datetime.combine(now.date() - timedelta(days=days - 1), datetime.min.time(), tzinfo=UTC)
    return start, now + timedelta(seconds=1)


def sharing_threshold(vendor: Organization) -> int:
    return vendor.sharing_networks if vendor.sharing_networks is not None else DEFAULT_SHARING_NETWORKS


def month_period(text: str | None, now: datetime) -> tuple[datetime, datetime]:
    """`YYYY-MM` (empty: the month `now` falls in) as the UTC month [first moment, first moment of the next)."""
    text = (text or "").strip()
    if not text:
        start = period_start("monthly", now)
        return start, next_boundary("monthly", start)
    found = MONTH_RE.match(text)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise Invalid("month", f"{text[:20]!r} is not a month: use YYYY-MM, as 2026-11")
    year = int(found.group(1))
    if not EARLIEST.year <= year <= LATEST.year:  # checked first: the year 0000 is no date at all
        raise Invalid("month", f"choose a month between {EARLIEST:%Y-%m} and {LATEST:%Y-%m}")
    start = datetime(year, int(found.group(2)), 1, tzinfo=UTC)
    return start, next_boundary("monthly", start)


def _moment(field: str, text: str | None) -> datetime | None:
    try:
        found = parse_moment(text, "start")
    except BadMoment as exc:
        raise Invalid(field, str(exc)) from None
    if not within_bounds(found):
        raise Invalid(field, f"choose a moment between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
    return found


def parse_period(since: str | None, until: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) from a request (a date `until` includes that whole UTC day); an open end is filled from
    this UTC month."""
    start, end = month_period(None, now)
    lo = _moment("since", since) or start
    hi = _moment("until", until)
    if hi is not None and len((until or "").strip()) <= 10:
        hi += timedelta(days=1)
    hi = hi or end
    if hi <= lo:
        raise Invalid("until", "until must be later than since")
    return lo, hi


@dataclass(frozen=True)
class VersionPulled:
    repository: str
    version: str  # the tag; a digest no tag ever named stays a digest
    pulls: int
    last_at: datetime


@dataclass(frozen=True)
class SharingFlag:
    token_id: int
    token_name: str
    customer_id: int | None
    customer_name: str
    day: date
    networks: int


@dataclass(frozen=True)
class Grace:
    valid_until: datetime | None
    grace_days: int
    access_ends: datetime | None
    pulls_in_grace: int  # pulls after valid_until, within the grace days (later ones are refused)


@dataclass
class Compliance:
    license_id: int
    license_name: str
    customer_id: int
    since: datetime
    until: datetime
    state: str  # the license's state now: in_force, suspended, not_yet_valid, expired
    entitled: dict[str, list[str]]  # repository -> the versions it entitles now
    pulled: list[VersionPulled]
    pulls: int
    tokens: int  # distinct tokens that read under the license
    networks: int  # distinct client networks (/24, /64) they read from
    denials: dict[str, int]  # reason code -> count
    grace: Grace
    sharing: list[SharingFlag] = field(default_factory=list)


def in_period(since: datetime, until: datetime) -> list[Any]:
    """Events at or after `since` and before `until`."""
    return [E.at >= since, E.at < until]


def _pulled_ok() -> list[Any]:
    return [E.action == "manifest.get", E.status < 400, E.part_of_pull.is_not(True)]


async def versions_pulled(session: AsyncSession, where: list[Any]) -> list[VersionPulled]:
    """Successful manifest GETs matching `where`, per repository and version; a pull by digest counts as the
    tag that named the digest; a platform manifest fetched for an index, and a cosign signature tag, count as
    no pull of their own."""
    stmt = (
        select(E.repository, E.reference, func.count().label("n"), func.max(E.at).label("last"))
        .where(*_pulled_ok(), E.reference.is_not(None), *where)
        .group_by(E.repository, E.reference)
    )
    rows = (await session.execute(stmt)).all()
    digests = [(r.repository, r.reference) for r in rows if adoption.is_digest(r.reference)]
    mapped = await adoption.digest_versions(session, digests)
    totals: dict[tuple[str, str], tuple[int, datetime]] = {}
    for row in rows:
        version = row.reference
        if adoption.is_digest(row.reference) and (hit := mapped.get((row.repository, row.reference))) is not None:
            if hit.via_index:
                continue  # the platform manifest of an index pulled just before: the index's pull counts
            version = hit.tag
        if not adoption.versions([version]):
            continue  # a signature fetched by its cosign tag is verification, not a version pulled
        n, last = totals.get((row.repository, version), (0, aware(row.last)))
        totals[(row.repository, version)] = (n + int(row.n), max(last, aware(row.last)))
    return [VersionPulled(repo, version, n, last) for (repo, version), (n, last) in sorted(totals.items())]


async def sharing_flags(
    session: AsyncSession, vendor_id: int, threshold: int, since: datetime, until: datetime, *where: Any
) -> list[SharingFlag]:
    """Tokens read from more than `threshold` distinct networks in one UTC day, newest day first."""
    conn = await session.connection()
    day = rollup.event_day(conn.dialect.name).label("day")
    # An IPv4 address without its last number ("192.0.2."): its /24, computed by the database on both
    # backends, so a day's many addresses in one network come back as one row; IPv6 (and anything else)
    # stays whole and is mapped to its /64 here.
    key = case((E.client_ip.like("%:%"), E.client_ip), else_=func.rtrim(E.client_ip, "0123456789")).label("key")
    reads = (
        select(E.token_id, day, key)
        .where(
            E.vendor_id == vendor_id,
            E.token_id.is_not(None),
            E.client_ip.is_not(None),
            E.action.in_(CLIENT_READS),
            E.status < 400,
            *in_period(since, until),
            *where,
        )
        .group_by(E.token_id, day, key)
        .cte("reads")
    )
    # distinct networks never outnumber distinct keys: only a token-day with more keys than the threshold can be flagged
    busy = (
        select(reads.c.token_id, reads.c.day)
        .group_by(reads.c.token_id, reads.c.day)
        .having(func.count() > threshold)
        .subquery()
    )
    stmt = select(reads.c.token_id, reads.c.day, reads.c.key).join(
        busy, and_(busy.c.token_id == reads.c.token_id, busy.c.day == reads.c.day)
    )
    networks: dict[tuple[int, date], set[str]] = {}
    for token_id, on, address in await session.execute(stmt):
        if (net := network_of(address + "0" if address.endswith(".") else address)) is not None:
            on = on if isinstance(on, date) else date.fromisoformat(str(on)[:10])
            networks.setdefault((int(token_id), on), set()).add(net)
    flagged = {key: len(nets) for key, nets in networks.items() if len(nets) > threshold}
    if not flagged:
        return []
    names = await _token_names(session, vendor_id, {token_id for token_id, _ in flagged})
    return [
        SharingFlag(token_id, *names.get(token_id, (f"token {token_id}", None, "")), on, n)
        for (token_id, on), n in sorted(flagged.items(), key=lambda item: (item[0][1], item[1]), reverse=True)
    ]


async def _token_names(session: AsyncSession, vendor_id: int, ids: set[int]) -> dict[int, tuple[str, int | None, str]]:
    """Each token's name and customer as the newest event recorded them (a deleted token still reads)."""
    newest = (
        select(E.token_id, func.max(E.at).label("at"))
        .where(E.vendor_id == vendor_id, E.token_id.in_(ids))
        .group_by(E.token_id)
        .subquery()
    )
    stmt = (
        select(E.token_id, E.token_name, E.customer_id, E.customer_name, Organization.name)
        .join(newest, (newest.c.token_id == E.token_id) & (newest.c.at == E.at))
        .join(Organization, Organization.id == E.customer_id, isouter=True)
        .where(E.vendor_id == vendor_id)
    )
    found: dict[int, tuple[str, int | None, str]] = {}
    for row in await session.execute(stmt):
        name = row.token_name or f"token {row.token_id}"
        found[int(row.token_id)] = (name, row.customer_id, row.name or row.customer_name or "")
    return found


async def denials_by_repository(
    session: AsyncSession, vendor_id: int, since: datetime, until: datetime, *where: Any
) -> list[tuple[str, str | None, int]]:
    stmt = (
        select(E.repository, E.reason_code, func.count())
        .where(E.vendor_id == vendor_id, E.action == "denied", *in_period(since, until), *where)
        .group_by(E.repository, E.reason_code)
    )
    return [(repo, code, int(n)) for repo, code, n in await session.execute(stmt)]


def by_reason(rows: list[tuple[str, str | None, int]]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for _repo, code, n in rows:
        counts[code or OTHER] += n
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


async def license_compliance(
    session: AsyncSession,
    vendor: Organization,
    lic: License,
    since: datetime,
    until: datetime,
    now: datetime,
) -> Compliance:
    held = (await licenses_by_customer(session, vendor.id)).get(lic.customer_id, ())
    domain = next((x for x in held if x.id == str(lic.id)), None)
    entitled: dict[str, list[str]] = {}
    if domain is not None:
        for repository, tags in (await catalog.vendor_tags(session, vendor.slug)).items():
            if domain.covers_repository(repository):
                entitled[repository] = licensing.allowed_tags((domain,), repository, adoption.versions(tags), now)
    # events under a license are its customer's: the customer filter lets the database use its index
    mine = [E.vendor_id == vendor.id, E.customer_id == lic.customer_id, E.license_id == lic.id]
    mine += in_period(since, until)
    pulled = await versions_pulled(session, mine)
    reads = (
        select(E.token_id, E.client_ip)
        .where(*mine, E.action.in_(CLIENT_READS), E.status < 400)
        .group_by(E.token_id, E.client_ip)
    )
    tokens, nets = set(), set()
    for token_id, address in await session.execute(reads):
        if token_id is not None:
            tokens.add(int(token_id))
        if (net := network_of(address)) is not None:
            nets.add(net)
    # Denials under the license, and the customer's denials in repositories it covers that no license took
    own = await denials_by_repository(session, vendor.id, since, until, E.license_id == lic.id)
    unclaimed = await denials_by_repository(
        session, vendor.id, since, until, E.license_id.is_(None), E.customer_id == lic.customer_id
    )
    denials = own + [row for row in unclaimed if domain is not None and domain.covers_repository(row[0])]
    valid_until = aware(lic.valid_until)
    in_grace = await versions_pulled(session, [*mine, E.at >= valid_until]) if valid_until is not None else []
    access_ends = domain.access_ends if domain is not None else None
    return Compliance(
        license_id=lic.id,
        license_name=lic.name,
        customer_id=lic.customer_id,
        since=since,
        until=until,
        state=domain.state(now) if domain is not None else "in_force",
        entitled=entitled,
        pulled=pulled,
        pulls=sum(v.pulls for v in pulled),
        tokens=len(tokens),
        networks=len(nets),
        denials=by_reason(denials),
        grace=Grace(valid_until, lic.grace_days, access_ends, sum(v.pulls for v in in_grace)),
        sharing=await sharing_flags(
            session,
            vendor.id,
            sharing_threshold(vendor),
            since,
            until,
            E.customer_id == lic.customer_id,
            E.license_id == lic.id,
        ),
    )


def compliance_json(c: Compliance) -> dict[str, Any]:
    return {
        "license_id": c.license_id,
        "license_name": c.license_name,
        "customer_id": c.customer_id,
        "period": {"since": c.since.isoformat(), "until": c.until.isoformat()},
        "state": c.state,
        "entitled": [{"repository": r, "versions": tags} for r, tags in sorted(c.entitled.items())],
        "pulled": [
            {"repository": v.repository, "version": v.version, "pulls": v.pulls, "last_pulled": v.last_at.isoformat()}
            for v in c.pulled
        ],
        "pulls": c.pulls,
        "distinct_tokens": c.tokens,
        "distinct_networks": c.networks,
        "denials": c.denials,
        "grace": {
            "valid_until": c.grace.valid_until.isoformat() if c.grace.valid_until else None,
            "grace_days": c.grace.grace_days,
            "access_ends": c.grace.access_ends.isoformat() if c.grace.access_ends else None,
            "pulls_in_grace": c.grace.pulls_in_grace,
        },
        "sharing": [sharing_json(f) for f in c.sharing],
    }


def sharing_json(f: SharingFlag) -> dict[str, Any]:
    return {
        "token_id": f.token_id,
        "token_name": f.token_name,
        "customer_id": f.customer_id,
        "customer_name": f.customer_name,
        "day": f.day.isoformat(),
        "networks": f.networks,
    }
