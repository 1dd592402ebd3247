"""The monthly statement prints: Chromium renders the vendor's and the customer admin's statement to PDF
(`page.pdf()`, the page's own `@page` size), and the file is an A4 PDF of at least one page whose HTML names
the customer. The navigation is not printed."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
import pytest
from playwright.sync_api import Page, expect

from e2e.test_vendor_journey import sign_in

pytestmark = [pytest.mark.slow]
A4_POINTS = (595.3, 841.9)  # 210 by 297 mm at 72 points an inch (US Letter would be 612 by 792)


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points, read from the page objects' MediaBox (Chromium writes them uncompressed)."""
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    boxes = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert pages >= 1 and boxes
    return [(float(w), float(h)) for w, h in boxes][:pages]


def printed(page: Page) -> bytes:
    page.emulate_media(media="print")
    assert page.locator("form.screen-only").is_hidden()  # the month picker and links stay on screen
    return page.pdf(prefer_css_page_size=True, print_background=False)


def test_statements_print_to_a4_pdf(server, chromium, screenshots):
    name = "Statement Example Ltd"
    grants = [{"repository": "acme/app", "tags": ["^1"]}]
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}, timeout=30) as api:
        customer = api.post("/api/v1/customers", json={"name": name}).json()
        body = {"customer_id": customer["id"], "name": "Statement prod", "grants": grants}
        assert api.post("/api/v1/licenses", json=body).status_code == 201
        invite = {"email": "boss@statement.test", "role": "admin"}
        invited = api.post(f"/api/v1/customers/{customer['id']}/invitations", json=invite).json()
    month = datetime.now(UTC).strftime("%Y-%m")

    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server.url)
    page.goto(f"{server.url}/vendor/customers/{customer['id']}")
    page.click("text=Monthly statement")
    expect(page.locator("h1")).to_contain_text(f"Usage statement: {name}")
    expect(page.locator("main")).to_contain_text("Statement prod")
    assert page.locator("#month").input_value() == month
    page.screenshot(path=str(screenshots / "40-statement.png"), full_page=True)
    pdf = printed(page)
    (screenshots / "40-statement.pdf").write_bytes(pdf)
    for width, height in pdf_pages(pdf):
        assert abs(width - A4_POINTS[0]) < 2 and abs(height - A4_POINTS[1]) < 2, (width, height)
    assert name in page.content()

    # the same statement, the customer admin's own, through an invitation accepted in the browser
    person = chromium.new_page()
    person.set_default_timeout(15_000)
    person.goto(invited["accept_url"])
    person.get_by_label("Your name").fill("Bill Lumbergh")
    person.get_by_label("Password").fill("long enough password")
    person.get_by_role("button", name="Accept invitation").click()
    expect(person.get_by_text("Welcome, Bill Lumbergh")).to_be_visible()
    person.goto(f"{server.url}/portal/statement?month={month}")
    expect(person.locator("h1")).to_contain_text(f"Usage statement: {name}")
    assert len(pdf_pages(printed(person))) >= 1
    person.goto(f"{server.url}/portal/statement?month=2026-13")
    expect(person.locator("[role=alert]")).to_contain_text("is not a month")
    person.close()
    context.close()
