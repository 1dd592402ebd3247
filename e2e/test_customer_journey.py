"""The customer's journey: invited by the vendor's API, the mail arrives, the user accepts, signs in,
sees only the entitled tags, creates a token, pulls with skopeo (an entitled tag works, another is
denied) and finds the pull in the download history. Screenshots at laptop and phone widths."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import require_tool
from tests.support.oci import image, write_layout

pytestmark = [pytest.mark.slow, pytest.mark.clients]
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    command = [require_tool("skopeo"), "--insecure-policy", "copy", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def publish(server, tmp_path: Path, repo: str, tags: list[str]) -> None:
    """The vendor's release pipeline: push each tag with skopeo and the vendor token."""
    for tag in tags:
        img = image(f"{repo}-{tag}")
        layout = write_layout(tmp_path / f"src-{tag}", {tag: img.manifest}, img.blobs)
        pushed = skopeo(
            "--dest-tls-verify=false",
            "--dest-creds",
            f"ci:{server.token}",
            f"oci:{layout}:{tag}",
            f"docker://{server.host}/{repo}:{tag}",
        )
        assert pushed.returncode == 0, pushed.stderr


def shoot(page: Page, folder: Path, name: str) -> None:
    for label, size in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.screenshot(path=folder / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size(LAPTOP)


def test_invited_customer_pulls_what_the_license_allows(portal_server, mail_sink, chromium, screenshots, tmp_path):
    server = portal_server
    repo = "acme/journey"
    publish(server, tmp_path, repo, ["1.0.0", "1.1.0", "2.0.0"])
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=30) as api:
        customer = api.post("/api/v1/customers", json={"name": "Globex"}).json()
        grants = [{"repository": repo, "tags": ["1.*"]}]
        license_ = {"customer_id": customer["id"], "name": "Globex Prod", "grants": grants}
        assert api.post("/api/v1/licenses", json=license_).status_code == 201
        invite = {"email": "ops@globex.test", "role": "admin"}
        invited = api.post(f"/api/v1/customers/{customer['id']}/invitations", json=invite)
    assert invited.status_code == 201 and invited.json()["mailed"] is True

    link = mail_sink.wait_for("ops@globex.test", "invitation").link("/portal/invitations/")
    page = chromium.new_page(viewport=LAPTOP)
    page.goto(server.url + link)
    expect(page.get_by_role("heading", name="Join Globex")).to_be_visible()
    shoot(page, screenshots, "01-invitation")
    page.get_by_label("Your name").fill("Olga Ops")
    page.get_by_label("Password").fill("globex secret")
    page.get_by_role("button", name="Accept invitation").click()
    # accepting signs Olga in; the API handed the link to automation, so her address awaits confirmation
    expect(page.get_by_text("Welcome, Olga Ops: you joined Globex.")).to_be_visible()
    expect(page.get_by_text("Please confirm your email address")).to_be_visible()
    shoot(page, screenshots, "02-welcome")
    confirm = mail_sink.wait_for("ops@globex.test", "Confirm your email address").link("/account/verify/")
    page.goto(server.url + confirm)
    expect(page.get_by_text("Thank you: ops@globex.test is confirmed.")).to_be_visible()
    expect(page.get_by_text("confirmed", exact=True)).to_be_visible()
    page.get_by_role("link", name="Your software").click()

    expect(page.get_by_role("heading", name="Your software")).to_be_visible()
    newest = page.locator(".version.newest").get_attribute("data-tag")
    older = page.locator("details.version").evaluate_all("els => els.map(e => e.dataset.tag)")
    assert (newest, older) == ("1.1.0", ["1.0.0"])  # 2.0.0 is not licensed
    shoot(page, screenshots, "03-software")

    page.get_by_role("link", name="Tokens").first.click()
    page.get_by_label("Name").fill("ci pipeline")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".snippet code").first.inner_text().strip()
    assert re.fullmatch(r"wharf_pull_\S+", secret)
    shoot(page, screenshots, "04-token-created")

    allowed = skopeo(
        "--src-tls-verify=false",
        "--src-creds",
        f"token:{secret}",
        f"docker://{server.host}/{repo}:1.1.0",
        f"oci:{tmp_path / 'pulled'}:1.1.0",
    )
    assert allowed.returncode == 0, allowed.stderr
    denied = skopeo(
        "--src-tls-verify=false",
        "--src-creds",
        f"token:{secret}",
        f"docker://{server.host}/{repo}:2.0.0",
        f"oci:{tmp_path / 'denied'}:2.0.0",
    )
    assert denied.returncode != 0 and "not covered by license" in denied.stderr

    deadline = time.monotonic() + 15
    while True:  # the audit writer stores events in the background, within about a second
        page.goto(server.url + "/portal/downloads")
        if page.get_by_text(f"{repo}:1.1.0").count() and page.get_by_text(f"{repo}:2.0.0").count():
            break
        assert time.monotonic() < deadline, "the pull did not appear in the download history"
        time.sleep(0.5)
    expect(page.locator("#results")).to_contain_text("ci pipeline")
    shoot(page, screenshots, "05-downloads")
    page.get_by_label("Result").select_option("denied")
    expect(page.locator("#results")).not_to_contain_text(f"{repo}:1.1.0")  # htmx swapped in the filtered results
    assert "decision=denied" in page.url

    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team")).to_be_visible()
    shoot(page, screenshots, "06-team")
    page.goto(server.url + "/portal/no-such-page")
    shoot(page, screenshots, "07-not-found")
    page.goto(server.url + "/portal/")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.close()
