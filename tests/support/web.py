"""A cookie-keeping HTTP client that fills in the CSRF field the way a browser submits a page's form."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

# The form field, or (pages without a form) the token htmx sends from <body hx-headers>.
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"|"x-csrftoken": "([^"]+)"')


class Browser:
    def __init__(self, app: Any, ip: str | None = None, base_url: str = "http://testserver.local") -> None:
        # Each browser gets its own address, so the per-address sign-in throttle of one test spares the others.
        self.ip = ip or f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
        transport = httpx.ASGITransport(app=app, client=(self.ip, 50000))
        self.client = httpx.AsyncClient(transport=transport, base_url=base_url)
        self.csrf = ""

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.client.aclose()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        if found := CSRF_FIELD.search(response.text):
            self.csrf = found.group(1) or found.group(2)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Submit a form as the last page fetched would (with its CSRF token)."""
        return await self.client.post(path, data={"_csrf_token": self.csrf, **(data or {})}, **kwargs)

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        await self.get("/signin")
        return await self.post("/signin", {"email": email, "password": password})


@dataclass
class Person:
    email: str
    password: str
    customer_id: int


async def customer_user(wharf: Any, role: str = "admin", customer_id: int | None = None) -> Person:
    """A customer (new unless given) and a user of it, created the real way: API invitation, then acceptance."""
    api = {"Authorization": f"Bearer {wharf.token}"}
    if customer_id is None:
        name = f"Customer {uuid.uuid4().hex[:6]}"
        customer_id = (await wharf.client.post("/api/v1/customers", json={"name": name}, headers=api)).json()["id"]
    email = f"{role}-{uuid.uuid4().hex[:8]}@customer.test"
    invited = await wharf.client.post(
        f"/api/v1/customers/{customer_id}/invitations", json={"email": email, "role": role}, headers=api
    )
    path = httpx.URL(invited.json()["accept_url"]).path
    async with Browser(wharf.app) as browser:
        await browser.get(path)
        accepted = await browser.post(path, {"name": role.title() + " Person", "password": "long enough"})
        assert accepted.status_code == 303, accepted.text  # accepted, and signed in
    return Person(email, "long enough", customer_id)
