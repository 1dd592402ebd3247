"""License compliance: entitled and pulled versions (a pull by digest reads as its tag), tokens, networks,
denials by reason code, pulls in grace, and the token sharing signal; periods and months are UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.reports.compliance import month_period, network_of, parse_period
from app.services.errors import Invalid
from app.times import EARLIEST, LATEST
from tests.conftest import basic
from tests.registry.helpers import push_image, push_manifest
from tests.support.oci import OCI_INDEX, image, index

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)


def test_networks_are_slash_24_and_slash_64():
    assert network_of("192.0.2.17") == network_of("192.0.2.200") == "192.0.2.0/24"
    assert network_of("192.0.3.1") != network_of("192.0.2.1")
    assert network_of("2001:db8:1:2::5") == network_of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert network_of("::ffff:192.0.2.9") == "192.0.2.0/24"
    assert network_of(None) is None and network_of("not an address") is None


def test_months_and_periods_are_utc_and_half_open():
    assert month_period("2026-12", NOW) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert month_period("", NOW) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    for bad in ("2026-13", "2026-1", "November", "9999-12", "0001-01", "2026-11-01"):
        with pytest.raises(Invalid):
            month_period(bad, NOW)
    assert parse_period(None, None, NOW) == month_period(None, NOW)
    assert parse_period("2026-11-02", "2026-11-03", NOW) == (
        datetime(2026, 11, 2, tzinfo=UTC),
        datetime(2026, 11, 4, tzinfo=UTC),  # a date `until` takes its whole day
    )
    for since, until in (("2026-11-05", "2026-11-01"), ("yesterday", None), (None, "9999-12-31")):
        with pytest.raises(Invalid):
            parse_period(since, until, NOW)


_texts = st.one_of(
    st.text(alphabet="0123456789-:TZ+. \x00\uff12", max_size=30),
    st.text(max_size=30),
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 99_999), st.integers(0, 99)),
)


@settings(max_examples=1000)
@given(_texts)
def test_any_month_text_is_a_month_or_invalid(text):
    """The year 0000 was a ValueError (a 500 on both statement pages) where it should be a readable 400."""
    try:
        start, end = month_period(text, NOW)
    except Invalid:
        return
    assert start.day == 1 and start < end and EARLIEST <= start <= LATEST
    assert text.strip() == "" or text.strip() == f"{start:%Y-%m}"  # ASCII digits only, as written


@settings(max_examples=1000)
@given(
    _texts | st.none() | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    _texts | st.none() | st.dates().map(str),
)
def test_any_period_is_half_open_and_within_bounds_or_invalid(since, until):
    try:
        start, end = parse_period(since, until, NOW)
    except Invalid:
        return
    assert EARLIEST <= start < end <= LATEST + timedelta(days=1)


async def _customer_with_license(wharf, repo: str, rules: list[str], **terms) -> tuple[int, int, int, str]:
    api = {"Authorization": f"Bearer {wharf.token}"}
    name = f"Compliant {uuid.uuid4().hex[:6]}"
    customer = (await wharf.client.post("/api/v1/customers", json={"name": name}, headers=api)).json()
    body = {"customer_id": customer["id"], "name": f"{name} prod", "grants": [{"repository": repo, "tags": rules}]}
    lic = (await wharf.client.post("/api/v1/licenses", json={**body, **terms}, headers=api)).json()
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "ci"}, headers=api)
    ).json()
    return customer["id"], lic["id"], token["id"], token["token"]


async def test_license_compliance_over_a_period(wharf):
    repo = wharf.repo("comply")
    one, two, three = image(f"{repo}-1"), image(f"{repo}-15"), image(f"{repo}-2")
    amd, arm = image(f"{repo}-amd", "amd64"), image(f"{repo}-arm", "arm64")
    await push_image(wharf, repo, one, "1.0.0")
    await push_image(wharf, repo, two, "1.5.0")
    await push_image(wharf, repo, three, "2.0.0")
    await push_image(wharf, repo, amd)
    await push_image(wharf, repo, arm)
    await push_manifest(wharf, repo, "1.6.0", index([(amd, "amd64"), (arm, "arm64")]), OCI_INDEX)
    # ended yesterday, with a week of grace: every pull now is a pull in grace
    ended = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    _customer, license_id, _token, secret = await _customer_with_license(
        wharf, repo, ["^1"], valid_until=ended, grace_days=7
    )
    auth = {"Authorization": basic("x", secret)}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=auth)).status_code == 200
    # containerd: the tag resolved with HEAD, the manifest fetched by digest
    assert (await wharf.client.head(f"/v2/{repo}/manifests/1.5.0", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{two.digest}", headers=auth)).status_code == 200
    # a multi-arch tag: the index, then its platform manifest by digest (one pull of 1.6.0)
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.6.0", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{amd.digest}", headers=auth)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=auth)).status_code == 403
    await wharf.app.state.audit_writer.drain()

    api = {"Authorization": f"Bearer {wharf.token}"}
    r = await wharf.client.get(f"/api/v1/licenses/{license_id}/compliance", headers=api)
    assert r.status_code == 200, r.text
    body = r.json()
    today = datetime.now(UTC).date()
    assert body["period"]["since"] == datetime(today.year, today.month, 1, tzinfo=UTC).isoformat()
    assert body["state"] == "in_force" and body["grace"]["grace_days"] == 7
    assert body["entitled"] == [{"repository": repo, "versions": ["1.6.0", "1.5.0", "1.0.0"]}]
    pulled = {p["version"]: p["pulls"] for p in body["pulled"]}
    assert pulled == {"1.0.0": 1, "1.5.0": 1, "1.6.0": 1}  # no digest, no platform manifest of its own
    assert body["pulls"] == 3 and body["grace"]["pulls_in_grace"] == 3
    assert body["distinct_tokens"] == 1 and body["distinct_networks"] == 1
    assert sum(body["denials"].values()) == 1
    assert body["sharing"] == []

    # a period without the pulls; then bad input and another vendor's (or no) license
    r = await wharf.client.get(
        f"/api/v1/licenses/{license_id}/compliance", params={"since": "2020-01-01", "until": "2020-01-31"}, headers=api
    )
    assert r.json()["pulls"] == 0 and r.json()["period"]["until"] == "2020-02-01T00:00:00+00:00"
    for params in ({"since": "soon"}, {"since": "2026-11-05", "until": "2026-11-01"}, {"until": "9999-12-31"}):
        bad = await wharf.client.get(f"/api/v1/licenses/{license_id}/compliance", params=params, headers=api)
        assert bad.status_code == 400 and bad.json()["detail"]
    assert (await wharf.client.get("/api/v1/licenses/999999/compliance", headers=api)).status_code == 404
