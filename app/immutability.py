"""Immutability rules: which tags of a repository may not move to other content once pushed.

Off until a vendor turns it on, for all its repositories (Settings) or per repository. cosign's
signature tags (`sha256-<hex>.sig`) are never held: the registry does not ask about them.
"""

from __future__ import annotations

import licensing

SEMVER = "semver"
OFF = "off"
RULES = {SEMVER: "full semver tags are immutable"}  # the rules offered, in the words denials use
DEFAULT = "default"  # a repository following its vendor's rule


def holds(rule: str | None, tag: str) -> bool:
    """Whether `rule` keeps `tag` from moving."""
    return rule == SEMVER and licensing.parse_tag_version(tag) is not None


def effective(repository_rule: str | None, vendor_rule: str | None) -> str | None:
    """The rule in force for a repository: its own, else the vendor's default; None when off."""
    rule = vendor_rule if repository_rule is None else repository_rule
    return rule if rule in RULES else None
