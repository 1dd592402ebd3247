"""Tag rules: globs over the whole tag and npm-style version ranges, their matches and their errors."""

from __future__ import annotations

import fnmatch
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing import InvalidRule, TagGlob, Version, VersionRange, parse_tag_rule

GLOBS = [
    ("2.4.1", "2.4.1", True),
    ("2.4.1", "2.4.2", False),
    ("2.4.1", "v2.4.1", False),  # globs are literal: no v-prefix folding
    ("2.4.1", "2.4.1_b1", False),
    ("latest", "latest", True),
    ("latest", "Latest", False),  # tags are case-sensitive
    ("1.*", "1.2.3", True),
    ("1.*", "1.", True),
    ("1.*", "10.0", False),
    ("1.*", "v1.2", False),
    ("*-lts", "2.0-lts", True),
    ("*-lts", "-lts", True),
    ("*-lts", "lts", False),
    ("*-lts", "2.0-lts-1", False),
    ("*", "latest", True),
    ("*", "1.2.3-rc.1", True),
    ("**", "anything", True),
    ("?.0", "1.0", True),
    ("?.0", "10.0", False),
    ("1.2.?", "1.2.3", True),
    ("*.*.*", "1.2.3", True),
    ("*.*.*", "1.2", False),
    ("a.b", "aXb", False),  # '.' is a literal dot, never a regex wildcard
    ("v*-rc*", "v2-rc", True),
    ("v*-rc*", "v2.0-rc.1", True),
    ("v*-rc*", "v2.0-beta", False),
    ("*a*b*", "xxaxxbxx", True),
    ("*a*b*", "xxbxxaxx", False),
    ("*ab", "aab", True),
    ("a*a", "a", False),
    ("a*a", "aa", True),
]

RANGES = [
    # plain comparators
    (">=1.2.0", "1.2.0", True),
    (">=1.2.0", "1.1.9", False),
    (">=1.2.0", "10.0.0", True),
    (">1.2.0", "1.2.0", False),
    (">1.2.0", "1.2.1", True),
    ("<2.0.0", "1.99.99", True),
    ("<2.0.0", "2.0.0", False),
    ("<=2.0.0", "2.0.0", True),
    ("<=2.0.0", "2.0.1", False),
    ("=1.2.3", "1.2.3", True),
    ("=1.2.3", "1.2.4", False),
    (">=1.2.0 <2.0.0", "1.5.0", True),
    (">=1.2.0 <2.0.0", "2.0.0", False),
    (">=1.2.0 <2.0.0", "1.1.0", False),
    # partial versions follow npm's X-ranges
    (">=1.2", "1.2.0", True),
    (">=1.2", "1.1.9", False),
    (">=1", "1.0.0", True),
    (">1.2", "1.2.9", False),
    (">1.2", "1.3.0", True),
    (">1", "1.9.0", False),
    (">1", "2.0.0", True),
    ("<1.2", "1.1.9", True),
    ("<1.2", "1.2.0", False),
    ("<=1.2", "1.2.9", True),
    ("<=1.2", "1.3.0", False),
    ("=1.2", "1.2.0", True),
    ("=1.2", "1.2.7", True),
    ("=1.2", "1.3.0", False),
    ("=1", "1.9.9", True),
    ("=1", "2.0.0", False),
    # caret
    ("^1.4", "1.4.0", True),
    ("^1.4", "1.3.9", False),
    ("^1.4", "1.99.0", True),
    ("^1.4", "2.0.0", False),
    ("^1.4.2", "1.4.1", False),
    ("^1.4.2", "1.4.2", True),
    ("^1", "1.0.0", True),
    ("^1", "2.0.0", False),
    ("^0.3", "0.3.0", True),
    ("^0.3", "0.3.9", True),
    ("^0.3", "0.4.0", False),
    ("^0.3", "0.2.9", False),
    ("^0.3.1", "0.3.0", False),
    ("^0.0.3", "0.0.3", True),
    ("^0.0.3", "0.0.4", False),
    ("^0.0.3", "0.0.2", False),
    ("^0.0", "0.0.9", True),
    ("^0.0", "0.1.0", False),
    ("^0", "0.9.0", True),
    ("^0", "1.0.0", False),
    # tilde
    ("~2.3", "2.3.0", True),
    ("~2.3", "2.3.9", True),
    ("~2.3", "2.4.0", False),
    ("~2.3", "2.2.9", False),
    ("~2", "2.9.0", True),
    ("~2", "3.0.0", False),
    ("~2.3.4", "2.3.3", False),
    ("~2.3.4", "2.3.4", True),
    ("~2.3.4", "2.4.0", False),
    ("~0.2.3", "0.2.9", True),
    ("~0.2.3", "0.3.0", False),
    # alternatives
    ("^1.2 || ^2.0", "1.5.0", True),
    ("^1.2 || ^2.0", "2.5.0", True),
    ("^1.2 || ^2.0", "3.0.0", False),
    ("<1.0.0||>=3.0.0", "0.9.0", True),
    ("<1.0.0||>=3.0.0", "2.0.0", False),
    ("=1.0.0 || =1.0.2", "1.0.1", False),
    # spacing
    (">= 1.2.0", "1.2.0", True),
    (">=1.2.0   <2", "1.9.0", True),
    ("  ^1.4  ", "1.4.0", True),
    # a leading v or V, on the tag or in the rule
    (">=1.0.0", "v1.2.3", True),
    (">=1.0.0", "V1.2.3", True),
    (">=v1.0.0", "1.0.0", True),
    ("^v1", "v1.5.0", True),
    # tags that are not full semantic versions never match a range
    (">=1.0.0", "latest", False),
    (">=1.0.0", "main", False),
    (">=1.0.0", "1.2", False),
    (">=1.0.0", "1", False),
    (">=1.0.0", "01.2.3", False),
    (">=1.0.0", "1.2.3.4", False),
    (">=1.0.0", "vv1.2.3", False),
    (">=0.0.0", "sha256-abc", False),
    # pre-releases pass only when a comparator names the same release with a pre-release
    (">=1.0.0 <3.0.0", "2.0.0-rc.1", False),
    ("<2.0.0", "2.0.0-rc.1", False),
    ("^1", "2.0.0-rc.1", False),
    ("^1", "1.5.0-rc.1", False),
    (">=2.0.0-rc.0", "2.0.0-rc.1", True),
    (">=2.0.0-rc.0", "2.0.0", True),
    (">=2.0.0-rc.0", "3.0.0", True),
    (">=2.0.0-rc.0", "2.0.1-rc.1", False),
    (">=2.0.0-rc.2", "2.0.0-rc.1", False),
    ("^1.2.3-beta.2", "1.2.3-beta.3", True),
    ("^1.2.3-beta.2", "1.2.3-beta.1", False),
    ("^1.2.3-beta.2", "1.2.4-beta.1", False),
    ("^1.2.3-beta.2", "1.2.4", True),
    ("=1.0.0-rc.1", "1.0.0-rc.1", True),
    ("=1.0.0-rc.1", "1.0.0", False),
    (">=1.0.0-rc.1 <1.0.0", "1.0.0-rc.5", True),
    ("^1.2.3-beta.2 || ^2.0.0-rc.1", "2.0.0-rc.2", True),
    ("^1.2.3-beta.2 || ^2.0.0-rc.1", "1.2.3-rc.1", True),
    ("^1.2.3-beta.2 || ^2.0.0-rc.1", "1.3.0-rc.1", False),
    # pre-release precedence: numeric < alphanumeric, numbers numerically, longer sets higher
    (">=1.0.0-alpha", "1.0.0-alpha.1", True),
    (">=1.0.0-alpha.1", "1.0.0-alpha.beta", True),
    (">=1.0.0-alpha", "1.0.0-0", False),
    (">=1.0.0-beta.11", "1.0.0-beta.2", False),
    (">=1.0.0-beta.2", "1.0.0-beta.11", True),
    (">1.0.0-alpha.1", "1.0.0-alpha.1.0", True),
    ("<1.0.0-rc.1 >=1.0.0-0", "1.0.0-beta", True),
    # build metadata never counts
    ("=1.2.3", "1.2.3_build.5", True),
    ("=1.2.3", "1.2.3+build.5", True),
    (">1.2.3", "1.2.3_build.9", False),
    ("<=1.2.3", "1.2.3_exp.sha.5114f85", True),
    ("=1.2.3+abc", "1.2.3", True),
    ("=1.2.3-rc.1", "1.2.3-rc.1_b1", True),
]


@pytest.mark.parametrize(("rule", "tag", "expected"), GLOBS)
def test_glob_rules(rule, tag, expected):
    parsed = parse_tag_rule(rule)
    assert isinstance(parsed, TagGlob)
    assert parsed.matches(tag) is expected


@pytest.mark.parametrize(("rule", "tag", "expected"), RANGES)
def test_range_rules(rule, tag, expected):
    parsed = parse_tag_rule(rule)
    assert isinstance(parsed, VersionRange)
    assert parsed.matches(tag) is expected


def test_rules_keep_their_text_without_surrounding_space():
    assert parse_tag_rule("  ^1.4 ").text == "^1.4"
    assert parse_tag_rule("1.*").text == "1.*"


NOT_A_VERSION = "is not a version; write MAJOR[.MINOR[.PATCH]], e.g. 1.4 or 1.4.2"
NEEDS_COMPARATOR = "must start with a comparator (>=, <=, >, <, =, ^ or ~)"
BAD_TAG_PATTERN = (
    "is not a valid tag pattern: use at most 128 letters, digits, '_', '.', '-' and the wildcards '*' and '?' "
    "(or start with >=, <=, >, <, =, ^ or ~ for a version range)"
)

INVALID = [
    ("", "a tag rule cannot be empty"),
    ("   ", "a tag rule cannot be empty"),
    (">=abc", f"'>=abc' is not a valid version range: 'abc' {NOT_A_VERSION}"),
    (">=1.x", f"'>=1.x' is not a valid version range: '1.x' {NOT_A_VERSION}"),
    (">=1.*", f"'>=1.*' is not a valid version range: '1.*' {NOT_A_VERSION}"),
    (">=1.2.3.4", f"'>=1.2.3.4' is not a valid version range: '1.2.3.4' {NOT_A_VERSION}"),
    (">=01.2", f"'>=01.2' is not a valid version range: '01.2' {NOT_A_VERSION}"),
    (">=1.2-rc.1", f"'>=1.2-rc.1' is not a valid version range: '1.2-rc.1' {NOT_A_VERSION}"),
    ("^\u0661", f"'^\u0661' is not a valid version range: '\u0661' {NOT_A_VERSION}"),
    ("~>1.2", f"'~>1.2' is not a valid version range: '>1.2' {NOT_A_VERSION}"),
    (">==1", f"'>==1' is not a valid version range: '=1' {NOT_A_VERSION}"),
    (">= ", "'>=' is not a valid version range: '>=' needs a version after it"),
    ("^", "'^' is not a valid version range: '^' needs a version after it"),
    ("~", "'~' is not a valid version range: '~' needs a version after it"),
    (">= <2", "'>= <2' is not a valid version range: '>=' needs a version after it"),
    (">=1.0.0 1.5.0", f"'>=1.0.0 1.5.0' is not a valid version range: '1.5.0' {NEEDS_COMPARATOR}"),
    (">=1 | <2", f"'>=1 | <2' is not a valid version range: '|' {NEEDS_COMPARATOR}"),
    (">=1.0.0 || latest", f"'>=1.0.0 || latest' is not a valid version range: 'latest' {NEEDS_COMPARATOR}"),
    ("^1 ||", "'^1 ||' is not a valid version range: there is nothing on one side of '||'"),
    ("^1 || || ^2", "'^1 || || ^2' is not a valid version range: there is nothing on one side of '||'"),
    (">=2.0.0 <1.0.0", "'>=2.0.0 <1.0.0' can never match: no version is >=2.0.0 and <1.0.0"),
    (">1.0.0 <=1.0.0", "'>1.0.0 <=1.0.0' can never match: no version is >1.0.0 and <=1.0.0"),
    ("=1.0.0 =2.0.0", "'=1.0.0 =2.0.0' can never match: no version is =1.0.0 and =2.0.0"),
    (">=1.2.0 <1.2", "'>=1.2.0 <1.2' can never match: no version is >=1.2.0 and <1.2.0"),
    ("^1 <1", "'^1 <1' can never match: no version is >=1.0.0 and <2.0.0 and <1.0.0"),
    ("1 2", f"'1 2' {BAD_TAG_PATTERN}"),
    ("a/b", f"'a/b' {BAD_TAG_PATTERN}"),
    ("[abc]", f"'[abc]' {BAD_TAG_PATTERN}"),
    ("(.*)", f"'(.*)' {BAD_TAG_PATTERN}"),
    ("v1|v2", f"'v1|v2' {BAD_TAG_PATTERN}"),
    ("latest$", f"'latest$' {BAD_TAG_PATTERN}"),
    ("1.2+build", f"'1.2+build' {BAD_TAG_PATTERN}"),
    ("caf\u00e9", f"'caf\u00e9' {BAD_TAG_PATTERN}"),
    ("x" * 129, f"'{'x' * 129}' {BAD_TAG_PATTERN}"),
    ("-rc", "'-rc' can never match: tags start with a letter, a digit or '_'"),
    (".hidden", "'.hidden' can never match: tags start with a letter, a digit or '_'"),
    (">" + "1" * 300, "a tag rule can be at most 256 characters long"),
]


@pytest.mark.parametrize(("rule", "message"), INVALID)
def test_invalid_rules_say_why(rule, message):
    with pytest.raises(InvalidRule) as raised:
        parse_tag_rule(rule)
    assert raised.value.message == message
    assert str(raised.value) == message
    assert isinstance(raised.value, ValueError)


def test_globs_cannot_be_made_to_backtrack_for_ever():
    rule = parse_tag_rule("*a*a*a*a*a*a*a*a*a*a*a*a*b")
    started = time.perf_counter()
    assert not rule.matches("a" * 128)
    assert time.perf_counter() - started < 0.5


numbers = st.integers(min_value=0, max_value=1000)
identifiers = st.one_of(st.integers(0, 20).map(str), st.sampled_from(["alpha", "beta", "rc", "0a", "x-y"]))
prereleases = st.lists(identifiers, max_size=3).map(tuple)
versions = st.builds(Version, numbers, numbers, numbers, prereleases)
valid_tags = st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", fullmatch=True)


@given(versions)
def test_at_least_v_matches_v_and_below_v_does_not(version):
    assert parse_tag_rule(f">={version}").matches(str(version))
    assert parse_tag_rule(f"<={version}").matches(str(version))
    assert parse_tag_rule(f"={version}").matches(str(version))
    assert not parse_tag_rule(f"<{version}").matches(str(version))
    assert not parse_tag_rule(f">{version}").matches(str(version))


@given(st.integers(1, 1000), numbers, numbers, versions)
def test_caret_above_zero_is_up_to_the_next_major(major, minor, patch, candidate):
    caret = parse_tag_rule(f"^{major}.{minor}.{patch}")
    explicit = parse_tag_rule(f">={major}.{minor}.{patch} <{major + 1}.0.0")
    assert caret.matches(str(candidate)) == explicit.matches(str(candidate))


@given(numbers, numbers, numbers, versions)
def test_tilde_is_up_to_the_next_minor(major, minor, patch, candidate):
    tilde = parse_tag_rule(f"~{major}.{minor}.{patch}")
    explicit = parse_tag_rule(f">={major}.{minor}.{patch} <{major}.{minor + 1}.0")
    assert tilde.matches(str(candidate)) == explicit.matches(str(candidate))


@given(versions, versions)
def test_comparators_agree_with_version_order_for_releases_and_gate_prereleases(bound, candidate):
    rule = parse_tag_rule(f">={bound}")
    gate = not candidate.prerelease or (bool(bound.prerelease) and bound.release == candidate.release)
    assert rule.matches(str(candidate)) == (gate and candidate >= bound)


@given(versions, versions)
def test_an_alternative_matches_when_either_side_does(a, b):
    either = parse_tag_rule(f"^{a} || ~{b}")
    for tag in (str(a), str(b)):
        assert either.matches(tag) == (parse_tag_rule(f"^{a}").matches(tag) or parse_tag_rule(f"~{b}").matches(tag))


@given(valid_tags)
def test_star_matches_every_valid_tag(tag):
    assert parse_tag_rule("*").matches(tag)


@given(valid_tags.filter(lambda tag: tag[0] not in "<>=^~"), valid_tags)
def test_a_literal_glob_matches_only_itself(literal, other):
    rule = parse_tag_rule(literal)
    assert rule.matches(literal)
    assert rule.matches(other) == (other == literal)


@given(st.text("ab*?", min_size=1, max_size=8), st.text("ab", max_size=10))
def test_globs_agree_with_fnmatch(pattern, tag):
    assert parse_tag_rule(pattern).matches(tag) == fnmatch.fnmatchcase(tag, pattern)
