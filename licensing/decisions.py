"""Pull decisions over the union of a customer's licenses: `decide`, `decide_reachable`, `repository_visible`,
`allowed_tags` (and its two halves, `tag_rules_in_force` and `tags_matching`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from licensing.grants import Grant, TagRule
from licensing.licenses import License, is_aware
from licensing.ranges import VersionRange
from licensing.versions import parse_tag_version

DEFAULT_WARN_DAYS = 14


@dataclass(frozen=True, slots=True)
class Allowed:
    """Access granted by one license; `warning` is set when it ends within the warning window or is in grace."""

    license_id: str
    license_name: str
    warning: str | None = None

    def __bool__(self) -> Literal[True]:
        return True


@dataclass(frozen=True, slots=True)
class Denied:
    """Access refused, with a reason for the customer. `repository_licensed` is False when none of the
    customer's licenses (in force or not) names the repository: answer as if it did not exist."""

    reason: str
    repository_licensed: bool = False
    code: str = "no_license"  # machine-readable: not_covered | expired | suspended | not_yet_valid | no_license

    def __bool__(self) -> Literal[False]:
        return False


Decision = Allowed | Denied


def decide(
    licenses: Iterable[License], repository: str, tag: str, now: datetime, *, warn_days: int = DEFAULT_WARN_DAYS
) -> Decision:
    """May the holder of `licenses` pull `repository:tag` at `now`? O(number of grants), rules pre-compiled.

    When several licenses allow, the one ending last answers (fewest warnings). When none does, the reason
    comes from a license naming the repository: first one that lapsed but would cover the tag, then the
    in-force ones that do not cover the tag, then any lapsed one; else "no license covers repository ...".
    """
    return decide_reachable(licenses, repository, (tag,), now, asked=f"tag {tag}", warn_days=warn_days)


def decide_reachable(
    licenses: Iterable[License],
    repository: str,
    tags: Iterable[str],
    now: datetime,
    *,
    asked: str,
    warn_days: int = DEFAULT_WARN_DAYS,
) -> Decision:
    """May content reachable from any of `tags` be pulled? Decided as `decide` does for one tag, but a denial
    names only `asked` (what the caller asked for, e.g. "digest sha256:…"), never one of the tags, which
    the caller may not be allowed to see."""
    _require_aware(now)
    versions = [(tag, parse_tag_version(tag)) for tag in tags]
    allowing: License | None = None
    lapsed_with_tag: list[License] = []
    in_force_without_tag: list[License] = []
    lapsed_without_tag: list[License] = []
    for license in licenses:
        grants = [grant for grant in license.grants if grant.covers_repository(repository)]
        if not grants:
            continue
        covers_tag = any(grant.allows_tag(tag, version) for tag, version in versions for grant in grants)
        if license.in_force(now):
            if not covers_tag:
                in_force_without_tag.append(license)
            elif allowing is None or _ends_later(license, allowing):
                allowing = license
        else:
            (lapsed_with_tag if covers_tag else lapsed_without_tag).append(license)
    if allowing is not None:
        return Allowed(allowing.id, allowing.name, expiry_warning(allowing, now, warn_days))
    if lapsed_with_tag:
        return _lapsed(lapsed_with_tag[0], now)
    if in_force_without_tag:
        reason = f"{asked} is not covered by {_license_names(in_force_without_tag)}"
        return Denied(reason, repository_licensed=True, code="not_covered")
    if lapsed_without_tag:
        return _lapsed(lapsed_without_tag[0], now)
    return Denied(f"no license covers repository {repository}")


def repository_visible(licenses: Iterable[License], repository: str, now: datetime) -> bool:
    """Whether a license in force has a grant for the repository (for _catalog and 'name unknown' answers)."""
    return bool(_grants_in_force(licenses, repository, now))


def allowed_tags(licenses: Iterable[License], repository: str, tags: Iterable[str], now: datetime) -> list[str]:
    """The tags, in their order, that `decide` would allow; each tag's version is parsed at most once."""
    return tags_matching(tag_rules_in_force(licenses, repository, now), tags)


def tag_rules_in_force(licenses: Iterable[License], repository: str, now: datetime) -> tuple[TagRule, ...]:
    """The distinct tag rules of the grants in force for `repository` at `now`. Whether a tag matches them
    does not depend on the time, so a caller may remember `tags_matching` answers per rule set."""
    return tuple(
        dict.fromkeys(rule for grant in _grants_in_force(licenses, repository, now) for rule in grant.tag_rules)
    )


def tags_matching(rules: Sequence[TagRule], tags: Iterable[str]) -> list[str]:
    """The tags, in their order, that match at least one of the rules."""
    if not rules:
        return []
    needs_version = any(isinstance(rule, VersionRange) for rule in rules)
    allowed = []
    for tag in tags:
        version = parse_tag_version(tag) if needs_version else None
        if any(rule.matches_tag(tag, version) for rule in rules):
            allowed.append(tag)
    return allowed


def expiry_warning(license: License, now: datetime, warn_days: int = DEFAULT_WARN_DAYS) -> str | None:
    """Text for a `Warning: 299` header when the license ends within `warn_days` or is in its grace period."""
    if license.valid_until is None or license.access_ends is None:
        return None
    if now >= license.valid_until:
        return (
            f"license '{license.name}' expired on {_day(license.valid_until)}; "
            f"access ends on {_day(license.access_ends)}"
        )
    if license.valid_until - now <= timedelta(days=warn_days):
        return f"license '{license.name}' expires on {_day(license.valid_until)}"
    return None


def lapse_reason(license: License, now: datetime) -> str:
    """Why a license that is not in force at `now` does not count, in plain words."""
    state = license.state(now)
    if state == "suspended":
        return f"license '{license.name}' is suspended"
    if state == "not_yet_valid" and license.valid_from is not None:
        return f"license '{license.name}' is not valid before {_day(license.valid_from)}"
    if state == "expired" and license.valid_until is not None:
        return f"license '{license.name}' expired on {_day(license.valid_until)}"
    raise ValueError(f"license '{license.name}' is in force at {now.isoformat()}")


def _lapsed(license: License, now: datetime) -> Denied:
    return Denied(lapse_reason(license, now), repository_licensed=True, code=license.state(now))


def _grants_in_force(licenses: Iterable[License], repository: str, now: datetime) -> list[Grant]:
    _require_aware(now)
    return [
        grant
        for license in licenses
        if license.in_force(now)
        for grant in license.grants
        if grant.covers_repository(repository)
    ]


def _ends_later(candidate: License, current: License) -> bool:
    if current.valid_until is None:
        return False
    return candidate.valid_until is None or candidate.valid_until > current.valid_until


def _license_names(licenses: list[License]) -> str:
    names = [f"'{license.name}'" for license in licenses]
    if len(names) == 1:
        return f"license {names[0]}"
    return f"licenses {', '.join(names[:-1])} and {names[-1]}"


def _day(moment: datetime) -> str:
    """The calendar day of `moment`, in the timezone it was given in."""
    return moment.date().isoformat()


def _require_aware(now: datetime) -> None:
    if not is_aware(now):
        raise ValueError("now must be a timezone-aware datetime")
