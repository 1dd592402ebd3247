"""Usage over time as bar charts drawn in plain SVG numbers, so both portals show charts without a chart
library or JavaScript: one bar per UTC day (or per month over long spans), scaled to the busiest one.
templates/partials/charts.html draws them with a title, a description, axis labels and an empty state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.reports.rollup import day_start
from app.reports.usage import usage_report
from app.times import utcnow

WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 720, 180, 14, 22, 40  # plot area: LEFT..WIDTH across, TOP..HEIGHT-BOTTOM
MONTHLY_AFTER_DAYS = 92  # longer spans draw a bar per month


@dataclass(frozen=True)
class Bar:
    label: str  # 2026-11-30, or 2026-11 for a month
    value: int
    x: float
    y: float
    width: float
    height: float

    @property
    def day(self) -> str:  # what the dashboard's template calls it
        return self.label


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    peak: int
    total: int
    unit: str = "pull"
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM

    @property
    def description(self) -> str:
        if not self.bars:
            return f"{self.title}: no periods."
        per = "month" if len(self.bars[0].label) == 7 else "day"
        return (
            f"{self.title}, one bar per {per} from {self.bars[0].label} to {self.bars[-1].label}: "
            f"{self.total} {self.plural(self.total)} in all, at most {self.peak} in a {per}."
        )

    def plural(self, n: int) -> str:
        return self.unit if n == 1 else self.unit + "s"


def bar_chart(title: str, values: Iterable[tuple[str, int]], unit: str = "pull") -> BarChart:
    """Bars for labelled values, in the order given, scaled to the largest (zero values stay empty)."""
    pairs = list(values)
    peak = max((v for _, v in pairs), default=0)
    slot = (WIDTH - LEFT) / max(len(pairs), 1)
    plot = HEIGHT - BOTTOM - TOP
    bars = []
    for i, (label, value) in enumerate(pairs):
        height = plot * value / peak if peak else 0
        bars.append(Bar(label, value, LEFT + i * slot + 1, HEIGHT - BOTTOM - height, max(slot - 2, 0.5), height))
    return BarChart(title, bars, peak, sum(v for _, v in pairs), unit)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def daily_bars(pulls_by_day: Mapping[date, int], last_day: date, days_shown: int = 30) -> BarChart:
    """One bar per day of the `days_shown` days ending on `last_day` (the dashboard's chart)."""
    span = days(last_day - timedelta(days=days_shown - 1), last_day)
    title = f"Pulls per day over the last {days_shown} days"
    return bar_chart(title, [(d.isoformat(), pulls_by_day.get(d, 0)) for d in span])


def usage_over_time(title: str, items: Iterable[Mapping[str, Any]], first: date, last: date) -> BarChart:
    """Pulls from a usage report grouped by day, as a bar per day from `first` to `last`, or per month when
    the span is longer than a quarter; days without pulls are drawn as empty bars."""
    by_day: dict[str, int] = {}
    for item in items:
        by_day[str(item["day"])[:10]] = by_day.get(str(item["day"])[:10], 0) + int(item["pulls"])
    span = days(first, last)
    if len(span) <= MONTHLY_AFTER_DAYS:
        return bar_chart(title, [(d.isoformat(), by_day.get(d.isoformat(), 0)) for d in span])
    months: dict[str, int] = {}
    for d in span:
        months[d.isoformat()[:7]] = months.get(d.isoformat()[:7], 0) + by_day.get(d.isoformat(), 0)
    return bar_chart(title, list(months.items()))


CHART_DAYS = 90  # what the customer and repository pages show: about a quarter, a bar per day


async def pulls_chart(
    conn: Any,
    vendor_id: int,
    title: str,
    *,
    customer_id: int | None = None,
    repository: str | None = None,
    days_shown: int = CHART_DAYS,
) -> BarChart:
    """Pulls per UTC day over the last `days_shown` days, from the usage report (so the same numbers as the
    API and the downloads page), for one customer and/or one repository of the vendor."""
    today = utcnow().date()
    first = today - timedelta(days=days_shown - 1)
    report = await usage_report(
        conn, vendor_id, "day", since=day_start(first), customer_id=customer_id, repository=repository
    )
    return usage_over_time(title, report.items, first, today)
