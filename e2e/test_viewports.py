"""Layout at the widths people use, in Chromium: the vendor nav on one line at 1366 px with a logo and a long
name, every table column readable at 390 px (stacked or scrolling inside its card, never hidden or cut off),
and form fields wide enough for their placeholder and their selected option."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page

from tests.support.live_portal import customer, push, vendor_api
from tests.support.oci import helm_chart, image
from tests.support.server import LiveServer, start_server

pytestmark = [pytest.mark.slow]
WIDE, NARROW, PHONE = {"width": 1366, "height": 768}, {"width": 1024, "height": 768}, {"width": 390, "height": 844}

# Cells that cannot be read: hidden, or reaching past the window without a scrolling box to reach them in.
UNREADABLE_CELLS = """() => [...document.querySelectorAll('main td, main th')].filter(cell => {
    if (!cell.textContent.trim() || cell.closest('table.stack thead')) return false;  // stacked: labels instead
    const box = cell.getBoundingClientRect();
    if (getComputedStyle(cell).display === 'none' || box.width === 0) return true;
    if (box.right <= window.innerWidth + 1) return false;
    const wrap = cell.closest('.table-wrap');
    return !(wrap && getComputedStyle(wrap).overflowX === 'auto');
  }).map(cell => cell.textContent.trim().slice(0, 40))"""

# Inputs whose placeholder, and selects whose chosen option, is wider than the room inside the field.
CUT_FIELDS = """() => {
  const measure = document.createElement('canvas').getContext('2d');
  const room = el => { const s = getComputedStyle(el);
    return el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight); };
  const width = (el, text) => { const s = getComputedStyle(el);
    measure.font = `${s.fontWeight} ${s.fontSize} ${s.fontFamily}`; return measure.measureText(text).width; };
  const inputs = [...document.querySelectorAll('main input[placeholder]')]
    .filter(el => el.offsetParent && width(el, el.placeholder) > room(el)).map(el => el.id || el.name);
  const selects = [...document.querySelectorAll('main select')]
    .filter(el => el.offsetParent && el.selectedOptions[0] && width(el, el.selectedOptions[0].text) > room(el) - 20)
    .map(el => el.id || el.name);  // 20 px: the arrow
  return inputs.concat(selects);
}"""


def logo_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x24\x57\xd6" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def layout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data_dir = tmp_path_factory.mktemp("layout-live")
    server = start_server(data_dir, f"sqlite+aiosqlite:///{data_dir / 'wharf.db'}")
    yield server
    server.stop()


def sign_in_vendor(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/signin")
    page.fill("#email", "admin@acme.test")
    page.fill("#password", "correct-horse")
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server.url}/vendor/")


def nav_lines(page: Page) -> dict[str, float]:
    return page.evaluate(
        """() => { const nav = document.querySelector('nav.nav'), links = [...nav.querySelectorAll('a')];
          return {lines: new Set(links.map(a => Math.round(a.getBoundingClientRect().top))).size,
                  hidden: nav.scrollWidth - nav.clientWidth, items: links.length}; }"""
    )


def test_nav_tables_and_fields_fit(layout_server, chromium, screenshots):
    server = layout_server
    push(server, "acme/charts/web", helm_chart("web", "1.2.0", appVersion="4.1"), "1.2.0")
    push(server, "acme/web", image("web-1.0.0"), "1.0.0")
    with vendor_api(server) as api:
        grants = [{"repository": "acme/charts/web", "tags": ["*"]}, {"repository": "acme/web", "tags": ["1.*"]}]
        buyer = customer(server, api, grants)
        schedule = {"name": "Monthly usage for finance", "recipients": ["finance@acme.test", "audit@acme.test"]}
        assert api.post("/report-schedules", json=schedule).status_code == 201
    assert (
        httpx.get(f"{server.url}/v2/acme/web/manifests/1.0.0", auth=("t", buyer.token), timeout=30).status_code == 200
    )

    page = chromium.new_page(viewport=WIDE)
    page.set_default_timeout(15_000)
    sign_in_vendor(page, server)
    page.goto(f"{server.url}/vendor/settings")
    page.fill("#name", "Acme Corporation Software")
    page.click("button:has-text('Save settings')")
    page.set_input_files("#logo", files=[{"name": "logo.png", "mimeType": "image/png", "buffer": logo_png(400, 100)}])
    page.click("button:has-text('Upload')")
    page.goto(f"{server.url}/vendor/")
    assert page.locator(".topbar img.logo").count() == 1
    for size in (WIDE, NARROW):
        page.set_viewport_size(size)
        nav = nav_lines(page)
        assert nav["items"] == 8 and nav["lines"] == 1 and nav["hidden"] <= 1, f"{size['width']} px: {nav}"
        page.screenshot(path=str(screenshots / f"layout-nav-{size['width']}.png"))

    page.set_viewport_size(WIDE)
    page.goto(f"{server.url}/vendor/customers/{buyer.id}/licenses/new")
    assert page.evaluate(CUT_FIELDS) == []
    page.screenshot(path=str(screenshots / "layout-license-1366.png"), full_page=True)
    page.goto(f"{server.url}/vendor/audit-log")
    page.set_viewport_size(PHONE)
    assert page.evaluate(CUT_FIELDS) == []
    assert page.evaluate(UNREADABLE_CELLS) == []
    assert page.locator('td[data-label="Change"]').first.is_visible()  # before/after, on a phone too
    page.screenshot(path=str(screenshots / "layout-audit-390.png"), full_page=True)
    for path in ("/vendor/repositories", "/vendor/repositories/acme/web"):
        page.goto(server.url + path)
        assert page.evaluate(UNREADABLE_CELLS) == [], path
    # every vendor table with rows in it, none of its columns hidden on a phone
    tables = ["/vendor/customers", f"/vendor/customers/{buyer.id}", "/vendor/team", "/vendor/tokens"]
    tables += ["/vendor/reports/schedules", "/vendor/downloads", "/vendor/downloads/events"]
    for path in tables:
        page.goto(server.url + path)
        assert page.locator("main table tbody td").count() > 0, path
        assert page.evaluate(UNREADABLE_CELLS) == [], path
        assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"), path
        page.screenshot(path=str(screenshots / f"layout-{path.strip('/').replace('/', '-')}-390.png"), full_page=True)

    phone = chromium.new_page(viewport=PHONE)
    phone.context.add_cookies([{"name": c.name, "value": c.value, "url": server.url} for c in buyer.portal.cookies.jar])
    for path in ("/portal/", "/portal/tokens", "/portal/team", "/portal/downloads"):
        phone.goto(server.url + path)
        assert phone.url.endswith(path), phone.url
        assert phone.evaluate(UNREADABLE_CELLS) == [], path
        assert phone.evaluate(CUT_FIELDS) == [], path
        assert not phone.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"), path
        phone.screenshot(path=str(screenshots / f"layout-{path.strip('/').replace('/', '-')}-390.png"), full_page=True)
    phone.goto(server.url + "/portal/team")
    assert phone.locator('td[data-label="Email"]').first.is_visible()
    buyer.portal.close()
