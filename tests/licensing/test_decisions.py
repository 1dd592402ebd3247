"""Pull decisions over the union of a customer's licenses: allowed or denied with a reason, and warnings."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from licensing import (
    Allowed,
    Denied,
    allowed_tags,
    decide,
    decide_reachable,
    repository_visible,
    tag_rules_in_force,
    tags_matching,
)
from tests.licensing.factories import NOW, days, make_license

APP_1X = (("acme/app", ("^1",)),)
APP_2X = (("acme/app", ("^2",)),)
EXPIRED = {"valid_until": datetime(2026, 8, 1, tzinfo=NOW.tzinfo)}
SUSPENDED = {"status": "suspended"}
NOT_YET = {"valid_from": datetime(2027, 1, 1, tzinfo=NOW.tzinfo)}


def test_no_license_no_access():
    result = decide([], "acme/app", "1.0.0", NOW)
    assert result == Denied("no license covers repository acme/app", repository_licensed=False, code="no_license")
    assert not result


def test_a_covering_license_allows():
    result = decide([make_license()], "acme/app", "1.0.0", NOW)
    assert result == Allowed("lic-acme-prod", "Acme Prod", None)
    assert result


def test_a_grant_without_tag_rules_opens_no_tag():
    license = make_license(grants=[("acme/app", [])])
    assert decide([license], "acme/app", "1.0.0", NOW) == Denied(
        "tag 1.0.0 is not covered by license 'Acme Prod'", repository_licensed=True, code="not_covered"
    )
    assert allowed_tags([license], "acme/app", ["1.0.0", "latest"], NOW) == []


def test_any_grant_of_a_license_may_allow():
    license = make_license(grants=[("acme/app", ["^1"]), ("acme/*", ["latest"]), ("other/app", ["*"])])
    assert decide([license], "acme/app", "1.2.0", NOW)
    assert decide([license], "acme/app", "latest", NOW)
    assert not decide([license], "acme/app", "2.0.0", NOW)


@pytest.mark.parametrize(
    ("fields", "reason", "code"),
    [
        (EXPIRED, "license 'Acme Prod' expired on 2026-08-01", "expired"),
        ({**EXPIRED, "grace_days": 10}, "license 'Acme Prod' expired on 2026-08-01", "expired"),  # not the grace end
        (SUSPENDED, "license 'Acme Prod' is suspended", "suspended"),
        (NOT_YET, "license 'Acme Prod' is not valid before 2027-01-01", "not_yet_valid"),
    ],
)
def test_a_lapsed_license_says_why(fields, reason, code):
    result = decide([make_license(**fields)], "acme/app", "1.0.0", NOW)
    assert result == Denied(reason, repository_licensed=True, code=code)


def test_a_tag_outside_the_rules_is_named():
    result = decide([make_license(grants=APP_1X)], "acme/app", "3.0.0", NOW)
    assert result == Denied(
        "tag 3.0.0 is not covered by license 'Acme Prod'", repository_licensed=True, code="not_covered"
    )


def test_a_repository_outside_the_grants_looks_unknown():
    result = decide([make_license(grants=APP_1X)], "acme/db", "1.0.0", NOW)
    assert result == Denied("no license covers repository acme/db", repository_licensed=False, code="no_license")


def test_access_is_the_union_of_licenses():
    licenses = [make_license("One", APP_1X), make_license("Two", APP_2X), make_license("Db", [("acme/db", ["*"])])]
    assert decide(licenses, "acme/app", "1.5.0", NOW) == Allowed("lic-one", "One")
    assert decide(licenses, "acme/app", "2.5.0", NOW) == Allowed("lic-two", "Two")
    assert decide(licenses, "acme/db", "latest", NOW) == Allowed("lic-db", "Db")
    assert decide(licenses, "acme/app", "3.0.0", NOW) == Denied(
        "tag 3.0.0 is not covered by licenses 'One' and 'Two'", repository_licensed=True, code="not_covered"
    )
    three = [*licenses, make_license("Three", [("acme/**", ["^0"])])]
    assert decide(three, "acme/app", "3.0.0", NOW).reason == (  # type: ignore[union-attr]
        "tag 3.0.0 is not covered by licenses 'One', 'Two' and 'Three'"
    )


def test_a_lapsed_license_does_not_count_but_another_may():
    licenses = [make_license("Old", APP_1X, **EXPIRED), make_license("New", APP_1X)]
    assert decide(licenses, "acme/app", "1.0.0", NOW) == Allowed("lic-new", "New")


def test_reason_prefers_a_license_naming_the_repository():
    licenses = [make_license("Db", [("acme/db", ["*"])]), make_license("App", APP_1X, **EXPIRED)]
    assert decide(licenses, "acme/app", "1.0.0", NOW) == Denied(
        "license 'App' expired on 2026-08-01", repository_licensed=True, code="expired"
    )


def test_reason_prefers_a_lapsed_license_that_would_cover_the_tag():
    licenses = [make_license("Current", APP_1X), make_license("Old", [("acme/app", ["*"])], **EXPIRED)]
    assert decide(licenses, "acme/app", "2.0.0", NOW).reason == "license 'Old' expired on 2026-08-01"  # type: ignore[union-attr]


def test_reason_prefers_the_tag_when_lapsed_licenses_would_not_cover_it_either():
    licenses = [make_license("Old", APP_2X, **SUSPENDED), make_license("Current", APP_1X)]
    assert decide(licenses, "acme/app", "3.0.0", NOW).reason == "tag 3.0.0 is not covered by license 'Current'"  # type: ignore[union-attr]


def test_a_lapsed_license_that_does_not_cover_the_tag_still_explains():
    result = decide([make_license("Old", APP_1X, **SUSPENDED)], "acme/app", "3.0.0", NOW)
    assert result == Denied("license 'Old' is suspended", repository_licensed=True, code="suspended")


def test_reasons_never_name_licenses_for_other_repositories():
    licenses = [make_license("Secret Deal", [("acme/db", ["*"])], **EXPIRED), make_license("Public", APP_1X)]
    for tag in ("1.0.0", "9.0.0"):
        assert "Secret" not in repr(decide(licenses, "acme/app", tag, NOW))
    assert "Secret" not in repr(decide(licenses, "acme/other", "1.0.0", NOW))


@pytest.mark.parametrize("order", [1, -1])
def test_the_license_ending_last_answers(order):
    soon = make_license("Soon", valid_until=NOW + days(5))
    later = make_license("Later", valid_until=NOW + days(365))
    forever = make_license("Forever")
    assert decide([soon, later][::order], "acme/app", "1.0.0", NOW) == Allowed("lic-later", "Later")
    assert decide([soon, forever, later][::order], "acme/app", "1.0.0", NOW) == Allowed("lic-forever", "Forever")


@pytest.mark.parametrize(
    ("valid_until", "grace_days", "warn_days", "warning"),
    [
        (NOW + days(30), 0, 14, None),
        (NOW + days(15), 0, 14, None),
        (NOW + days(14), 0, 14, "license 'Acme Prod' expires on 2026-09-15"),
        (NOW + days(1), 0, 14, "license 'Acme Prod' expires on 2026-09-02"),
        (NOW + days(20), 0, 30, "license 'Acme Prod' expires on 2026-09-21"),
        (NOW + days(1), 0, 0, None),
        (NOW - days(2), 7, 14, "license 'Acme Prod' expired on 2026-08-30; access ends on 2026-09-06"),
        (NOW, 1, 0, "license 'Acme Prod' expired on 2026-09-01; access ends on 2026-09-02"),
    ],
)
def test_warning_near_the_end_and_in_grace(valid_until, grace_days, warn_days, warning):
    license = make_license(valid_until=valid_until, grace_days=grace_days)
    assert decide([license], "acme/app", "1.0.0", NOW, warn_days=warn_days) == Allowed(
        "lic-acme-prod", "Acme Prod", warning
    )


def test_an_open_ended_license_never_warns():
    assert decide([make_license()], "acme/app", "1.0.0", NOW).warning is None  # type: ignore[union-attr]


def test_now_must_be_timezone_aware():
    for call in (
        lambda: decide([make_license()], "acme/app", "1.0.0", datetime(2026, 9, 1)),
        lambda: repository_visible([make_license()], "acme/app", datetime(2026, 9, 1)),
        lambda: allowed_tags([make_license()], "acme/app", ["1.0.0"], datetime(2026, 9, 1)),
    ):
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


def test_repository_visible_needs_a_license_in_force():
    app = make_license("App", APP_1X)
    assert repository_visible([app], "acme/app", NOW)
    assert not repository_visible([app], "acme/db", NOW)
    assert not repository_visible([], "acme/app", NOW)
    for lapsed in (EXPIRED, SUSPENDED, NOT_YET):
        assert not repository_visible([make_license("App", APP_1X, **lapsed)], "acme/app", NOW)
    assert repository_visible([make_license("Db", [("acme/db", ["*"])]), app], "acme/app", NOW)
    assert repository_visible([make_license("Empty", [("acme/app", [])])], "acme/app", NOW)


def test_allowed_tags_filters_in_order_over_the_union():
    licenses = [
        make_license("One", [("acme/app", ["^1", "latest"])]),
        make_license("Two", [("acme/*", ["*-lts"])]),
        make_license("Old", [("acme/app", ["*"])], **EXPIRED),
    ]
    tags = ["latest", "0.9.0", "1.0.0", "v1.2.0", "1.3.0-rc.1", "2.0.0", "2.0-lts", "main", "1.0.0", "1.2"]
    assert allowed_tags(licenses, "acme/app", tags, NOW) == ["latest", "1.0.0", "v1.2.0", "2.0-lts", "1.0.0"]
    assert allowed_tags(licenses, "acme/db", tags, NOW) == ["2.0-lts"]
    assert allowed_tags(licenses, "other/app", tags, NOW) == []
    assert allowed_tags([], "acme/app", tags, NOW) == []


POOL_RULES = ["^1", "~2.3", ">=1.0.0-rc.0 <1.0.0", "latest", "*-lts", "1.*", "=3.0.0 || >=4", "v?.0.0"]
POOL_TAGS = ["1.0.0", "1.0.0-rc.1", "v1.5.2", "2.3.9", "2.4.0", "3.0.0", "4.1.0", "latest", "1.2", "9-lts", "v2.0.0"]
POOL_REPOSITORIES = ["acme/app", "acme/db", "acme/x/app", "other/app"]
POOL_PATTERNS = ["acme/app", "acme/*", "acme/**", "**/app", "other/*"]
POOL_STATES = [{}, EXPIRED, SUSPENDED, NOT_YET, {"valid_until": NOW + days(3)}]

grants = st.tuples(st.sampled_from(POOL_PATTERNS), st.lists(st.sampled_from(POOL_RULES), max_size=3))
licenses = st.lists(
    st.builds(
        lambda index, grant_list, state: make_license(f"L{index}", grant_list, **state),
        st.integers(0, 9),
        st.lists(grants, max_size=3),
        st.sampled_from(POOL_STATES),
    ),
    max_size=4,
)


@given(licenses, st.sampled_from(POOL_REPOSITORIES), st.lists(st.sampled_from(POOL_TAGS), max_size=6))
def test_allowed_tags_and_visibility_agree_with_decide(licenses, repository, tags):
    assert allowed_tags(licenses, repository, tags, NOW) == [t for t in tags if decide(licenses, repository, t, NOW)]
    visible = repository_visible(licenses, repository, NOW)
    for tag in tags:
        result = decide(licenses, repository, tag, NOW)
        if result:
            assert visible
        else:
            assert result.repository_licensed or not visible


@given(licenses, st.sampled_from(POOL_REPOSITORIES), st.sampled_from(POOL_TAGS))
def test_the_decision_does_not_depend_on_license_order_when_allowed(licenses, repository, tag):
    forward, backward = decide(licenses, repository, tag, NOW), decide(licenses[::-1], repository, tag, NOW)
    assert bool(forward) == bool(backward)
    if forward and backward:
        assert (forward.warning is None) == (backward.warning is None)


def test_content_asked_for_by_digest_is_denied_naming_the_digest_never_a_tag():
    """The tags reaching a digest are the registry's secret: a customer may not list an uncovered one."""
    licenses = [make_license("Current", APP_1X)]
    digest = "digest sha256:" + "a" * 64
    result = decide_reachable(licenses, "acme/app", ["2.1.0", "3.0.0"], NOW, asked=digest)
    assert result == Denied(
        f"{digest} is not covered by license 'Current'", repository_licensed=True, code="not_covered"
    )
    untagged = decide_reachable(licenses, "acme/app", [], NOW, asked=digest)
    assert untagged == result  # a dangling digest answers exactly like one under an uncovered tag
    assert decide_reachable(licenses, "acme/app", ["3.0.0", "1.2.0"], NOW, asked=digest) == Allowed(
        "lic-current", "Current"
    )
    lapsed = [make_license("Old", APP_1X, **EXPIRED)]
    assert decide_reachable(lapsed, "acme/app", ["1.0.0"], NOW, asked=digest).reason == (  # type: ignore[union-attr]
        "license 'Old' expired on 2026-08-01"
    )
    assert decide_reachable([], "acme/app", ["1.0.0"], NOW, asked=digest) == decide([], "acme/app", "1.0.0", NOW)


def test_the_rules_in_force_decide_the_same_tags_and_compare_as_values():
    licenses = [make_license(grants=(("acme/app", ("^1", "*-lts")),)), make_license(grants=(("acme/*", ("^1",)),))]
    tags = ["1.0.0", "2.0-lts", "2.0.0", "latest"]
    rules = tag_rules_in_force(licenses, "acme/app", NOW)
    assert len(rules) == 2  # `^1` twice is one rule
    assert tags_matching(rules, tags) == allowed_tags(licenses, "acme/app", tags, NOW) == ["1.0.0", "2.0-lts"]
    again = tag_rules_in_force([make_license(grants=(("acme/app", ("^1", "*-lts")),))], "acme/app", NOW)
    assert again == rules and hash(again) == hash(rules)  # a cache may key on them
    assert tag_rules_in_force([make_license(**EXPIRED)], "acme/app", NOW) == ()
