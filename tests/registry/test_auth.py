"""Credentials on /v2 and the token endpoint: challenges, grants, refresh, and vendor isolation."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

from app.services.accounts import bootstrap_vendor
from tests.conftest import basic
from tests.registry.helpers import error_code, push_image
from tests.support.oci import image

SERVICE = "testserver.local"


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def get_token(wharf, *scopes: str, password: str | None = None, **params: str) -> dict:
    r = await wharf.client.get(
        "/token",
        params={"service": SERVICE, "scope": list(scopes), **params},
        headers={"Authorization": basic("anyone", password or wharf.token)},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_token_grants_the_intersection_of_asked_and_allowed(wharf):
    repo = wharf.repo()
    body = await get_token(
        wharf, f"repository:{repo}:pull,push", "repository:othervendor/app:pull", "registry:catalog:*"
    )
    assert body["token"] == body["access_token"] and body["expires_in"] == 300
    token = claims(body["token"])
    assert token["aud"] == SERVICE and token["sub"].startswith("token:")
    assert {(a["type"], a["name"], tuple(a["actions"])) for a in token["access"]} == {
        ("repository", repo, ("pull", "push")),
        ("registry", "catalog", ("*",)),
    }
    assert token["exp"] - token["iat"] == 300


async def test_bearer_token_reads_and_pushes_within_its_grant(wharf):
    repo = wharf.repo()
    pull_only = (await get_token(wharf, f"repository:{repo}:pull"))["token"]
    bearer = {"Authorization": f"Bearer {pull_only}"}
    r = await wharf.client.get(f"/v2/{repo}/tags/list", headers=bearer)
    assert r.status_code == 404  # allowed to look; nothing there yet
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=bearer)
    assert r.status_code == 401
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert f'scope="repository:{repo}:push"' in r.headers["www-authenticate"]
    assert r.json()["errors"] == [
        {
            "code": "UNAUTHORIZED",
            "message": f"the token was not granted repository:{repo}:push: ask http://testserver.local/token "
            "for a token that is",
        }
    ]
    # a token for another repository does not open this one either
    r = await wharf.client.get(f"/v2/{wharf.repo()}/tags/list", headers=bearer)
    assert r.status_code == 401 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    push = (await get_token(wharf, f"repository:{repo}:pull,push"))["token"]
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers={"Authorization": f"Bearer {push}"})
    assert r.status_code == 202


async def test_invalid_bearer_tokens_are_challenged(wharf):
    repo = wharf.repo()
    good = (await get_token(wharf, f"repository:{repo}:pull"))["token"]
    head, _payload, signature = good.split(".")
    forged_claims = {**claims(good), "access": [{"type": "repository", "name": "othervendor/x", "actions": ["pull"]}]}
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged_claims).encode()).rstrip(b"=").decode()
    for bad in ("garbage", f"{head}.{forged_payload}.{signature}", good[:-4] + "AAAA"):
        r = await wharf.client.get(f"/v2/{repo}/tags/list", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"], bad


async def test_refresh_tokens_are_not_access_tokens(wharf):
    body = await get_token(wharf, offline_token="true")
    assert "refresh_token" in body
    r = await wharf.client.get("/v2/", headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert r.status_code == 401


async def test_token_endpoint_rejects_bad_credentials(wharf):
    r = await wharf.client.get("/token", params={"service": SERVICE})
    assert r.status_code == 401 and error_code(r) == "UNAUTHORIZED"
    r = await wharf.client.get(
        "/token", params={"service": SERVICE}, headers={"Authorization": basic("x", "wharf_api_not-a-real-token")}
    )
    assert r.status_code == 401
    r = await wharf.client.get("/token", headers={"Authorization": "Basic %%%"})
    assert r.status_code == 401


async def test_oauth2_password_and_refresh_grants(wharf):
    repo = wharf.repo()
    r = await wharf.client.post(
        "/token",
        data={
            "grant_type": "password",
            "username": "ci",
            "password": wharf.token,
            "service": SERVICE,
            "scope": f"repository:{repo}:pull,push",
            "access_type": "offline",
            "client_id": "tests",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert claims(body["access_token"])["access"] == [{"type": "repository", "name": repo, "actions": ["pull", "push"]}]
    refresh = body["refresh_token"]
    r = await wharf.client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": SERVICE,
            "scope": f"repository:{repo}:pull",
        },
    )
    assert r.status_code == 200
    assert claims(r.json()["access_token"])["access"] == [{"type": "repository", "name": repo, "actions": ["pull"]}]
    r = await wharf.client.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": r.json()["access_token"]}
    )
    assert r.status_code == 401  # an access token is no refresh token
    r = await wharf.client.post("/token", data={"grant_type": "password", "password": "wrong"})
    assert r.status_code == 401
    r = await wharf.client.post("/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 400


async def test_basic_auth_directly_on_v2(wharf):
    repo = wharf.repo()
    await push_image(wharf, repo, image("basic"), "v1")
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers={"Authorization": basic("whoever", wharf.token)})
    assert r.status_code == 200
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers={"Authorization": basic("whoever", "nope")})
    assert r.status_code == 401 and "Bearer realm" in r.headers["www-authenticate"]


async def test_vendor_token_cannot_touch_another_vendors_repositories(wharf):
    engine = wharf.app.state.registry.metadata.engine
    slug = f"rival{uuid.uuid4().hex[:6]}"
    rival = await bootstrap_vendor(engine, slug, f"admin@{slug}.test", "correct-horse")
    rival_auth = {"Authorization": basic("x", rival.token)}
    repo = f"{slug}/secret"
    img = image("rival")
    await push_image(type(wharf)(wharf.client, rival.token, slug, wharf.app), repo, img, "v1")

    # acme cannot push there (Basic: plain DENIED) ...
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    assert r.status_code == 403 and error_code(r) == "DENIED"
    r = await wharf.client.delete(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    assert r.status_code == 403
    # ... and reads answer exactly as for a repository that does not exist
    for path in (
        f"/v2/{repo}/manifests/v1",
        f"/v2/{repo}/manifests/{img.digest}",
        f"/v2/{repo}/tags/list",
        f"/v2/{repo}/blobs/{next(iter(img.blobs))}",
    ):
        hidden = await wharf.client.get(path, headers=wharf.auth)
        missing = await wharf.client.get(path.replace(slug, f"{slug}x"), headers=wharf.auth)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["errors"][0]["code"] == missing.json()["errors"][0]["code"]
    # the catalog shows each vendor only its own repositories
    r = await wharf.client.get("/v2/_catalog", headers=wharf.auth)
    assert not any(name.startswith(slug) for name in r.json()["repositories"])
    r = await wharf.client.get("/v2/_catalog", headers=rival_auth)
    assert r.json()["repositories"] == [repo]
    # the token endpoint grants nothing there
    body = await get_token(wharf, f"repository:{repo}:pull,push")
    assert claims(body["token"])["access"] == []
    # mounting a rival's blob quietly becomes a fresh upload instead
    r = await wharf.client.post(
        f"/v2/{wharf.repo()}/blobs/uploads/", params={"mount": next(iter(img.blobs)), "from": repo}, headers=wharf.auth
    )
    assert r.status_code == 202


async def test_revoked_token_stops_working_even_with_a_jwt_in_hand(wharf):
    from sqlalchemy import update

    from app.credentials import hash_secret
    from app.models import Token

    engine = wharf.app.state.registry.metadata.engine
    slug = f"short{uuid.uuid4().hex[:6]}"
    booted = await bootstrap_vendor(engine, slug, f"admin@{slug}.test", "correct-horse")
    auth = {"Authorization": basic("x", booted.token)}
    r = await wharf.client.get("/token", params={"scope": f"repository:{slug}/app:pull"}, headers=auth)
    jwt = r.json()["token"]
    assert (
        await wharf.client.get(f"/v2/{slug}/app/tags/list", headers={"Authorization": f"Bearer {jwt}"})
    ).status_code == 404
    async with engine.begin() as conn:
        await conn.execute(
            update(Token).where(Token.secret_hash == hash_secret(booted.token)).values(revoked_at=datetime.now(UTC))
        )
    # the fixture's credential cache is 0 s: the next request re-checks
    r = await wharf.client.get(f"/v2/{slug}/app/tags/list", headers={"Authorization": f"Bearer {jwt}"})
    assert r.status_code == 401
    r = await wharf.client.get("/v2/", headers=auth)
    assert r.status_code == 401


async def test_every_refusal_carries_the_oci_error_body(wharf):
    """401 and 403 answers say what is wrong in the OCI error JSON (only HEAD answers, by HTTP, have no body)."""
    repo = wharf.repo()
    pull_only = {"Authorization": f"Bearer {(await get_token(wharf, f'repository:{repo}:pull'))['token']}"}
    answers = {
        "no credentials": await wharf.client.get(f"/v2/{repo}/tags/list"),
        "a bad token": await wharf.client.get(f"/v2/{repo}/tags/list", headers={"Authorization": "Bearer nonsense"}),
        "a missing scope": await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=pull_only),
        "another vendor": await wharf.client.post("/v2/globex/app/blobs/uploads/", headers=wharf.auth),
    }
    for why, r in answers.items():
        assert r.status_code in (401, 403) and r.headers["content-type"].startswith("application/json"), why
        (error,) = r.json()["errors"]
        assert error["code"] == ("UNAUTHORIZED" if r.status_code == 401 else "DENIED") and error["message"], why
    assert answers["no credentials"].json()["errors"][0]["message"].startswith("authentication required")
    assert "invalid, expired or revoked" in answers["a bad token"].json()["errors"][0]["message"]
    assert answers["another vendor"].json()["errors"][0]["message"] == "push access to repository globex/app is denied"
