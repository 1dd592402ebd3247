"""Sign-in and password-reset throttles: counted per account and address in the database, so a stranger
cannot lock an owner out, and neither a restart, another node nor a spray of failures resets a lock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from app.models import ThrottleCounter
from app.throttle import ACCOUNT, ADDRESS, PAIR, RESET_ACCOUNT, RESET_ADDRESS, SignInThrottle
from tests.app.test_web import engine_of
from tests.support.web import Browser, customer_user


async def test_a_stranger_locks_only_their_own_address_out_of_an_account(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as attacker:
        await attacker.get("/signin")
        for _ in range(PAIR.limit):
            r = await attacker.post("/signin", {"email": person.email, "password": "guess-guess"})
            assert r.status_code == 400
        r = await attacker.post("/signin", {"email": person.email, "password": person.password})
        assert r.status_code == 429 and "Too many failed sign-ins" in r.text and "15 minutes" in r.text
    async with Browser(wharf.app) as owner:  # the owner, elsewhere, still gets in
        assert (await owner.sign_in(person.email, person.password)).status_code == 303


async def test_a_lock_outlives_a_restart_and_holds_on_every_node(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as attacker:
        await attacker.get("/signin")
        for _ in range(PAIR.limit):
            await attacker.post("/signin", {"email": person.email, "password": "guess-guess"})
        wharf.app.state.services.accounts.throttle = (
            SignInThrottle()
        )  # what a restarted process, or another node, starts with
        r = await attacker.post("/signin", {"email": person.email, "password": person.password})
        assert r.status_code == 429


async def test_success_clears_only_that_account_and_address(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.get("/signin")
        for _ in range(PAIR.limit - 1):
            await browser.post("/signin", {"email": person.email, "password": "typo-typo"})
        assert (await browser.post("/signin", {"email": person.email, "password": person.password})).status_code == 303
    async with engine_of(wharf).connect() as conn:
        keys = (
            await conn.execute(select(ThrottleCounter.key).where(ThrottleCounter.key.contains(person.email)))
        ).scalars()
        assert sorted(k.split(":")[0] for k in keys) == [
            "signin-account"
        ]  # the pair is cleared, the account total stays


async def test_the_account_locks_as_a_whole_only_at_a_much_higher_count(wharf):
    throttle, engine = SignInThrottle(), engine_of(wharf)
    email = f"target-{uuid.uuid4().hex[:6]}@acme.test"
    for i in range(ACCOUNT.limit - 1):  # a botnet: every failure from another address
        await throttle.failed(engine, email, f"10.9.{i // 250}.{i % 250}")
    assert await throttle.wait_seconds(engine, email, "192.0.2.1") == 0
    await throttle.failed(engine, email, "10.9.99.1")
    assert 0 < await throttle.wait_seconds(engine, email, "192.0.2.1") <= 15 * 60


async def test_one_address_spraying_many_accounts_is_locked(wharf):
    throttle, engine = SignInThrottle(), engine_of(wharf)
    address = f"10.8.{uuid.uuid4().int % 250}.7"
    for i in range(ADDRESS.limit):
        await throttle.failed(engine, f"spray-{i}-{uuid.uuid4().hex[:4]}@acme.test", address)
    assert await throttle.wait_seconds(engine, "someone-else@acme.test", address) > 0
    # an IPv6 attacker cannot step around it within its /64
    v6 = f"2001:db8:{uuid.uuid4().int % 9999}::"
    for i in range(ADDRESS.limit):
        await throttle.failed(engine, f"spray6-{i}@acme.test", f"{v6}{i + 1:x}")
    assert await throttle.wait_seconds(engine, "someone-else@acme.test", f"{v6}ffff") > 0


async def test_a_spray_of_failures_never_wipes_existing_locks(wharf):
    throttle, engine = SignInThrottle(), engine_of(wharf)
    email, address = f"locked-{uuid.uuid4().hex[:6]}@acme.test", "10.7.0.1"
    for _ in range(PAIR.limit):
        await throttle.failed(engine, email, address)
    long_ago = datetime.now(UTC) - timedelta(days=1)
    async with engine.begin() as conn:  # stale counters of a past spray
        await conn.execute(
            insert(ThrottleCounter),
            [{"key": f"signin-pair:old{i}@x.test|10.6.0.1", "count": 1, "window_start": long_ago} for i in range(500)],
        )
    removed = await throttle.prune(engine)
    assert removed >= 500
    assert await throttle.wait_seconds(engine, email, address) > 0


async def test_password_reset_requests_are_limited_the_same_whether_the_account_exists(wharf, smtp_sink):
    person = await customer_user(wharf, "member")
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@nowhere.test"
    async with Browser(wharf.app) as browser:
        await browser.get("/password/forgot")
        for email in (person.email, unknown):
            answers = [await browser.post("/password/forgot", {"email": email}) for _ in range(RESET_ACCOUNT.limit)]
            assert {r.status_code for r in answers} == {200}
            r = await browser.post("/password/forgot", {"email": email})
            assert r.status_code == 429 and "Too many" in r.text, r.text[:300]
            assert email not in r.text  # nothing about the account, whether it exists or not
    resets = [m for m in smtp_sink.messages if person.email in m.to and m.subject == "Reset your password"]
    assert len(resets) == RESET_ACCOUNT.limit


async def test_one_address_asking_many_resets_is_limited(wharf):
    async with Browser(wharf.app) as browser:
        await browser.get("/password/forgot")
        for i in range(RESET_ADDRESS.limit):
            r = await browser.post("/password/forgot", {"email": f"r{i}-{uuid.uuid4().hex[:4]}@nowhere.test"})
            assert r.status_code == 200
        r = await browser.post("/password/forgot", {"email": "one-more@nowhere.test"})
        assert r.status_code == 429
