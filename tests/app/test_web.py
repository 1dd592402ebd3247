"""The web foundation: sign-in, throttling, sign-out, password reset by mail, CSRF, cookies, error pages."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.models import WebSession
from app.settings import ServerSettings, Settings
from app.web.foundation import build_web
from tests.support.web import Browser, customer_user


def engine_of(wharf):
    return wharf.app.state.registry.metadata.engine


async def test_sign_in_rotates_the_session_and_sign_out_ends_it(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.get("/signin")
        before = browser.client.cookies.get("wharf_session")
        r = await browser.post("/signin", {"email": person.email, "password": "wrong password"})
        assert r.status_code == 400 and "do not match an account" in r.text
        r = await browser.post("/signin", {"email": person.email.upper(), "password": person.password})
        assert r.status_code == 303 and r.headers["location"] == "/portal/"
        cookie = browser.client.cookies.get("wharf_session")
        assert cookie and cookie != before
        set_cookie = r.headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=lax" in set_cookie and "Secure" not in set_cookie
        r = await browser.get("/signin")
        assert r.status_code == 302  # already signed in: straight to the portal
        async with engine_of(wharf).connect() as conn:
            assert await conn.scalar(select(func.count()).where(WebSession.id == cookie)) == 1
        r = await browser.post("/signout")
        assert r.status_code == 303 and r.headers["location"] == "/signin?notice=signed_out"
        async with engine_of(wharf).connect() as conn:
            assert await conn.scalar(select(func.count()).where(WebSession.id == cookie)) == 0
        browser.client.cookies.set("wharf_session", cookie)  # a stolen copy of the cookie is worthless now
        r = await browser.get("/signin")
        assert r.status_code == 200 and "Sign in" in r.text


async def test_a_redirect_after_sign_in_stays_on_this_site(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.get("/signin")
        data = {"email": person.email, "password": person.password, "next": "//evil.example/x"}
        r = await browser.post("/signin", data)
        assert r.headers["location"] == "/portal/"


async def test_password_reset_by_mail_is_single_use_and_ends_other_sessions(wharf, smtp_sink):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as old_device, Browser(wharf.app) as browser:
        assert (await old_device.sign_in(person.email, person.password)).status_code == 303
        await browser.get("/password/forgot")
        r = await browser.post("/password/forgot", {"email": person.email})
        assert r.status_code == 200 and "If an account exists" in r.text
        r_unknown = await browser.post("/password/forgot", {"email": "nobody@nowhere.test"})
        assert r_unknown.text.replace("nobody@nowhere.test", person.email) == r.text
        link = smtp_sink.wait_for(person.email, "Reset your password").link("/password/reset/")
        assert smtp_sink.count("nobody@nowhere.test") == 0
        await browser.get(link)
        r = await browser.post(link, {"password": "new password!", "password_again": "different"})
        assert r.status_code == 400 and "differ" in r.text
        r = await browser.post(link, {"password": "new password!", "password_again": "new password!"})
        assert r.status_code == 303 and "password_changed" in r.headers["location"]
        r = await browser.get(link)
        assert r.status_code == 404 and "no longer works" in r.text
        r = await old_device.get("/signin")
        assert r.status_code == 200, "the session signed in with the old password must be over"
        assert (await browser.sign_in(person.email, person.password)).status_code == 400
        assert (await browser.sign_in(person.email, "new password!")).status_code == 303


async def test_forms_without_the_csrf_token_are_refused(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.get("/signin")
        r = await browser.client.post("/signin", data={"email": person.email, "password": person.password})
        assert r.status_code == 403 and "This form has expired" in r.text
        r = await browser.client.post(
            "/signin", data={"email": person.email, "password": person.password}, headers={"x-csrftoken": browser.csrf}
        )
        assert r.status_code == 303  # htmx sends the token as a header


async def test_portal_errors_are_pages_and_api_errors_stay_json(wharf):
    async with Browser(wharf.app) as browser:
        r = await browser.get("/portal/no-such-page")
        assert r.status_code in (303, 404)
        brand = re.search(r'class="brand".*?<span>([^<]+)</span>', (await browser.get("/signin")).text, re.S)
        r = await browser.get("/no-such-page")
        assert r.status_code == 404 and "text/html" in r.headers["content-type"] and "Page not found" in r.text
        assert f"<span>{brand.group(1)}</span>" in r.text  # branded like the sign-in page
        r = await browser.get("/api/v1/no-such-thing")
        assert r.status_code == 404 and r.headers["content-type"].startswith("application/json")
        r = await browser.get("/v2/acme/nothing/manifests/1.0")
        assert r.status_code == 401 and "wharf_session" not in r.headers.get("set-cookie", "")
        r = await browser.get("/static/htmx.min.js")
        assert r.status_code == 200 and "htmx" in r.text


def test_cookies_are_secure_behind_https(tmp_path):
    settings = Settings(server=ServerSettings(public_url="https://wharf.example", data_dir=tmp_path))
    web = build_web(settings, engine=None, static_dir=tmp_path)  # type: ignore[arg-type]
    assert web.csrf.cookie_secure and web.csrf.cookie_httponly and web.csrf.cookie_samesite == "lax"
    sessions = web.middleware[0].kwargs["backend"].config
    assert sessions.secure and sessions.httponly and sessions.samesite == "lax"


async def test_expired_sessions_are_not_honoured_and_get_cleared(wharf):
    from datetime import UTC, datetime, timedelta

    from app.web.sessions import DatabaseSessionStore

    store = DatabaseSessionStore(engine_of(wharf))
    await store.set("stale-session", b'{"uid": 1}', expires_in=timedelta(seconds=60))
    assert await store.get("stale-session") == b'{"uid": 1}'
    async with engine_of(wharf).begin() as conn:
        await conn.execute(
            WebSession.__table__.update()
            .where(WebSession.id == "stale-session")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert await store.get("stale-session") is None
    assert await store.delete_expired() >= 1
    assert not await store.exists("stale-session")
    await store.set("empty", b"{}")  # anonymous visitors leave no row behind
    assert not await store.exists("empty")


async def test_a_page_view_that_changes_nothing_writes_nothing(wharf, count_queries):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.sign_in(person.email, person.password)
        await browser.get("/portal/tokens")
        count_queries.statements.clear()
        assert (await browser.get("/portal/tokens")).status_code == 200
        reads = [s for s in count_queries.statements if "web_sessions" in s]
        assert len(reads) == 1 and reads[0].lstrip().upper().startswith("SELECT")
        count_queries.statements.clear()
        await browser.post("/signout")  # a change is written (here: the row goes)
        assert any(s.lstrip().upper().startswith("DELETE") for s in count_queries.statements if "web_sessions" in s)


async def test_everyone_has_a_profile_with_name_and_password(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser, Browser(wharf.app) as elsewhere:
        await elsewhere.sign_in(person.email, person.password)
        await browser.sign_in(person.email, person.password)
        page = await browser.get("/account")
        assert page.status_code == 200 and person.email in page.text and "unconfirmed" in page.text
        r = await browser.post("/account/name", {"name": "Renamed Person"})
        assert r.status_code == 303 and "Renamed Person" in (await browser.get("/account")).text
        r = await browser.post(
            "/account/password", {"current": "wrong", "password": "a new password", "password_again": "a new password"}
        )
        assert r.status_code == 400 and "not your current password" in r.text
        r = await browser.post(
            "/account/password",
            {"current": person.password, "password": "a new password", "password_again": "a new password"},
        )
        assert r.status_code == 303
        assert (await browser.get("/portal/")).status_code == 200  # this browser stays signed in
        assert (await elsewhere.get("/portal/")).status_code == 303  # every other session ended
        assert (await elsewhere.sign_in(person.email, "a new password")).status_code == 303
    async with Browser(wharf.app) as stranger:
        assert (await stranger.get("/account")).status_code == 303  # sign in first


async def test_without_a_mail_server_the_reset_page_says_whom_to_ask(wharf):
    from app.mail import LogMailer

    deps = wharf.app.state.services.deps
    mailer, deps.mailer = deps.mailer, LogMailer()
    try:
        async with Browser(wharf.app) as browser:
            page = await browser.get("/password/forgot")
            assert "cannot send mail" in page.text and "wharf user reset-link" in page.text
    finally:
        deps.mailer = mailer
