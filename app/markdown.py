"""Markdown the vendor writes (welcome text, release notes) as safe HTML: markdown-it-py with raw HTML
disabled and line breaks kept, then nh3 (ammonia) keeping plain formatting, http(s) links, https images."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_PARSER = MarkdownIt("commonmark", {"html": False, "breaks": True, "linkify": False})
TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "a",
    "img",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
}
ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt"}}
SCHEMES = {"http", "https", "mailto"}


def _https_images(tag: str, attribute: str, value: str) -> str | None:
    """Images load on the reader's page: only from https addresses (a plain-http one would be mixed content)."""
    if tag == "img" and attribute == "src" and not value.startswith("https://"):
        return None
    return value


def markdown(text: str | None) -> Markup:
    """HTML for `text`; empty for none. Headings are kept but read as the page's smaller headings."""
    if not text:
        return Markup("")
    html = _PARSER.render(text)
    cleaned = nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel="nofollow noopener",
        attribute_filter=_https_images,
    )
    return Markup(cleaned)  # noqa: S704 - sanitized by nh3 just above
