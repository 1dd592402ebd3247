"""The one definition of "newer": semver precedence among releases; other tags and pre-releases ignored."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from licensing import newer_releases, newest_release, releases


def test_newest_release_orders_by_semver_not_by_text():
    assert newest_release(["1.9.0", "1.10.0", "1.2.0"]) == "1.10.0"
    assert newest_release(["v2.0.0", "1.99.99"]) == "v2.0.0"


def test_pre_releases_and_other_tags_are_ignored():
    assert newest_release(["1.0.0", "2.0.0-rc.1", "latest", "sha256-abc.sig"]) == "1.0.0"
    assert newest_release(["latest", "stable"]) is None
    assert newest_release([]) is None


def test_newer_releases_are_listed_newest_first():
    tags = ["1.0.0", "1.1.0", "1.5.0", "1.5.1-beta", "2.0.0", "edge"]
    assert newer_releases("1.1.0", tags) == ["2.0.0", "1.5.0"]
    assert newer_releases("2.0.0", tags) == []
    assert newer_releases("latest", tags) == []  # nothing is newer than a tag that is not a version
    assert newer_releases("1.5.1-beta", tags) == ["2.0.0"]


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda v: f"{v[0]}.{v[1]}.{v[2]}")


@given(st.lists(versions, min_size=1, max_size=20))
def test_the_newest_has_nothing_newer(tags):
    newest = newest_release(tags)
    assert newest in tags and newer_releases(newest, tags) == []
    assert all(newest in newer_releases(tag, tags) for tag in tags if tag != newest)


def test_releases_are_listed_newest_first_without_other_tags():
    assert releases(["1.9.0", "latest", "1.10.0", "2.0.0-rc.1", "v1.2.0"]) == ["1.10.0", "1.9.0", "v1.2.0"]
