"""Signed-in vendor browsers for the portal tests, one per role, created once per database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.vendor import admin_email, signed_in, staff_member
from tests.support.web import Browser


@pytest.fixture(scope="session")
async def staff_emails(wharf: Any, smtp_sink: Any) -> dict[str, str]:
    emails = {"admin": await admin_email(wharf)}
    for role in ("release", "account_manager", "support", "auditor"):
        emails[role] = await staff_member(wharf, smtp_sink, role)
    return emails


@pytest.fixture
async def admin(wharf: Any, staff_emails: dict[str, str]) -> AsyncIterator[Browser]:
    async with await signed_in(wharf, staff_emails["admin"]) as browser:
        yield browser


@pytest.fixture
async def as_role(wharf: Any, staff_emails: dict[str, str]) -> AsyncIterator[Any]:
    """as_role("support") -> a browser signed in as a vendor user with that role."""
    opened: list[Browser] = []

    async def open_as(role: str) -> Browser:
        browser = await signed_in(wharf, staff_emails[role])
        opened.append(browser)
        return browser

    yield open_as
    for browser in opened:
        await browser.__aexit__()
