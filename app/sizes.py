"""Sizes as people read them: decimal units (1 kB = 1,000 bytes), as docker and helm print them."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(value) < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str) -> int:
    """`10 GB`, `1.5TB`, `500 MiB` or a number of bytes; decimal units as human_size prints them."""
    number = text.strip().replace(",", "").replace("_", "")
    unit = number.lstrip("0123456789.").strip().lower()
    digits = number[: len(number) - len(number.lstrip("0123456789."))]
    if unit not in _UNITS or not digits.strip(".") or digits.count(".") > 1:
        raise ValueError(f"{text.strip()[:40]!r} is not a size like 10 GB, 500 MB or 1000000")
    return round(float(digits) * _UNITS[unit])


def exact_size(size: int) -> str:
    """A size in the largest decimal unit that holds it exactly (`10 GB`, `1500 MB`), for forms."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return str(size)
