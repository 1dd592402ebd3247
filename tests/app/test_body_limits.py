"""Request bodies are bounded before anything parses them: 413 past the size, 400 past the field count or
the JSON nesting, in each surface's own error shape; registry uploads stream on, unbounded."""

from __future__ import annotations

import pytest

from app.body_limits import API, PAGES, TOKEN
from tests.registry.helpers import push_blob
from tests.support.web import Browser

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


def repeated_field(count: int) -> bytes:
    return b"a=1&" * count


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def oci_error(r) -> dict:
    (error,) = r.json()["errors"]
    return error


async def test_token_endpoint_refuses_big_and_many_field_forms_in_the_oci_shape(wharf):
    r = await wharf.client.post("/token", content=b"x=" + b"y" * TOKEN.max_bytes, headers=FORM)
    assert r.status_code == 413 and oci_error(r)["code"] == "SIZE_INVALID", r.text
    r = await wharf.client.post("/token", content=repeated_field(TOKEN.max_fields + 1)[:-1], headers=FORM)
    assert r.status_code == 400 and "fields" in oci_error(r)["message"], r.text
    r = await wharf.client.post("/token", content=repeated_field(100_000), headers=FORM)
    assert r.status_code == 413
    # an ordinary token request still works
    form = {"grant_type": "password", "password": wharf.token, "scope": "repository:acme/x:pull"}
    assert (await wharf.client.post("/token", data=form)).status_code == 200


async def test_a_declared_length_past_the_limit_is_refused_before_reading(wharf):
    async def endless():
        yield b"a=1&"
        raise AssertionError("the body was read")

    headers = {**FORM, "Content-Length": str(PAGES.max_bytes + 1)}
    r = await wharf.client.post("/signin", content=endless(), headers=headers)
    assert r.status_code == 413


async def test_portal_forms_are_bounded_before_the_csrf_check_reads_them(wharf):
    async with Browser(wharf.app) as browser:
        await browser.get("/signin")  # a valid anonymous CSRF token, as an attacker can have
        token = browser.csrf
        body = b"_csrf_token=" + token.encode() + b"&" + repeated_field(PAGES.max_fields)
        r = await browser.client.post("/signin", content=body, headers=FORM)
        assert r.status_code == 400 and "text/html" in r.headers["content-type"], r.text[:300]
        assert "fields" in r.text
        big = b"_csrf_token=" + token.encode() + b"&email=" + b"x" * PAGES.max_bytes
        r = await browser.client.post("/password/forgot", content=big, headers=FORM)
        assert r.status_code == 413 and "<html" in r.text and "too large" in r.text.lower()
        r = await browser.client.post("/signin", content=repeated_field(100_000), headers=FORM)
        assert r.status_code == 413
        # ordinary forms still work
        r = await browser.post("/signin", {"email": "nobody@example.test", "password": "whatever-1"})
        assert r.status_code == 400 and "do not match" in r.text


@pytest.mark.parametrize("depth", [1_000, 100_000])
async def test_deep_json_is_a_400_before_authentication(wharf, depth):
    for headers in ({}, {"Authorization": f"Bearer {wharf.token}"}):
        r = await wharf.client.post("/api/v1/customers", content=nested(depth), headers={**JSON, **headers})
        assert r.status_code == 400 and r.json()["status_code"] == 400, r.text[:300]
        assert "nested" in r.json()["detail"]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
async def test_deep_json_is_a_400_whatever_the_content_type_says(wharf, content_type):
    """The API decodes every body as JSON, so the nesting is checked whatever the type a client declares."""
    for headers in ({}, {"Authorization": f"Bearer {wharf.token}"}):
        if content_type:
            headers["Content-Type"] = content_type
        r = await wharf.client.post("/api/v1/customers", content=nested(100_000), headers=headers)
        assert r.status_code == 400 and "nested" in r.json()["detail"], r.text[:300]


async def test_api_bodies_are_bounded_in_the_api_shape(wharf):
    api = {"Authorization": f"Bearer {wharf.token}", **JSON}
    big = b'{"name": "' + b"x" * API.max_bytes + b'"}'
    r = await wharf.client.post("/api/v1/customers", content=big, headers=api)
    assert r.status_code == 413 and r.json() == {"status_code": 413, "detail": r.json()["detail"]}
    assert str(API.max_bytes) in r.json()["detail"]
    # nesting an API body needs stays fine, and brackets inside strings do not count
    r = await wharf.client.post("/api/v1/customers", json={"name": "[[[[[[" * 20}, headers=api)
    assert r.status_code == 201, r.text


async def test_registry_uploads_stay_unbounded(wharf):
    repo = wharf.repo()
    data = b"\x00" * (PAGES.max_bytes + API.max_bytes + 1)
    await push_blob(wharf, repo, data)
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    r = await wharf.client.patch(location, content=repeated_field(300_000), headers={**wharf.auth, **FORM})
    assert r.status_code == 202, r.text


async def test_a_nul_character_in_a_form_or_json_body_is_a_400(wharf):
    """PostgreSQL cannot compare text holding NUL: signing in or asking for a reset with one in the email was a
    500. Every form and API body holding one is refused before it is read, on both databases."""
    async with Browser(wharf.app) as browser:
        r = await browser.sign_in("ops\x00@acme.test", "whatever")
        assert r.status_code == 400 and "NUL" in r.text, r.text
        await browser.get("/password/forgot")
        r = await browser.post("/password/forgot", {"email": "ops\x00@acme.test"})
        assert r.status_code == 400 and "NUL" in r.text
        r = await browser.sign_in(wharf.admin_email, "correct-horse")  # an ordinary form still works
        assert r.status_code == 303
    api = {"Authorization": f"Bearer {wharf.token}"}
    r = await wharf.client.post("/api/v1/customers", json={"name": "Glo\x00bex"}, headers=api)
    assert r.status_code == 400 and "NUL" in r.json()["detail"], r.text
    r = await wharf.client.post("/token", data={"grant_type": "password", "password": "a\x00", "scope": "x"})
    assert r.status_code == 400 and "NUL" in oci_error(r)["message"], r.text
