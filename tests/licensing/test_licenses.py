"""License validity: the window, grace days, suspension, and fields that cannot hold together."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from licensing import InvalidLicense, InvalidRule, parse_grant
from tests.licensing.factories import NOW, days, make_license

START = NOW - days(30)
END = NOW + days(30)


@pytest.mark.parametrize(
    ("fields", "now", "state"),
    [
        ({}, NOW, "in_force"),  # open at both ends
        ({"valid_from": START, "valid_until": END}, NOW, "in_force"),
        ({"valid_from": START}, START, "in_force"),  # valid_from is inclusive
        ({"valid_from": START}, START - timedelta(microseconds=1), "not_yet_valid"),
        ({"valid_until": END}, END - timedelta(microseconds=1), "in_force"),
        ({"valid_until": END}, END, "expired"),  # valid_until is exclusive without grace
        ({"valid_until": END, "grace_days": 3}, END, "in_force"),
        ({"valid_until": END, "grace_days": 3}, END + days(3) - timedelta(microseconds=1), "in_force"),
        ({"valid_until": END, "grace_days": 3}, END + days(3), "expired"),
        ({"status": "suspended"}, NOW, "suspended"),
        ({"status": "suspended", "valid_until": START}, NOW, "suspended"),  # suspension outranks the dates
        ({"valid_from": END, "valid_until": END + days(1)}, NOW, "not_yet_valid"),
    ],
)
def test_state(fields, now, state):
    license = make_license(**fields)
    assert license.state(now) == state
    assert license.in_force(now) == (state == "in_force")


def test_in_grace_only_between_the_end_and_the_end_of_grace():
    license = make_license(valid_until=END, grace_days=3)
    assert not license.in_grace(END - days(1))
    assert license.in_grace(END)
    assert license.in_grace(END + days(2))
    assert not license.in_grace(END + days(3))
    assert license.access_ends == END + days(3)


def test_suspended_license_is_not_in_grace():
    assert not make_license(valid_until=END, grace_days=3, status="suspended").in_grace(END + days(1))


def test_dates_in_other_timezones_compare_as_instants():
    tokyo = timezone(timedelta(hours=9))
    license = make_license(valid_until=datetime(2026, 9, 1, 21, 0, tzinfo=tokyo))  # 12:00 UTC
    assert license.state(NOW - timedelta(seconds=1)) == "in_force"
    assert license.state(NOW) == "expired"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"grace_days": -1}, "grace days cannot be negative"),
        ({"valid_until": datetime(2026, 10, 1)}, "validity dates must carry a timezone"),
        ({"valid_from": datetime(2026, 10, 1)}, "validity dates must carry a timezone"),
        ({"valid_from": END, "valid_until": START}, "the license must end after it starts"),
        ({"valid_from": END, "valid_until": END}, "the license must end after it starts"),
        ({"status": "paused"}, "status must be 'active' or 'suspended', not 'paused'"),
    ],
)
def test_invalid_licenses(fields, message):
    with pytest.raises(InvalidLicense) as raised:
        make_license(**fields)
    assert raised.value.message == message


def test_grants_parse_every_rule_up_front():
    grant = parse_grant("acme/*", ["^1.4", "*-lts"])
    assert grant.repository.text == "acme/*"
    assert [rule.text for rule in grant.tag_rules] == ["^1.4", "*-lts"]
    with pytest.raises(InvalidRule, match=re.escape("'>=1.x' is not a valid version range")):
        parse_grant("acme/*", ["^1.4", ">=1.x"])
    with pytest.raises(InvalidRule, match=re.escape("'Acme' is not a valid repository pattern")):
        parse_grant("Acme", ["*"])


def test_licenses_are_frozen_values():
    license = make_license()
    with pytest.raises(AttributeError):
        license.name = "other"  # type: ignore[misc]
    assert license == make_license()


@pytest.mark.parametrize(
    "fields",
    [
        {"valid_until": datetime(9999, 12, 31, tzinfo=UTC), "grace_days": 30},
        {"valid_until": END, "grace_days": 1_000_000_000},
        {"valid_until": datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))), "grace_days": 1},
    ],
)
def test_an_end_past_the_calendar_means_access_without_end(fields):
    """Grace days past year 9999 cannot overflow: access ends at the end of the calendar."""
    license = make_license(**fields)
    assert license.access_ends is not None and license.access_ends.year == 9999
    assert license.state(NOW) == "in_force" and license.in_force(datetime.max.replace(tzinfo=UTC) - days(1))
