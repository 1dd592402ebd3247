"""Licensing domain: pure rules and decisions (stdlib + cryptography only)."""

from licensing.adoption import newer_releases, newest_release, releases
from licensing.decisions import (
    DEFAULT_WARN_DAYS,
    Allowed,
    Decision,
    Denied,
    allowed_tags,
    decide,
    decide_reachable,
    expiry_warning,
    lapse_reason,
    repository_visible,
    tag_rules_in_force,
    tags_matching,
)
from licensing.errors import InvalidLicense, InvalidRule
from licensing.globs import TagGlob, parse_tag_glob
from licensing.grants import Grant, TagRule, parse_grant, parse_tag_rule
from licensing.licenses import License, LicenseState, LicenseStatus
from licensing.ranges import VersionRange, parse_version_range
from licensing.repositories import RepositoryPattern, parse_repository_pattern
from licensing.versions import Version, parse_tag_version

__all__ = [
    "DEFAULT_WARN_DAYS",
    "Allowed",
    "Decision",
    "Denied",
    "Grant",
    "InvalidLicense",
    "InvalidRule",
    "License",
    "LicenseState",
    "LicenseStatus",
    "RepositoryPattern",
    "TagGlob",
    "TagRule",
    "Version",
    "VersionRange",
    "allowed_tags",
    "decide",
    "decide_reachable",
    "expiry_warning",
    "lapse_reason",
    "newer_releases",
    "newest_release",
    "parse_grant",
    "parse_repository_pattern",
    "parse_tag_glob",
    "parse_tag_rule",
    "parse_tag_version",
    "parse_version_range",
    "releases",
    "repository_visible",
    "tag_rules_in_force",
    "tags_matching",
]
