"""Pages under their Content-Security-Policy in a real browser: the API docs (Swagger UI) render from
Wharf's own files with no request leaving the server, and the portal's scripts (htmx, copy buttons) run
with no inline script allowed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from e2e.conftest import LAPTOP
from e2e.test_vendor_journey import sign_in


def watch(page, server_url: str) -> tuple[list[str], list[str]]:
    """(CSP violations and page errors, requests to anywhere but the server) seen by `page`."""
    problems: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None)

    def route(request_route):
        url = request_route.request.url
        if url.startswith(server_url) or url.startswith("data:"):
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    page.route("**/*", route)
    return problems, outside


def test_the_api_docs_render_offline_under_their_policy(server, chromium):
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems, outside = watch(page, server.url)
    response = page.goto(f"{server.url}/api/schema")
    assert response is not None and "script-src 'self'" in response.headers["content-security-policy"]
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Wharf automation API")
    expect(page.locator(".opblock").first).to_be_visible()  # the operations, from /api/schema/openapi.json
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    assert outside == [] and problems == [], (outside, problems)
    context.close()


def test_portal_scripts_run_under_the_pages_policy(server, chromium):
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems, outside = watch(page, server.url)
    sign_in(page, server.url)
    response = page.goto(f"{server.url}/vendor/repositories")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    copy = page.locator("[data-copy]").first
    copy.click()  # wharf.js, not an inline onclick: the CSP would refuse that
    expect(copy).to_have_text(re.compile(r"Copied|Press Ctrl\+C"))
    page.goto(f"{server.url}/vendor/customers")
    page.fill("#q", "zzz-nobody")  # htmx, under the same policy
    expect(page).to_have_url(re.compile(r"q=zzz-nobody"))
    assert outside == [] and problems == [], (outside, problems)
    context.close()
