"""Each kind served the way its own tool expects, in Chromium: a vendor ships a Helm chart and a signed image
with an SBOM; the customer's portal offers helm (and only helm) for the chart and docker, podman, ctr and
Kubernetes (and no helm) for the image, with release notes and what is newer than its last pull; the
vendor sees who is entitled, who pulled and who is behind. Screenshots at 1366 and 390 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.support.live_portal import push, vendor_api
from tests.support.oci import artifact, cosign_signature, helm_chart, image
from tests.support.server import LiveServer, start_server

pytestmark = [pytest.mark.slow]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
CHARTS, WEB = "acme/charts/web", "acme/web"


@pytest.fixture(scope="module")
def kinds_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("kinds-live")
    server = start_server(data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}")
    yield server
    server.stop()


def shoot(page: Page, folder: Path, name: str) -> None:
    """Laptop and phone screenshots; at phone width nothing may scroll the page sideways."""
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=str(folder / f"kinds-{name}-{label}.png"), full_page=True)
        sideways = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
        assert not sideways, f"{name} scrolls sideways at {size['width']} px"
        clipped = page.evaluate(
            """[...document.querySelectorAll('.table-wrap')].filter(w => w.scrollWidth > w.clientWidth + 1)
               .map(w => (w.querySelector('h2') || w).textContent.trim().slice(0, 40))"""
        )
        assert clipped == [], f"{name}: tables cut off at {size['width']} px: {clipped}"
    page.set_viewport_size(LAPTOP)


def publish(server: LiveServer) -> None:
    push(server, CHARTS, helm_chart("web", "1.2.0", appVersion="4.1", description="The web tier, as a chart"), "1.2.0")
    old, new = image("web-1.0.0"), image("web-1.1.0")
    push(server, WEB, old, "1.0.0")
    push(server, WEB, new, "1.1.0")
    push(server, WEB, cosign_signature(), f"{new.digest.replace(':', '-')}.sig")
    sbom = artifact("application/spdx+json", b'{"spdxVersion": "SPDX-2.3"}', "application/spdx+json", subject=new)
    push(server, WEB, sbom, sbom.digest)
    with vendor_api(server) as api:
        settings = {"display_name": "Acme Web", "description": "The web front end of Acme Platform."}
        assert api.patch(f"/repositories/{WEB}/settings", json=settings).status_code == 200
        notes = {"notes": "**Faster start-up.**\nFixes the login redirect."}
        assert api.put(f"/repositories/{WEB}/tags/1.1.0/notes", json=notes).status_code == 200


def test_each_kind_is_offered_its_own_tool(kinds_server, chromium, screenshots):
    server = kinds_server
    publish(server)
    with vendor_api(server) as api:
        customer = api.post("/customers", json={"name": "Globex"}).json()
        grants = [{"repository": CHARTS, "tags": ["*"]}, {"repository": WEB, "tags": ["1.*"]}]
        body = {"customer_id": customer["id"], "name": "Globex Worker TRIAL", "grants": grants}
        assert api.post("/licenses", json=body).status_code == 201
        token = api.post(f"/customers/{customer['id']}/pull-tokens", json={"name": "cluster"}).json()["token"]
        invited = api.post(
            f"/customers/{customer['id']}/invitations", json={"email": "ops@globex.test", "role": "admin"}
        )
    # the cluster pulled 1.0.0 once: the portal tells them 1.1.0 is there
    pulled = httpx.get(f"{server.url}/v2/{WEB}/manifests/1.0.0", auth=("token", token), timeout=30)
    assert pulled.status_code == 200

    page = chromium.new_page(viewport=LAPTOP)
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(invited.json()["accept_url"])
    page.get_by_label("Your name").fill("Olga Ops")
    page.get_by_label("Password").fill("globex secret")
    page.get_by_role("button", name="Accept invitation").click()
    page.goto(f"{server.url}/portal/")
    expect(page.get_by_role("heading", name="Your software")).to_be_visible()

    chart = page.locator('.product[data-kind="helm-chart"]')
    expect(chart.locator("h2")).to_contain_text("web")
    expect(chart.locator(".tool")).to_have_count(3)
    assert set(chart.locator(".tool").evaluate_all("els => els.map(e => e.dataset.tool)")) == {"helm"}
    expect(chart.locator("pre").first).to_contain_text(f"helm install web oci://{server.host}/{CHARTS} --version 1.2.0")

    web = page.locator(f'.product[data-repository="{WEB}"]')
    expect(web.locator("h2")).to_contain_text("Acme Web")
    tools = web.locator(".version.newest > .tools").first.locator(".tool")
    tools = tools.evaluate_all("els => els.map(e => e.dataset.tool)")
    assert tools == ["docker", "podman", "containerd", "kubernetes", "skopeo"]
    assert "helm" not in web.inner_text().lower()
    expect(web.locator(".version.newest .notes strong")).to_have_text("Faster start-up.")
    expect(web.locator(".badge", has_text="signed")).to_be_visible()
    deadline_text = re.compile(r"You last pulled 1\.0\.0; 1\.1\.0 is available under your license")
    for _ in range(40):  # the audit writer stores the pull within a second or two
        if deadline_text.search(web.inner_text()):
            break
        page.wait_for_timeout(250)
        page.reload()
    expect(web.locator(".update")).to_have_text(deadline_text)
    web.locator("details.older > summary").click()
    expect(web.locator('details.version[data-tag="1.0.0"]')).to_be_visible()
    shoot(page, screenshots, "01-your-software")

    page.get_by_role("link", name="Tokens").first.click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".created .snippet code").first.inner_text().strip()
    assert secret.startswith("wharf_pull_")
    for code in page.locator(".created .snippet code").all_inner_texts()[1:]:
        assert secret in code
    shoot(page, screenshots, "02-token-created")
    page.get_by_role("button", name="Sign out").click()

    page.goto(f"{server.url}/signin")
    page.fill("#email", "admin@acme.test")
    page.fill("#password", "correct-horse")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/vendor/?$"))
    expect(page.locator(".outdated")).to_contain_text("on 1.0.0, may pull 1.1.0")
    shoot(page, screenshots, "03-vendor-dashboard")
    page.goto(f"{server.url}/vendor/repositories")
    shoot(page, screenshots, "04-vendor-repositories")
    page.goto(f"{server.url}/vendor/repositories/{CHARTS}")
    expect(page.locator(".tool").first).to_contain_text("helm registry login")
    shoot(page, screenshots, "05-vendor-chart")
    page.goto(f"{server.url}/vendor/repositories/{WEB}/tags/1.0.0")
    expect(page.get_by_role("link", name="Globex")).to_be_visible()
    shoot(page, screenshots, "06-vendor-version")
    page.goto(f"{server.url}/vendor/settings")
    page.fill("#accent_color", "#ffd84d")
    page.click("button:has-text('Save settings')")
    expect(page.locator(".flash-success")).to_contain_text("Settings saved.")
    shoot(page, screenshots, "07-vendor-settings-light-accent")
    for path, name in (("/vendor/audit-log", "08-audit-log"), ("/vendor/downloads", "09-downloads")):
        page.goto(server.url + path)
        shoot(page, screenshots, name)
    page.goto(f"{server.url}/vendor/customers/{customer['id']}")
    shoot(page, screenshots, "10-vendor-customer")
    assert errors == [], errors
    page.close()
