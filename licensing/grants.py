"""Grants: a repository pattern and the tag rules that open tags of the repositories it matches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from licensing.errors import InvalidRule
from licensing.globs import TagGlob, parse_tag_glob
from licensing.ranges import COMPARATOR_PREFIXES, VersionRange, parse_version_range
from licensing.repositories import RepositoryPattern, parse_repository_pattern
from licensing.versions import Version

MAX_RULE_LENGTH = 256
TagRule = VersionRange | TagGlob


def parse_tag_rule(text: str) -> TagRule:
    """A range when the rule starts with a comparator (>=, <=, >, <, =, ^, ~), else a glob over the whole tag.

    Surrounding whitespace is ignored; raises InvalidRule with a message fit for a form.
    """
    rule = text.strip()
    if not rule:
        raise InvalidRule("a tag rule cannot be empty")
    if len(rule) > MAX_RULE_LENGTH:
        raise InvalidRule(f"a tag rule can be at most {MAX_RULE_LENGTH} characters long")
    return parse_version_range(rule) if rule.startswith(COMPARATOR_PREFIXES) else parse_tag_glob(rule)


@dataclass(frozen=True, slots=True)
class Grant:
    """Access to the tags matching any of `tag_rules` in every repository `repository` matches; no rules, no tags."""

    repository: RepositoryPattern
    tag_rules: tuple[TagRule, ...]

    def covers_repository(self, repository: str) -> bool:
        return self.repository.matches(repository)

    def allows_tag(self, tag: str, version: Version | None) -> bool:
        """Whether a rule matches `tag`, whose version is parsed once by the caller (None: not a version)."""
        return any(rule.matches_tag(tag, version) for rule in self.tag_rules)


def parse_grant(repository: str, tag_rules: Iterable[str]) -> Grant:
    """Build a grant from the strings a vendor typed; raises InvalidRule on the first bad one."""
    return Grant(parse_repository_pattern(repository), tuple(parse_tag_rule(rule) for rule in tag_rules))
