"""Bar charts of usage over time: scaled to the busiest period, empty periods kept, months over long spans."""

from __future__ import annotations

from datetime import date, timedelta

from app.web.charts import daily_bars, usage_over_time


def test_daily_bars_scale_to_the_busiest_day_and_keep_empty_days():
    last = date(2026, 11, 30)
    chart = daily_bars({last: 4, last - timedelta(days=2): 2, last - timedelta(days=40): 99}, last)
    assert len(chart.bars) == 30 and chart.bars[-1].label == "2026-11-30" and chart.bars[0].label == "2026-11-01"
    assert chart.total == 6 and chart.peak == 4
    assert chart.bars[-1].height == 2 * chart.bars[-3].height and chart.bars[-2].height == 0
    assert chart.bars[-1].y + chart.bars[-1].height == chart.baseline  # bars stand on the axis
    assert daily_bars({}, last).peak == 0 and all(b.height == 0 for b in daily_bars({}, last).bars)
    assert "6 pulls in all, at most 4 in a day" in chart.description


def test_usage_over_time_draws_days_then_months_for_long_spans():
    items = [{"day": "2026-01-05", "pulls": 3}, {"day": "2026-03-01", "pulls": 1}, {"day": "2026-03-02", "pulls": 1}]
    short = usage_over_time("Pulls", items, date(2026, 2, 20), date(2026, 3, 5))
    assert [b.label for b in short.bars][:1] == ["2026-02-20"] and len(short.bars) == 14 and short.total == 2
    long = usage_over_time("Pulls", items, date(2026, 1, 1), date(2026, 6, 30))
    assert [(b.label, b.value) for b in long.bars] == [
        ("2026-01", 3),
        ("2026-02", 0),
        ("2026-03", 2),
        ("2026-04", 0),
        ("2026-05", 0),
        ("2026-06", 0),
    ]
    assert "one bar per month from 2026-01 to 2026-06" in long.description and long.peak == 3
