"""The vendor's first day: sign in, create a customer, write a license whose semver rule previews the right tags,
create a pull token, pull with skopeo, and see the pull on the customer's page. Screenshots of the main pages at
laptop and phone widths land in e2e/screenshots/."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from e2e.conftest import LAPTOP, PHONE, Skopeo

TAGS = ["0.9.0", "1.0.0", "1.5.0", "2.0.0", "latest"]


def shoot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}/vendor/")
    expect(page).to_have_url(re.compile(r"/signin\?next=/vendor"))
    page.fill("#email", "admin@acme.test")
    page.fill("#password", "correct-horse")
    page.click("button:has-text('Sign in')")
    expect(page).to_have_url(re.compile(r"/vendor/?$"))


def test_vendor_journey_from_sign_in_to_a_customer_pull(server, chromium, screenshots, tmp_path):
    skopeo = Skopeo(server.host)
    skopeo.push_tags(tmp_path / "images", "acme/app", TAGS, f"ci:{server.token}")
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)

    page.goto(f"{server.url}/signin")
    shoot(page, screenshots, "00-signin")
    sign_in(page, server.url)
    shoot(page, screenshots, "01-dashboard-empty")

    page.click("nav >> text=Customers")
    page.click("text=New customer")
    page.fill("#name", "Globex")
    page.click("button:has-text('Create customer')")
    expect(page.locator("h1")).to_have_text("Globex")
    expect(page.locator(".flash-success")).to_contain_text("Customer Globex created.")

    page.click("text=New license")
    page.fill("#repository_0", "acme/app")
    page.fill("#tags_0", ">=1.0.0 <2.0.0")  # typed: htmx asks for the preview as it changes
    matched = page.locator("#preview .tag.ok")
    expect(matched).to_have_text(["1.0.0", "1.5.0"])
    shoot(page, screenshots, "02-license-preview")
    page.click("button:has-text('Create license')")
    expect(page.locator(".flash-success")).to_contain_text("License Globex production created.")
    expect(page.locator("#preview .tag.ok")).to_have_text(["1.0.0", "1.5.0"])

    page.click(".crumbs >> text=Globex")
    customer_url = page.url
    page.fill("#token-name", "production cluster")
    page.click("button:has-text('Create pull token')")
    secret = page.locator(".flash-success .snippet pre").first.inner_text().strip()
    assert secret.startswith("wharf_pull_")
    shoot(page, screenshots, "03-customer-token-created")

    pulled = skopeo.pull("acme/app:1.5.0", f"globex:{secret}", tmp_path / "pulled")
    assert pulled.returncode == 0, pulled.stderr
    refused = skopeo.pull("acme/app:2.0.0", f"globex:{secret}", tmp_path / "refused")
    assert refused.returncode != 0 and "not covered by license" in refused.stderr

    deadline = time.monotonic() + 20
    while True:  # the audit writer records pulls within a second or two
        page.goto(customer_url)
        pulls = page.locator("#pulls")
        if pulls.filter(has_text="acme/app:1.5.0").count() and pulls.filter(has_text="denied").count():
            break
        assert time.monotonic() < deadline, "the pull never showed up on the customer's page"
        time.sleep(0.5)
    expect(page.locator("#pulls .badge.bad")).to_have_attribute("title", re.compile("not covered by license"))
    shoot(page, screenshots, "04-customer-with-pulls")

    # htmx: the browser confirms, then the token is revoked without a confirmation page
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#pull-tokens button:has-text('Revoke')")
    expect(page.locator(".flash-success")).to_contain_text("Token production cluster revoked.")
    expect(page.locator("#pull-tokens .badge.bad")).to_have_text("revoked")
    assert skopeo.pull("acme/app:1.5.0", f"globex:{secret}", tmp_path / "after").returncode != 0

    for width, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for name, path in (
            ("dashboard", "/vendor/"),
            ("repositories", "/vendor/repositories"),
            ("repository", "/vendor/repositories/acme/app"),
            ("customers", "/vendor/customers"),
            ("customer", "/vendor/customers/2"),
            ("license", "/vendor/licenses/1"),
            ("downloads", "/vendor/downloads"),
            ("audit-log", "/vendor/audit-log"),
            ("team", "/vendor/team"),
            ("tokens", "/vendor/tokens"),
            ("settings", "/vendor/settings"),
            ("not-found", "/vendor/customers/999"),
        ):
            response = page.goto(server.url + path)
            assert response is not None and response.status == (404 if name == "not-found" else 200), path
            shoot(page, screenshots, f"{width}-{name}")
            sideways = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not sideways, f"{path} scrolls sideways at {viewport['width']} px"
    assert errors == [], errors
    context.close()


def test_live_customer_search_narrows_the_list(server, chromium):
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server.url)
    for name in ("Initech", "Initrode", "Hooli"):
        page.goto(f"{server.url}/vendor/customers/new")
        page.fill("#name", name)
        page.click("button:has-text('Create customer')")
    page.goto(f"{server.url}/vendor/customers")
    page.fill("#q", "init")  # no submit: htmx filters as the user types
    expect(page.locator("#results tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"q=init"))
    context.close()
