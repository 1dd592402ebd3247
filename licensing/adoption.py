"""Which version is newest, and how far behind a customer is: the one definition of "outdated".

"Newer" is semver precedence among the tags the customer may pull. Tags that are not versions (`latest`,
`stable`, `sha256-….sig`) and pre-releases (`2.0.0-rc.1`) are ignored: a release candidate does not make
anyone outdated.
"""

from __future__ import annotations

from collections.abc import Iterable

from licensing.versions import Version, parse_tag_version


def _releases(tags: Iterable[str]) -> list[tuple[Version, str]]:
    found = ((parse_tag_version(tag), tag) for tag in tags)
    return [(version, tag) for version, tag in found if version is not None and not version.prerelease]


def newest_release(tags: Iterable[str]) -> str | None:
    """The tag of the highest release among `tags`; None when none is a release version."""
    releases = _releases(tags)
    return max(releases, key=lambda pair: pair[0].key)[1] if releases else None


def releases(tags: Iterable[str]) -> list[str]:
    """The release tags among `tags`, newest first (other tags and pre-releases left out)."""
    return [tag for _version, tag in sorted(_releases(tags), key=lambda pair: pair[0].key, reverse=True)]


def newer_releases(current: str, tags: Iterable[str]) -> list[str]:
    """The releases among `tags` newer than `current`, newest first; empty when `current` is not a version
    (nothing can be said to be newer than `latest`)."""
    base = parse_tag_version(current)
    if base is None:
        return []
    newer = [pair for pair in _releases(tags) if pair[0] > base]
    return [tag for _version, tag in sorted(newer, key=lambda pair: pair[0].key, reverse=True)]
