"""Medians over rounds, Wharf/reference ratios and the issue's goals, as the table the README shows."""

from __future__ import annotations

import operator
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.runner import PHASES, Results, pushed_bytes

Medians = dict[str, dict[str, dict[str, float]]]  # server -> phase -> metric -> median over rounds
UNITS = {
    "seconds": "wall s",
    "cpu/GB": "server CPU s per GB",
    "rps": "req/s",
    "latency_p50_ms": "p50 ms",
    "latency_p99_ms": "p99 ms",
    "cpu_us/req": "server CPU µs per req",
}
METRICS = {
    "push": ["seconds", "cpu/GB"],
    "pull": ["seconds", "cpu/GB"],
    "manifest": ["rps", "latency_p50_ms", "latency_p99_ms", "cpu_us/req"],
    "tags": ["latency_p50_ms", "latency_p99_ms"],
}


@dataclass(frozen=True)
class Goal:
    phase: str
    metric: str
    text: str
    target: float
    test: Callable[[float, float], bool]
    versus: str = "reference"  # whose number Wharf's is divided by; "" for an absolute target

    def value(self, med: Medians) -> float | None:
        mine = med.get("wharf-s3" if self.versus == "wharf" else "wharf", {}).get(self.phase, {}).get(self.metric)
        if mine is None:
            return None
        if not self.versus:
            return mine
        theirs = med.get(self.versus, {}).get(self.phase, {}).get(self.metric)
        return mine / theirs if theirs else None


_AT_LEAST, _AT_MOST = operator.ge, operator.le
GOALS = [
    Goal("manifest-get-customer", "rps", "req/s at least 5x the reference's", 5.0, _AT_LEAST),
    Goal("manifest-get-customer", "latency_p99_ms", "p99 at most half the reference's", 0.5, _AT_MOST),
    Goal("pull-100MiB", "seconds", "wall time at most 0.8x the reference's", 0.8, _AT_MOST),
    Goal("pull-100MiB", "cpu/GB", "server CPU per GB at most 0.5x the reference's", 0.5, _AT_MOST),
    Goal("pull-20x1MiB", "seconds", "wall time at most 0.8x the reference's", 0.8, _AT_MOST),
    Goal("pull-20x1MiB", "cpu/GB", "server CPU per GB at most 0.5x the reference's", 0.5, _AT_MOST),
    Goal("push-100MiB", "cpu/GB", "server CPU per GB at most 1.0x the reference's", 1.0, _AT_MOST),
    Goal("push-20x1MiB", "cpu/GB", "server CPU per GB at most 1.0x the reference's", 1.0, _AT_MOST),
    Goal("push-100MiB", "seconds", "on S3: wall time at most 1.2x the filesystem store's", 1.2, _AT_MOST, "wharf"),
    Goal("push-20x1MiB", "seconds", "on S3: wall time at most 1.2x the filesystem store's", 1.2, _AT_MOST, "wharf"),
    Goal("tags-list-customer", "latency_p50_ms", "10,000 tags for a customer: under 50 ms", 50.0, operator.lt, ""),
]


def _derived(phase: str, record: dict[str, float]) -> dict[str, float]:
    out = dict(record)
    if phase in pushed_bytes():
        out["cpu/GB"] = record["cpu"] / (pushed_bytes()[phase] / 1e9)
    if "rps" in record:
        out["cpu_us/req"] = record["cpu"] / (record["rps"] * record["seconds"]) * 1e6
    return out


def medians(results: Results) -> Medians:
    out: Medians = {}
    for server, phases in results.items():
        for phase, records in phases.items():
            rows = [_derived(phase, r) for r in records]
            if rows:
                out.setdefault(server, {})[phase] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return out


def verdicts(med: Medians, load: dict[str, Any] | None) -> list[dict[str, Any]]:
    found = []
    for goal in GOALS:
        value = goal.value(med)
        met = None if value is None else goal.test(value, goal.target)
        found.append({"phase": goal.phase, "metric": goal.metric, "goal": goal.text, "value": value, "met": met})
    if load is not None:
        growth = (load["rss_peak"] - load["rss_start"]) / 2**20
        answered, recorded = load["manifest_gets"], load["recorded_manifest_gets"]
        for text, value, met in (
            ("load: no error", load["errors"], load["errors"] == 0),
            ("load: server RSS growth under 100 MiB", growth, growth < 100),
            ("load: manifest GETs recorded = answered", recorded, recorded == answered),
        ):
            found.append({"phase": "load", "metric": "", "goal": text, "value": value, "met": met})
    return found


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _ratio(metric: str, wharf: float | None, other: float | None) -> str:
    return f"{wharf / other:.2f}x" if wharf is not None and other else "-"


def markdown(med: Medians, found: list[dict[str, Any]], header: list[str], load: dict[str, Any] | None) -> str:
    """The README's table: every phase's medians for each server, Wharf/reference, and the goals."""
    lines = [
        *header,
        "",
        "| phase | metric | Wharf | reference | nginx (ceiling) or Wharf on S3 | Wharf / reference |",
        "|---|---|---|---|---|---|",
    ]
    for phase in PHASES:
        metrics = METRICS[phase.split("-")[0]]
        for metric in metrics:
            w = med.get("wharf", {}).get(phase, {}).get(metric)
            r = med.get("reference", {}).get(phase, {}).get(metric)
            x = med.get("nginx", {}).get(phase, {}).get(metric)
            s3 = med.get("wharf-s3", {}).get(phase, {}).get(metric)
            if w is None and r is None:
                continue
            third = _fmt(s3 if s3 is not None else x)
            lines.append(f"| {phase} | {UNITS[metric]} | {_fmt(w)} | {_fmt(r)} | {third} | {_ratio(metric, w, r)} |")
    if load is not None:
        growth = (load["rss_peak"] - load["rss_start"]) / 2**20
        lines += [
            "",
            f"Load: {load['concurrency']} concurrent pulls by {load['tokens']} customer tokens for "
            f"{load['seconds']:.0f} s: {load['pulls']:,} pulls, {load['bytes'] / 1e9:,.1f} GB, "
            f"{load['errors']} errors, RSS {load['rss_start'] / 2**20:.0f} → {load['rss_peak'] / 2**20:.0f} MiB "
            f"(+{growth:.0f} MiB), manifest GETs answered {load['manifest_gets']:,}, recorded "
            f"{load['recorded_manifest_gets']:,}.",
        ]
    lines += ["", "| goal | phase | value | met |", "|---|---|---|---|"]
    for v in found:
        met = "-" if v["met"] is None else "yes" if v["met"] else "**no**"
        lines.append(f"| {v['goal']} | {v['phase']} | {_fmt(v['value'])} | {met} |")
    return "\n".join(lines)
