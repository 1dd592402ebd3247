"""Version ranges in npm syntax: comparators joined by spaces must all hold, `||` separates alternatives.

Only tags that are full semantic versions (an optional leading v, MAJOR.MINOR.PATCH, optional pre-release
and build) fall in a range: `latest`, `1.2` or `main` never do. Partial bounds are npm X-ranges.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, cast

from licensing.errors import InvalidRule
from licensing.versions import BUILD, NUMBER, PRERELEASE, PrecedenceKey, Version, parse_tag_version

COMPARATOR_PREFIXES = (">=", "<=", ">", "<", "=", "^", "~")
# Rules are not tags, so build metadata takes the usual '+' (and is ignored); MINOR and PATCH may be left out.
_PARTIAL_VERSION_RE = re.compile(
    rf"[vV]?({NUMBER})(?:\.({NUMBER})(?:\.({NUMBER})(?:-({PRERELEASE}))?(?:\+{BUILD})?)?)?", re.ASCII
)
_OPERATOR_THEN_SPACE_RE = re.compile(r"(>=|<=|[<>=^~])\s+(?=[0-9vV])")
_VERSION_HINT = "write MAJOR[.MINOR[.PATCH]], e.g. 1.4 or 1.4.2"

Operator = Literal[">=", ">", "<", "<=", "="]
_TESTS: dict[Operator, Callable[[PrecedenceKey, PrecedenceKey], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
}


@dataclass(frozen=True, slots=True)
class Comparator:
    """One bound such as `>=1.2.0`, compared by semver precedence."""

    operator: Operator
    version: Version

    def admits(self, version: Version) -> bool:
        return _TESTS[self.operator](version.key, self.version.key)

    def __str__(self) -> str:
        return f"{self.operator}{self.version}"


@dataclass(frozen=True, slots=True)
class ComparatorSet:
    """Comparators that must all hold. A pre-release passes only if a comparator names its release with a
    pre-release too (npm): `>=2.0.0-rc.0` admits `2.0.0-rc.1`, `>=1.0.0 <3.0.0` does not."""

    comparators: tuple[Comparator, ...]
    prerelease_releases: frozenset[tuple[int, int, int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        releases = frozenset(c.version.release for c in self.comparators if c.version.prerelease)
        object.__setattr__(self, "prerelease_releases", releases)

    def admits(self, version: Version) -> bool:
        if version.prerelease and version.release not in self.prerelease_releases:
            return False
        return all(comparator.admits(version) for comparator in self.comparators)


@dataclass(frozen=True, slots=True)
class VersionRange:
    """A tag rule such as `^1.4` or `>=1.2 <2 || ~3.1`: it matches tags that spell a version in range."""

    text: str
    alternatives: tuple[ComparatorSet, ...]

    def matches(self, tag: str) -> bool:
        return self.matches_tag(tag, parse_tag_version(tag))

    def matches_tag(self, tag: str, version: Version | None) -> bool:
        """Like `matches`, with the tag's version already parsed (None when the tag is not a version)."""
        return version is not None and any(alternative.admits(version) for alternative in self.alternatives)


def parse_version_range(text: str) -> VersionRange:
    """Parse a range rule; raises InvalidRule with a message a vendor can act on."""
    alternatives = []
    for alternative in text.split("||"):
        tokens = _OPERATOR_THEN_SPACE_RE.sub(r"\1", alternative).split()
        if not tokens:
            raise _invalid(text, "there is nothing on one side of '||'" if "||" in text else "it is empty")
        comparators = tuple(comparator for token in tokens for comparator in _parse_comparator(text, token))
        if _contradicts_itself(comparators):
            raise InvalidRule(f"'{text}' can never match: no version is {' and '.join(map(str, comparators))}")
        alternatives.append(ComparatorSet(comparators))
    return VersionRange(text, tuple(alternatives))


def _invalid(text: str, why: str) -> InvalidRule:
    return InvalidRule(f"'{text}' is not a valid version range: {why}")


def _parse_comparator(text: str, token: str) -> list[Comparator]:
    prefix = next((prefix for prefix in COMPARATOR_PREFIXES if token.startswith(prefix)), None)
    if prefix is None:
        raise _invalid(text, f"'{token}' must start with a comparator (>=, <=, >, <, =, ^ or ~)")
    rest = token[len(prefix) :]
    if not rest:
        raise _invalid(text, f"'{prefix}' needs a version after it")
    match = _PARTIAL_VERSION_RE.fullmatch(rest)
    if match is None:
        raise _invalid(text, f"'{rest}' is not a version; {_VERSION_HINT}")
    numbers = tuple(int(group) for group in match.groups()[:3] if group is not None)
    prerelease = tuple(match[4].split(".")) if match[4] else ()
    return _expand(prefix, numbers, prerelease)


def _expand(prefix: str, numbers: tuple[int, ...], prerelease: tuple[str, ...]) -> list[Comparator]:
    """Turn caret, tilde and partial versions into plain bounds, as npm does (`<=1.2` means `<1.3.0`)."""
    padded = (*numbers, 0, 0)
    lowest = Version(padded[0], padded[1], padded[2], prerelease)
    if prefix == "^":
        first_nonzero = next((index for index, number in enumerate(numbers) if number), len(numbers) - 1)
        return [Comparator(">=", lowest), Comparator("<", _next_after(numbers[: first_nonzero + 1]))]
    if prefix == "~":
        return [Comparator(">=", lowest), Comparator("<", _next_after(numbers[:2]))]
    if len(numbers) == 3:
        return [Comparator(cast(Operator, prefix), lowest)]
    following = _next_after(numbers)
    partial: dict[str, list[Comparator]] = {
        ">=": [Comparator(">=", lowest)],
        ">": [Comparator(">=", following)],
        "<": [Comparator("<", lowest)],
        "<=": [Comparator("<", following)],
        "=": [Comparator(">=", lowest), Comparator("<", following)],
    }
    return partial[prefix]


def _next_after(numbers: tuple[int, ...]) -> Version:
    """The first version past every version starting with `numbers`: (1,) -> 2.0.0, (1, 2) -> 1.3.0."""
    bumped = (*numbers[:-1], numbers[-1] + 1, 0, 0)
    return Version(bumped[0], bumped[1], bumped[2])


def _contradicts_itself(comparators: tuple[Comparator, ...]) -> bool:
    """True when the lower bounds pass the upper bounds, as in `>=2.0.0 <1.0.0`."""
    lowers = [c for c in comparators if c.operator in (">=", ">", "=")]
    uppers = [c for c in comparators if c.operator in ("<", "<=", "=")]
    for low in lowers:
        for high in uppers:
            both_inclusive = low.operator in (">=", "=") and high.operator in ("<=", "=")
            if low.version.key > high.version.key or (low.version.key == high.version.key and not both_inclusive):
                return True
    return False
