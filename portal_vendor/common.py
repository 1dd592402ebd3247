"""What every vendor page shares: who may see it, rendering with the vendor's navigation, paging, confirmation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import URLEncodedBody
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import services
from app.models import Organization
from app.roles import Permission, permissions
from app.web.account import safe_next
from app.web.context import web
from app.web.pages import render
from app.web.users import WebUser, require_user

Req = Request[Any, Any, Any]
Form = URLEncodedBody[dict[str, str]]
PAGE_SIZE = 25
MAX_PAGE = 100_000


async def staff(request: Req, permission: Permission = Permission.READ) -> WebUser:
    """The signed-in vendor user, if their role grants `permission` (403 otherwise; 404 for customers)."""
    user = await require_user(request, "vendor")
    if permission not in permissions(user.role):
        raise PermissionDeniedException(f"the role '{user.role}' does not allow {permission.value}")
    return user


def can(user: WebUser, permission: str) -> bool:
    return Permission(permission) in permissions(user.role)


async def vendor_slug(session: AsyncSession, user: WebUser) -> str:
    return await session.scalar(select(Organization.slug).where(Organization.id == user.vendor_id)) or ""


def reading(request: Req) -> AsyncSession:
    """A session for a page's reads: no write lock, so it never waits for (or blocks) a change on SQLite."""
    return AsyncSession(web(request).engine, expire_on_commit=False)


def forget_cached_access(request: Req) -> None:
    """Drop the registry's cached licenses and tokens so a change bites on the next pull."""
    request.app.state.policy.forget()


def record(
    session: AsyncSession, request: Req, user: WebUser, action: str, kind: str, oid: object, **sides: Any
) -> None:
    """An admin audit entry with the person and their address, committed with the change."""
    web(request).record(session, request, user, action, kind, oid, sides.get("before"), sides.get("after"))


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def as_json(value: Any) -> str:
    """A before/after value as a reader wants it: JSON, but with its characters as typed (autoescaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def when(value: datetime | date | None, with_time: bool = True) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = services.aware(value).astimezone(UTC)  # type: ignore[union-attr]
        return value.strftime("%Y-%m-%d %H:%M UTC" if with_time else "%Y-%m-%d")
    return value.isoformat()


def parse_day(text: str, field: str, errors: dict[str, str], end_of_day: bool = False) -> datetime | None:
    """A YYYY-MM-DD form value as a UTC datetime; an error for the field when it is not a date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None
    return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)


def parse_int(text: str | None, field: str, errors: dict[str, str], default: int = 0) -> int:
    text = (text or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        errors[field] = "Enter a whole number."
        return default


def query_url(path: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


@dataclass(frozen=True)
class Pager:
    """Links to the neighbouring pages of a list (offset-based; cursors pass their own next link)."""

    page: int
    has_next: bool
    base: str
    params: dict[str, Any]

    @property
    def prev_url(self) -> str | None:
        return (
            query_url(self.base, **self.params, page=self.page - 1 if self.page > 2 else None)
            if self.page > 1
            else None
        )

    @property
    def next_url(self) -> str | None:
        return query_url(self.base, **self.params, page=self.page + 1) if self.has_next else None


def page_number(value: str | int | None) -> int:
    try:
        return min(max(1, int(value or 1)), MAX_PAGE)
    except ValueError:
        return 1


def not_found(what: str) -> NotFoundException:
    return NotFoundException(f"no such {what}")


async def page(request: Req, template: str, user: WebUser, *, section: str, **context: Any) -> Template:
    """A vendor page: the user's permissions, the current section for the navigation, the format helpers."""
    return await render(
        request,
        template,
        user=user,
        section=section,
        can=lambda permission: can(user, permission),
        human_size=human_size,
        when=when,
        as_json=as_json,
        public_url=web(request).public_url,
        registry_host=urlsplit(web(request).public_url).netloc,
        **context,
    )


async def confirm(request: Req, user: WebUser, question: str, detail: str, action: str, button: str) -> Template:
    """Asked before a destructive action when the browser did not confirm it already (htmx sends confirm=yes)."""
    return await page(
        request,
        "vendor/confirm.html",
        user,
        section="",
        question=question,
        detail=detail,
        action=action,
        button=button,
        back=safe_next(urlsplit(request.headers.get("referer") or "").path, "/vendor/"),
    )
