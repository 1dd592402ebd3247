"""Medians over rounds, Wharf/reference ratios (always oriented so that > 1 means Wharf is better) and goals."""

from __future__ import annotations

import statistics
from typing import Any

from bench.runner import PHASES, Results, pushed_bytes

# phase -> (metric, target for the "better" ratio); metrics are the rows printed for the phase
GOALS = {
    "push-100MiB": ("cpu/GB", 1.0),
    "push-20x1MiB": ("cpu/GB", 1.0),
    "pull-100MiB": ("seconds", 1.0),
    "pull-20x1MiB": ("seconds", 1.0),
    "manifest-get": ("rps", 1.5),
}
GOAL_TEXT = {
    "cpu/GB": "Wharf server CPU per GB <= reference's",
    "seconds": "pull at least as fast (ref/wharf time >= 1.0)",
    "rps": "wharf/ref req/s >= 1.5",
}
HIGHER_IS_BETTER = {"rps"}
UNITS = {
    "seconds": "wall s",
    "cpu": "server CPU s",
    "cpu/GB": "CPU s per GB",
    "rps": "req/s",
    "latency_avg_ms": "latency avg ms",
    "latency_p99_ms": "latency p99 ms",
    "cpu_us/req": "CPU us per req",
}


def _metrics(phase: str) -> list[str]:
    if phase == "manifest-get":
        return ["rps", "latency_avg_ms", "latency_p99_ms", "cpu_us/req"]
    return ["seconds", "cpu", "cpu/GB"] if phase.startswith("push") else ["seconds", "cpu"]


def _derived(phase: str, record: dict[str, float]) -> dict[str, float]:
    out = dict(record)
    if phase in pushed_bytes():
        out["cpu/GB"] = record["cpu"] / (pushed_bytes()[phase] / 1e9)
    if "rps" in record:
        out["cpu_us/req"] = record["cpu"] / (record["rps"] * record["seconds"]) * 1e6
    return out


def medians(results: Results) -> dict[str, dict[str, dict[str, float]]]:
    """server -> phase -> metric -> median over rounds."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for server, phases in results.items():
        for phase, records in phases.items():
            rows = [_derived(phase, r) for r in records]
            if rows:
                out.setdefault(server, {})[phase] = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return out


def ratio(metric: str, wharf: float | None, ref: float | None) -> float | None:
    if wharf is None or ref is None or wharf == 0 or ref == 0:
        return None
    return wharf / ref if metric in HIGHER_IS_BETTER else ref / wharf


def table(
    med: dict[str, dict[str, dict[str, float]]], rounds: int, storage: str = "filesystem"
) -> tuple[str, list[dict[str, Any]]]:
    """The printed table, and the goal verdicts."""
    where = (
        "Wharf's blobs on S3 (`rclone serve s3` on loopback), blob GETs answered 307 to presigned URLs;"
        " Wharf's CPU excludes the S3 server's."
        if storage == "s3"
        else "Both servers keep blobs on the local filesystem."
    )
    lines = [
        f"Wharf vs reference (Debian docker-registry, CNCF distribution 2.8): median of {rounds} round(s).",
        where,
        "The reference runs WITHOUT auth; Wharf checks an HTTP Basic token on every request (manifest GETs too).",
        "Server CPU = user+system s of the server process during the phase and until it is idle again (deferred work).",
        "ratio = wharf/ref for req/s, ref/wharf for times, CPU and latency: > 1 means Wharf is better.",
        "",
        f"{'phase':<14}{'metric':<16}{'wharf':>10}{'reference':>11}{'ratio':>8}  goal",
    ]
    verdicts = []
    phases = [p for p in PHASES if any(p in med.get(s, {}) for s in ("wharf", "reference"))]
    for phase in phases:
        for i, metric in enumerate(_metrics(phase)):
            w = med.get("wharf", {}).get(phase, {}).get(metric)
            r = med.get("reference", {}).get(phase, {}).get(metric)
            x = ratio(metric, w, r)
            goal_metric, target = GOALS[phase]
            goal = ""
            if metric == goal_metric:
                met = None if x is None else x >= target
                verdicts.append({"phase": phase, "metric": metric, "ratio": x, "target": target, "met": met})
                goal = f"{GOAL_TEXT[metric]}: {'-' if met is None else 'MET' if met else 'NOT MET'}"
            cells = [_fmt(v) for v in (w, r)] + [f"{x:.2f}x" if x is not None else "-"]
            lines.append(
                f"{phase if i == 0 else '':<14}{UNITS[metric]:<16}{cells[0]:>10}{cells[1]:>11}{cells[2]:>8}  {goal}"
            )
    return "\n".join(lines), verdicts


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 1000 else f"{value:.2f}"
