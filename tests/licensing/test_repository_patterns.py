"""Repository patterns: `*` and `?` inside one path component, `**` across components, whole-name matches."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing import InvalidRule, parse_repository_pattern

MATCHES = [
    ("acme/app", "acme/app", True),
    ("acme/app", "acme/app2", False),
    ("acme/app", "acme/app/x", False),
    ("acme/app", "acme", False),
    ("acme/*", "acme/app", True),
    ("acme/*", "acme/app/x", False),
    ("acme/*", "acme", False),
    ("acme/*", "acmex/app", False),
    ("acme/*", "acme/", False),
    ("*/app", "acme/app", True),
    ("acme/app-*", "acme/app-ui", True),
    ("acme/app-*", "acme/app", False),
    ("acme/?pp", "acme/app", True),
    ("acme/?pp", "acme/pp", False),
    ("acme/?pp", "acme/x/pp", False),
    ("acme/*/db", "acme/x/db", True),
    ("acme/*/db", "acme/x/y/db", False),
    ("acme/a.b", "acme/axb", False),  # '.' is literal
    ("acme/**", "acme/app", True),
    ("acme/**", "acme/a/b/c", True),
    ("acme/**", "acme", False),  # a trailing ** needs at least one component
    ("acme/**", "acmex/app", False),
    ("acme/**", "other/app", False),
    ("acme/**/app", "acme/app", True),  # a middle ** may span no component
    ("acme/**/app", "acme/x/y/app", True),
    ("acme/**/app", "acme/x/y/app2", False),
    ("acme/**/app", "acme/x/app/y", False),
    ("**/app", "app", True),
    ("**/app", "acme/app", True),
    ("**/app", "acme/x/app", True),
    ("**/app", "acme/x", False),
    ("**", "acme/app", True),
    ("**", "acme", True),
    ("acme/**/**", "acme/a", True),
    ("acme/**/**", "acme", False),
    ("acme/**/*-db/**", "acme/x/pg-db/v1", True),
    ("acme/**/*-db/**", "acme/pg-db", False),
    ("acme/**/*-db/**", "acme/pg-db/v1/x", True),
]


@pytest.mark.parametrize(("pattern", "repository", "expected"), MATCHES)
def test_repository_patterns(pattern, repository, expected):
    assert parse_repository_pattern(pattern).matches(repository) is expected


BAD = (
    "is not a valid repository pattern: use lowercase letters, digits, '.', '_', '-', "
    "'/' between non-empty path components, and the wildcards '*', '?' and '**'"
)
WHOLE = "is not a valid repository pattern: '**' must be a whole component, as in 'acme/**'"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", f"'' {BAD}"),
        ("Acme/app", f"'Acme/app' {BAD}"),
        ("acme//app", f"'acme//app' {BAD}"),
        ("/acme", f"'/acme' {BAD}"),
        ("acme/", f"'acme/' {BAD}"),
        ("acme/a b", f"'acme/a b' {BAD}"),
        ("acme/[ab]", f"'acme/[ab]' {BAD}"),
        ("acme/(.*)", f"'acme/(.*)' {BAD}"),
        ("a" * 256, f"'{'a' * 256}' {BAD}"),
        ("acme/a**", f"'acme/a**' {WHOLE}"),
        ("acme/***", f"'acme/***' {WHOLE}"),
        ("**x/app", f"'**x/app' {WHOLE}"),
    ],
)
def test_invalid_repository_patterns_say_why(pattern, message):
    with pytest.raises(InvalidRule) as raised:
        parse_repository_pattern(pattern)
    assert raised.value.message == message


def test_double_stars_cannot_be_made_to_backtrack_for_ever():
    pattern = parse_repository_pattern("/".join(["**"] * 20 + ["*a*a*a*a*a*a*a*b"]))
    started = time.perf_counter()
    assert not pattern.matches("/".join(["a" * 60] * 4))
    shortcut = parse_repository_pattern("a/**/?*/a*b")
    assert shortcut.regex is not None
    assert not shortcut.matches("a/" + "/".join(["a" * 20] * 11))
    assert time.perf_counter() - started < 0.5


def reference_regex(pattern: str) -> re.Pattern[str]:
    """An independent, backtracking translation of the documented semantics, fine for tiny inputs."""
    components = pattern.split("/")
    out = ""
    for index, component in enumerate(components):
        last = index == len(components) - 1
        if component == "**":
            out += r"[^/]+(?:/[^/]+)*" if last else r"(?:[^/]+/)*"
            continue
        out += "".join("[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) for c in component)
        out += "" if last else "/"
    return re.compile(out)


pattern_components = st.sampled_from(["a", "b", "*", "?", "**", "a*", "*b", "a?", "*a*", "a*b"])
name_components = st.sampled_from(["a", "b", "ab", "ba", "aa", "abb"])


@given(st.lists(pattern_components, min_size=1, max_size=4), st.lists(name_components, min_size=1, max_size=5))
def test_patterns_agree_with_a_reference_translation(components, parts):
    pattern, repository = "/".join(components), "/".join(parts)
    expected = reference_regex(pattern).fullmatch(repository) is not None
    assert parse_repository_pattern(pattern).matches(repository) == expected


@given(st.lists(pattern_components, min_size=1, max_size=4), st.lists(name_components, min_size=1, max_size=5))
def test_the_regex_shortcut_and_the_component_walk_agree(components, parts):
    pattern, repository = parse_repository_pattern("/".join(components)), "/".join(parts)
    walk = dataclasses.replace(pattern, regex=None)
    assert walk.matches(repository) == pattern.matches(repository)
    assert not walk.matches(repository + "/") and not pattern.matches(repository.replace("/", "//", 1) + "//")


@pytest.mark.parametrize(
    ("pattern", "uses_regex"),
    [("acme/*", True), ("acme/**", True), ("**/app-*", True), ("acme/**/**", False), ("acme/*a*", False)],
)
def test_only_patterns_that_cannot_backtrack_become_one_regex(pattern, uses_regex):
    assert (parse_repository_pattern(pattern).regex is not None) == uses_regex
