"""'Your software': one card per product with the newest version the license allows, the commands of the
tool that pulls its kind (and no other), release notes, signatures and SBOMs, what the customer last
pulled and what is newer; every command shown passes `bash -n`; license warnings; branding."""

from __future__ import annotations

import html
import re
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import basic
from tests.portal_customer.conftest import license_for
from tests.portal_customer.test_tokens import create_token
from tests.registry.helpers import push_image
from tests.support.oci import artifact, cosign_signature, helm_chart, image
from tests.support.web import Browser, customer_user

HOST = "testserver.local"
IMAGE_TOOLS = ("docker pull", "podman pull", "ctr images pull", "kubectl create secret docker-registry", "skopeo copy")
CHART_TOOLS = ("helm registry login", "helm install", "helm show values", "helm pull")


def snippets(page: str) -> list[str]:
    return [html.unescape(code) for code in re.findall(r"<pre><code>(.*?)</code></pre>", page, re.S)]


def product_card(page: str, repository: str) -> str:
    found = re.search(
        rf'<section class="card product"[^>]*data-repository="{re.escape(repository)}">(.*?)</section>', page, re.S
    )
    assert found, f"no card for {repository}"
    return found.group(1)


def assert_bash_parses(commands: list[str]) -> None:
    for command in commands:
        checked = subprocess.run(["bash", "-n"], input=command, capture_output=True, text=True)
        assert checked.returncode == 0, f"{command!r}: {checked.stderr}"


async def page_of(wharf, person) -> str:
    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(person.email, person.password)).status_code == 303
        r = await browser.get("/portal/")
    assert r.status_code == 200
    return r.text


async def test_an_image_shows_its_newest_allowed_version_with_image_tools_only(wharf, licensed):
    page = await page_of(wharf, licensed.member)
    card = product_card(page, licensed.repo)
    assert re.search(r'class="version newest" data-tag="1\.5\.0"', card)  # 2.0.0 is outside the range
    assert re.findall(r'class="version" data-tag="([^"]+)"', card) == ["1.0.0"]  # folded
    assert "Container image" in card and "linux/amd64" in card
    text = html.unescape(card)
    for command in IMAGE_TOOLS:
        assert command in text, command
    assert f"docker pull {HOST}/{licensed.repo}:1.5.0" in text
    assert f'ctr images pull --plain-http --user "token:$WHARF_TOKEN" {HOST}/{licensed.repo}:1.5.0' in text
    for wrong in ("helm ", "oras ", ":2.0.0"):
        assert wrong not in text, wrong
    assert licensed.secret_repo not in page
    assert "Ends soon" in page and re.search(r"expires on \d{4}-\d\d-\d\d \(in [45] days\)", page)


async def test_a_chart_shows_helm_only_with_a_real_release_name(wharf):
    person = await customer_user(wharf, "member")
    repo = wharf.repo("charts/web")
    chart = helm_chart("web", "1.2.0", appVersion="4.1", description="The web front end", icon="https://x.test/w.png")
    await push_image(wharf, repo, chart, "1.2.0")
    await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) + timedelta(days=90))
    card = html.unescape(product_card(await page_of(wharf, person), repo))
    assert "Helm chart" in card and "The web front end" in card and 'src="https://x.test/w.png"' in card
    assert f"helm install web oci://{HOST}/{repo} --version 1.2.0 --plain-http" in card
    assert f"helm show values oci://{HOST}/{repo} --version 1.2.0 --plain-http" in card
    assert f"helm pull oci://{HOST}/{repo} --version 1.2.0 --plain-http" in card
    assert f'echo "$WHARF_TOKEN" | helm registry login {HOST} --username token --password-stdin --insecure' in card
    for wrong in ("docker ", "podman ", "ctr ", "kubectl ", "oras ", "<"):
        assert wrong not in "\n".join(snippets(card)), wrong


async def test_other_artifacts_show_oras(wharf):
    person = await customer_user(wharf, "member")
    repo = wharf.repo("docs")
    await push_image(wharf, repo, artifact("application/pdf", b"%PDF-1.7", "application/vnd.acme.manual"), "2026.1")
    await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) + timedelta(days=90))
    card = html.unescape(product_card(await page_of(wharf, person), repo))
    assert f"oras pull --plain-http {HOST}/{repo}:2026.1" in card
    assert "docker " not in card and "helm " not in card


async def test_every_command_shown_parses_and_logins_read_stdin(wharf, licensed):
    person = await customer_user(wharf, "member", licensed.admin.customer_id)
    chart_repo = wharf.repo("chart")
    await push_image(wharf, chart_repo, helm_chart("api", "0.9.0"), "0.9.0")
    await license_for(wharf, person.customer_id, chart_repo, ["*"], datetime.now(UTC) + timedelta(days=90))
    commands = snippets(await page_of(wharf, person))
    assert len(commands) > 10
    assert_bash_parses(commands)
    logins = [line for c in commands for line in c.splitlines() if " login " in line]
    assert logins and all("--password-stdin" in line and line.startswith('echo "$WHARF_TOKEN" | ') for line in logins)
    assert all(" -u token " in line or " --username token " in line for line in logins)  # one user name
    assert not any(" -p " in line or "--password " in line for line in logins)


async def test_release_notes_and_descriptions(wharf, licensed):
    api = {"Authorization": f"Bearer {wharf.token}"}
    notes = "**Faster** start\nsecond line <script>alert(1)</script>"
    r = await wharf.client.put(
        f"/api/v1/repositories/{licensed.repo}/tags/1.5.0/notes", json={"notes": notes}, headers=api
    )
    assert r.status_code == 200, r.text
    card = product_card(await page_of(wharf, licensed.member), licensed.repo)
    assert "<strong>Faster</strong> start<br>" in card  # Markdown, line breaks kept
    assert "<script>" not in card and "&lt;script&gt;" in card
    settings = {"description": "The *API* tier. See [docs](https://docs.test/api)."}
    r = await wharf.client.patch(f"/api/v1/repositories/{licensed.repo}/settings", json=settings, headers=api)
    assert r.status_code == 200, r.text
    card = product_card(await page_of(wharf, licensed.member), licensed.repo)
    assert '<div class="description"><p>The <em>API</em> tier. See <a href="https://docs.test/api"' in card


async def test_signatures_and_sboms_show_on_the_version_they_describe(wharf):
    person = await customer_user(wharf, "member")
    repo = wharf.repo("signed")
    img = image("signed")
    await push_image(wharf, repo, img, "3.1.0")
    await push_image(wharf, repo, cosign_signature(), f"{img.digest.replace(':', '-')}.sig")
    sbom = artifact("application/spdx+json", b"{}", "application/spdx+json", subject=img)
    await push_image(wharf, repo, sbom)
    await license_for(wharf, person.customer_id, repo, ["3.*"], datetime.now(UTC) + timedelta(days=90))
    card = html.unescape(product_card(await page_of(wharf, person), repo))
    assert "signed" in card and "SBOM" in card
    assert f"cosign verify --allow-http-registry --key cosign.pub {HOST}/{repo}:3.1.0" in card
    assert f"oras pull --plain-http {HOST}/{repo}@{sbom.digest}" in card
    assert ".sig" not in re.sub(r"<pre>.*?</pre>", "", card, flags=re.S)  # the signature tag is no version


async def test_last_pulled_and_the_newer_release_available(wharf, licensed):
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        secret = await create_token(browser, "cluster")
        pull = {"Authorization": basic("token", secret)}
        assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/1.0.0", headers=pull)).status_code == 200
        await wharf.app.state.audit_writer.drain()
        card = product_card((await browser.get("/portal/")).text, licensed.repo)
        assert re.search(
            r"You last pulled <strong>1\.0\.0</strong>; <strong>1\.5\.0</strong> is available under your license", card
        )
        assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/1.5.0", headers=pull)).status_code == 200
        await wharf.app.state.audit_writer.drain()
        card = product_card((await browser.get("/portal/")).text, licensed.repo)
        assert "You last pulled 1.5.0, the newest version" in card and "is available" not in card


async def test_an_ended_license_shows_why_and_lists_nothing(wharf):
    person = await customer_user(wharf, "admin")
    repo = wharf.repo("old")
    await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) - timedelta(days=2))
    text = html.unescape(await page_of(wharf, person))
    assert "Expired" in text and re.search(r"License 'Prod [0-9a-f]{4}' expired on", text)
    assert "Nothing to pull yet" not in text and "Nothing can be pulled under your license now" in text
    assert re.search(r"expired on \S+\. Ask your contact at \S.* to renew it\.", text)


async def test_a_suspended_license_says_so_and_whom_to_ask(wharf, licensed):
    api = {"Authorization": f"Bearer {wharf.token}"}
    found = await wharf.client.get("/api/v1/licenses", params={"customer_id": licensed.admin.customer_id}, headers=api)
    (lic,) = found.json()["items"]
    r = await wharf.client.patch(f"/api/v1/licenses/{lic['id']}", json={"status": "suspended"}, headers=api)
    assert r.status_code == 200, r.text
    for person, asked in (
        (licensed.admin, "to lift the suspension."),
        (licensed.member, "or your organization's admin"),
    ):
        text = html.unescape(await page_of(wharf, person))
        assert "Nothing to pull yet" not in text and "Nothing can be pulled under your license now" in text
        assert f"License '{lic['name']}' is suspended. Ask your contact at" in text and asked in text


async def test_license_names_keep_their_case_in_warnings(wharf):
    person = await customer_user(wharf, "admin")
    api = {"Authorization": f"Bearer {wharf.token}"}
    body = {
        "customer_id": person.customer_id,
        "name": "Globex Worker TRIAL",
        "grants": [{"repository": wharf.repo("trial"), "tags": ["*"]}],
        "valid_until": (datetime.now(UTC) + timedelta(days=3)).isoformat(),
    }
    assert (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).status_code == 201
    text = html.unescape(await page_of(wharf, person))
    assert "License 'Globex Worker TRIAL' expires on" in text


async def test_a_customer_without_a_license_gets_an_empty_state(wharf):
    person = await customer_user(wharf, "member")
    text = await page_of(wharf, person)
    assert "has no license yet" in text and "Nothing to pull yet" in text


async def test_signed_out_visitors_are_sent_to_sign_in_and_come_back(wharf, licensed):
    async with Browser(wharf.app) as browser:
        r = await browser.get("/portal/tokens")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/portal/tokens"
        await browser.get(r.headers["location"])
        data = {"email": licensed.member.email, "password": licensed.member.password, "next": "/portal/tokens"}
        r = await browser.post("/signin", data)
        assert r.headers["location"] == "/portal/tokens"


@pytest.fixture
async def brand(wharf):
    from sqlalchemy import update

    from app.models import Organization

    engine = wharf.app.state.registry.metadata.engine

    async def set_brand(**values):
        async with engine.begin() as conn:
            await conn.execute(
                update(Organization).where(Organization.kind == "vendor", Organization.slug == "acme").values(**values)
            )

    yield set_brand
    await set_brand(logo_url=None, accent_color=None, welcome_text=None)


async def test_pages_carry_the_vendors_branding(wharf, licensed, brand):
    await brand(
        logo_url="https://cdn.acme.test/logo.svg",
        accent_color="#aa3311",
        welcome_text="Hello from Acme\nSecond line",
    )
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        r = await browser.get("/portal/")
        assert '<img src="https://cdn.acme.test/logo.svg"' in r.text and "--accent: #aa3311" in r.text
        assert "Hello from Acme<br>\nSecond line" in r.text  # the welcome text keeps its line breaks
        for bad_logo in ("javascript:alert(1)", "http://cdn.acme.test/logo.svg", "/\\evil.test/logo.png"):
            await brand(logo_url=bad_logo, accent_color="red;}")
            r = await browser.get("/portal/")
            assert bad_logo not in r.text and "--accent: #2457d6" in r.text


async def test_a_light_accent_gets_dark_text(wharf, licensed, brand):
    from app.colors import PAGE_BACKGROUND, contrast

    await brand(accent_color="#ffd84d")
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        r = await browser.get("/portal/")
    found = re.search(r"--accent: (#\w+); --on-accent: (#\w+); --accent-text: (#\w+)", r.text)
    assert found, r.text[:500]
    accent, on_accent, accent_text = found.groups()
    assert accent == "#ffd84d" and on_accent != "#ffffff"
    assert contrast(accent, on_accent) >= 4.5 and contrast(accent_text, PAGE_BACKGROUND) >= 4.5
