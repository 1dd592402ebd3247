"""Colours that read: WCAG 2 contrast, and text colours chosen for a vendor's accent (AA, 4.5:1)."""

from __future__ import annotations

AA = 4.5  # WCAG 2 AA contrast for normal text
WHITE, INK = "#ffffff", "#111827"
PAGE_BACKGROUND = "#f5f6f8"  # --bg in wharf.css: links sit on it and on white cards


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """White or near-black, whichever reads on `background` (one of them always reaches 4.5:1)."""
    if contrast(background, WHITE) >= AA:
        return WHITE
    return INK if contrast(background, INK) >= AA else "#000000"


def readable_on_page(color: str) -> str:
    """`color`, darkened just enough to be read as text (links) on the page and on cards."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(21):
        k = 1 - step * 0.05
        shade = f"#{round(r * k):02x}{round(g * k):02x}{round(b * k):02x}"
        if contrast(shade, PAGE_BACKGROUND) >= AA:
            return shade
    return INK
