"""What the Prometheus metrics cost one request: the middleware and the metered EventSink, timed alone.

Run: .venv/bin/python -m bench.metrics_overhead [--requests N] [--runs N]

A bare ASGI app that answers like a manifest GET (start + body) is timed with and without the
RequestMetrics middleware around it; the MeteredSink is timed emitting manifest.get events into a
discarding sink. Medians of several runs, in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from app.http_metrics import RequestMetrics
from app.metrics import WharfMetrics
from registry.events import DiscardingSink, RegistryEvent

SCOPE = {"type": "http", "path": "/v2/bench/small/manifests/v1", "method": "GET"}


async def bare_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _send(message: Any) -> None:
    return None


async def _receive() -> Any:
    return {}


async def per_call(app: Any, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await app(SCOPE, _receive, _send)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_overhead", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    metrics = WharfMetrics()
    wrapped = RequestMetrics(bare_app, metrics)  # type: ignore[arg-type]
    sink = metrics.sink(DiscardingSink())
    event = RegistryEvent(action="manifest.get", repository="bench/small", subject="t", bytes=1234)
    middleware, emits = [], []
    for _ in range(args.runs):
        bare = asyncio.run(per_call(bare_app, args.requests))
        middleware.append(asyncio.run(per_call(wrapped, args.requests)) - bare)
        started = time.perf_counter()
        for _ in range(args.requests):
            sink.emit(event)
        emits.append((time.perf_counter() - started) / args.requests * 1e6)
    print(f"middleware: {summary(middleware)} µs per request")
    print(f"metered sink: {summary(emits)} µs per event")


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} (runs: {min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    main()
