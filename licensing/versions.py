"""Semantic versions as tags carry them: strict MAJOR.MINOR.PATCH with optional pre-release and build."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

NUMBER = r"0|[1-9][0-9]*"
_IDENTIFIER = rf"(?:{NUMBER}|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
PRERELEASE = rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*"
BUILD = r"[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*"
# OCI tags cannot hold '+', so Helm writes chart version 1.2.3+build as tag 1.2.3_build: accept both.
_TAG_VERSION_RE = re.compile(
    rf"[vV]?({NUMBER})\.({NUMBER})\.({NUMBER})(?:-({PRERELEASE}))?(?:[+_]({BUILD}))?", re.ASCII
)
MAX_TAG_LENGTH = 128

IdentifierKey = tuple[int, int, str]
PrecedenceKey = tuple[int, int, int, int, tuple[IdentifierKey, ...]]


def _identifier_key(identifier: str) -> IdentifierKey:
    # Numeric identifiers sort numerically and below alphanumeric ones, which sort in ASCII order.
    return (0, int(identifier), "") if identifier.isascii() and identifier.isdigit() else (1, 0, identifier)


@dataclass(frozen=True, slots=True)
class Version:
    """A semantic version; equality and ordering follow semver precedence, so build metadata is ignored."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)
    key: PrecedenceKey = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        identifiers = tuple(_identifier_key(identifier) for identifier in self.prerelease)
        # A release sorts above every pre-release of the same MAJOR.MINOR.PATCH.
        key = (self.major, self.minor, self.patch, 0 if self.prerelease else 1, identifiers)
        object.__setattr__(self, "key", key)

    @property
    def release(self) -> tuple[int, int, int]:
        """MAJOR.MINOR.PATCH as a tuple, without pre-release or build."""
        return (self.major, self.minor, self.patch)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


def parse_tag_version(tag: str) -> Version | None:
    """The version a tag spells (`1.2.3`, `v1.2.3-rc.1`, `1.2.3_build.7`), or None for any other tag."""
    match = _TAG_VERSION_RE.fullmatch(tag) if len(tag) <= MAX_TAG_LENGTH else None
    if match is None:
        return None
    major, minor, patch, prerelease, build = match.groups()
    return Version(
        int(major),
        int(minor),
        int(patch),
        tuple(prerelease.split(".")) if prerelease else (),
        tuple(build.split(".")) if build else (),
    )
