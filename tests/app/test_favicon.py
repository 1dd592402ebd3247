"""Browsers ask every site for /favicon.ico: Wharf answers with its icon, which every page links too."""

from __future__ import annotations


async def test_favicon_is_served_and_linked_by_pages(wharf):
    r = await wharf.client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.content.startswith(b"<svg") and "max-age" in r.headers["cache-control"]
    assert r.headers["content-security-policy"] == "default-src 'none'"  # an SVG is a document: it runs nothing
    page = await wharf.client.get("/signin")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    assert (await wharf.client.get("/static/favicon.svg")).content == r.content
