"""A bar chart of daily pulls as plain SVG numbers, so the dashboard needs no chart library."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH, HEIGHT, TOP = 720, 160, 12


@dataclass(frozen=True)
class Bar:
    day: date
    pulls: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    peak: int
    total: int
    width: int = WIDTH
    height: int = HEIGHT


def daily_bars(pulls_by_day: dict[date, int], last_day: date, days: int = 30) -> BarChart:
    """One bar per day ending on `last_day`, scaled to the busiest day (days without pulls stay empty)."""
    span = [last_day - timedelta(days=days - 1 - i) for i in range(days)]
    peak = max((pulls_by_day.get(d, 0) for d in span), default=0)
    slot = WIDTH / days
    bars = []
    for i, day in enumerate(span):
        pulls = pulls_by_day.get(day, 0)
        height = (HEIGHT - TOP) * pulls / peak if peak else 0
        bars.append(Bar(day, pulls, i * slot + 1, HEIGHT - height, slot - 2, height))
    return BarChart(bars, peak, sum(b.pulls for b in bars))
