"""Tag versions: what counts as a semantic version, and semver precedence."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing import Version, parse_tag_version


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("1.2.3", Version(1, 2, 3)),
        ("0.0.0", Version(0, 0, 0)),
        ("10.20.30", Version(10, 20, 30)),
        ("v1.2.3", Version(1, 2, 3)),
        ("V1.2.3", Version(1, 2, 3)),
        ("1.2.3-rc.1", Version(1, 2, 3, ("rc", "1"))),
        ("1.2.3-0", Version(1, 2, 3, ("0",))),
        ("1.2.3-alpha-1", Version(1, 2, 3, ("alpha-1",))),
        ("1.2.3-0a.x-y", Version(1, 2, 3, ("0a", "x-y"))),
        ("1.2.3--", Version(1, 2, 3, ("-",))),
        ("1.2.3+build.5", Version(1, 2, 3, (), ("build", "5"))),
        ("1.2.3_build.5", Version(1, 2, 3, (), ("build", "5"))),  # Helm's spelling of + in OCI tags
        ("1.2.3-rc.1_b.2", Version(1, 2, 3, ("rc", "1"), ("b", "2"))),
        ("1.2.3_001", Version(1, 2, 3, (), ("001",))),  # build identifiers may have leading zeros
        ("99999999999999999999.0.0", Version(99999999999999999999, 0, 0)),
    ],
)
def test_tags_that_are_versions(tag, version):
    parsed = parse_tag_version(tag)
    assert parsed == version
    assert parsed is not None and parsed.build == version.build


@pytest.mark.parametrize(
    "tag",
    [
        "latest",
        "main",
        "",
        "1",
        "1.2",
        "1.2.3.4",
        "01.2.3",
        "1.02.3",
        "1.2.03",
        "1.2.3-01",
        "1.2.3-",
        "1.2.3-rc..1",
        "1.2.3+",
        "1.2.3_",
        "1.2.3+a+b",
        "v",
        "vv1.2.3",
        "x1.2.3",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3-rc_1_2",
        "\u0661.\u0662.\u0663",  # Arabic-Indic digits are not ASCII digits
        "1.2.3-" + "a" * 200,
    ],
)
def test_tags_that_are_not_versions(tag):
    assert parse_tag_version(tag) is None


SEMVER_SPEC_ORDER = [
    "1.0.0-0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1-0",
    "1.0.1",
    "1.1.0",
    "1.10.0",
    "2.0.0",
    "10.0.0",
]


def test_precedence_follows_the_semver_spec():
    versions = [parse_tag_version(tag) for tag in SEMVER_SPEC_ORDER]
    for lower, higher in itertools.pairwise(versions):
        assert lower is not None and higher is not None
        assert lower < higher and higher > lower and lower <= higher and higher >= lower and lower != higher


def test_build_metadata_is_ignored_for_equality_and_order():
    a, b = parse_tag_version("1.0.0+a"), parse_tag_version("1.0.0_b")
    assert a == b and hash(a) == hash(b) and a <= b and b <= a and not a < b


def test_str_writes_the_canonical_form():
    assert str(parse_tag_version("v1.2.3-rc.1_b.7")) == "1.2.3-rc.1+b.7"


numbers = st.integers(min_value=0, max_value=10**6)
identifiers = st.one_of(
    st.integers(min_value=0, max_value=50).map(str),
    st.from_regex(r"[0-9]*[A-Za-z-][0-9A-Za-z-]{0,4}", fullmatch=True),
)
versions = st.builds(Version, numbers, numbers, numbers, st.lists(identifiers, max_size=3).map(tuple))
releases = st.builds(Version, numbers, numbers, numbers)


@given(releases, releases)
def test_release_order_is_tuple_order(a, b):
    assert (a < b) == (a.release < b.release)
    assert (a == b) == (a.release == b.release)


@given(versions, versions)
def test_exactly_one_of_less_equal_greater(a, b):
    assert [a < b, a == b, a > b].count(True) == 1
    assert (a <= b) == (a < b or a == b)


@given(versions, versions, versions)
def test_order_is_transitive(a, b, c):
    if a <= b and b <= c:
        assert a <= c


@given(versions)
def test_a_prerelease_sorts_below_its_release(version):
    release = Version(*version.release)
    assert version <= release
    assert (version < release) == bool(version.prerelease)


@given(versions)
def test_parse_round_trips_the_canonical_form(version):
    assert parse_tag_version(str(version)) == version
    assert parse_tag_version("v" + str(version)) == version
