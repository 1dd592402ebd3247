"""Every page carries the security headers (CSP without inline scripts, nosniff, a referrer policy), error
pages and static files included; the registry and the probes do not need them; templates hold no inline script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("path", ["/signin", "/password/forgot", "/no-such-page", "/static/htmx.min.js", "/vendor/"])
async def test_pages_carry_the_security_headers(wharf, path):
    r = await wharf.client.get(path)
    policy = r.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'self'" and directives["form-action"] == "'self'"
    assert "https:" in directives["img-src"]  # vendors' logos are external https images
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["referrer-policy"] == "same-origin"


async def test_the_api_docs_have_their_own_policy_and_no_cdn(wharf):
    r = await wharf.client.get("/api/schema")
    assert r.status_code == 200 and "script-src 'self';" in r.headers["content-security-policy"]
    assert "https://" not in r.text and "<script>" not in r.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
        assert (await wharf.client.get(asset)).status_code == 200, asset


async def test_machines_get_no_page_headers(wharf):
    for path in ("/v2/", "/token", "/healthz"):
        r = await wharf.client.get(path)
        assert "content-security-policy" not in r.headers, path


def test_templates_hold_no_inline_script_or_event_handler():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
