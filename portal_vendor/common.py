"""What every vendor page shares: rendering with the vendor's navigation, form helpers, paging, confirmation.

Who may see a page is declared on its route (app.guards.staff); what it changes goes through a service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.params import URLEncodedBody
from litestar.response import Template

from app.roles import Permission, permissions
from app.services.errors import Conflict, Invalid
from app.sizes import human_size
from app.times import BadMoment, Edge, aware, parse_moment, shown
from app.web.account import safe_next
from app.web.context import web
from app.web.pages import render
from app.web.users import WebUser
from app.web.words import action_words, image_ref

Req = Request[Any, Any, Any]
Form = URLEncodedBody[dict[str, str]]
PAGE_SIZE = 25
MAX_PAGE = 100_000


def can(user: WebUser, permission: str) -> bool:
    return Permission(permission) in permissions(user.role)


def field_error(exc: Invalid | Conflict) -> dict[str, str]:
    """A service's refusal, shown next to the form field(s) it names."""
    return dict(exc.fields) if isinstance(exc, Invalid) else {exc.field: exc.message}


def as_json(value: Any) -> str:
    """A before/after value as a reader wants it: JSON, but with its characters as typed (autoescaped by Jinja)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def parse_day(text: str | None, field: str, errors: dict[str, str], edge: Edge = "start") -> datetime | None:
    """A YYYY-MM-DD form value as a UTC moment (`edge` "end": the end of that day); an error for the field."""
    try:
        return parse_moment(text, edge)
    except BadMoment:
        errors[field] = "Enter a date as YYYY-MM-DD."
        return None


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
        when=shown,
        image_ref=image_ref,
        action_words=action_words,
        aware=aware,
        as_json=as_json,
        public_url=web(request).public_url,
        registry_host=urlsplit(web(request).public_url).netloc,
        **context,
    )


async def confirm(
    request: Req,
    user: WebUser,
    question: str,
    detail: str,
    action: str,
    button: str,
    fields: dict[str, str] | None = None,
) -> Template:
    """Asked before a destructive action when the browser did not confirm it already (htmx sends confirm=yes);
    `fields` are posted again with the confirmation."""
    return await page(
        request,
        "vendor/confirm.html",
        user,
        section="",
        question=question,
        detail=detail,
        action=action,
        button=button,
        fields=fields or {},
        back=safe_next(urlsplit(request.headers.get("referer") or "").path, "/vendor/"),
    )
