"""Prometheus metrics. The request path only bumps plain integers (the event loop is the one writer);
everything is turned into metric families when scraped. Registry-level counts arrive through the EventSink."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from app.event_spool.depth import SpoolDepth
from app.event_spool.spool import Spool
from app.policy import WharfPolicy
from registry.events import EventSink, RegistryEvent

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
SIZE_BUCKETS = (KiB, 16 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB, 4 * GiB, 16 * GiB)


class Buckets:
    """A histogram as plain counts: one bisect and two additions per observation."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        counts, running = list(self.counts), 0
        out: list[tuple[str, float]] = []
        for bound, count in zip([*map(repr, map(float, self.bounds)), "+Inf"], counts, strict=True):
            running += count
            out.append((bound, running))
        return out


class WharfMetrics:
    """What Wharf counts, and the CollectorRegistry (one per app) that exports it."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}  # (route family, method, status) -> count
        self.latency: dict[tuple[str, str], Buckets] = {}  # (route family, method) -> seconds
        self.pulls = self.denials = 0
        self.served = {"manifest": 0, "blob": 0, "blob_redirect": 0}
        self.upload_sizes = Buckets(SIZE_BUCKETS)
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.registry.register(_Exporter(self))
        self._watched: list[tuple[SpoolDepth, WharfPolicy]] = []

    def watch(self, spool: Spool, policy: WharfPolicy) -> None:
        """Read at scrape time, off the request path: the spool's depth and the credential cache."""
        self._watched.append((SpoolDepth(spool), policy))

    def sink(self, inner: EventSink) -> MeteredSink:
        return MeteredSink(inner, self)

    def families(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "wharf_http_requests", "HTTP requests answered, by route family", labels=["route", "method", "status"]
        )
        for (route, method, status), count in list(self.requests.items()):
            requests.add_metric([route, method, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "wharf_http_request_duration_seconds",
            "Time from request to the last byte of the answer, by route family",
            labels=["route", "method"],
        )
        for labels, buckets in list(self.latency.items()):
            latency.add_metric(labels, buckets.cumulative(), buckets.total)
        yield latency
        yield CounterMetricFamily("wharf_registry_pulls", "Manifest GETs served (allowed pulls)", self.pulls)
        yield CounterMetricFamily("wharf_registry_denials", "Reads refused by the entitlement policy", self.denials)
        served = CounterMetricFamily(
            "wharf_registry_served_bytes",
            "Bytes of manifests and blobs sent by Wharf; blob_redirect: sizes of blobs handed to storage URLs",
            labels=["kind"],
        )
        for kind, count in list(self.served.items()):
            served.add_metric([kind], count)
        yield served
        uploads = HistogramMetricFamily("wharf_registry_blob_upload_size_bytes", "Sizes of committed blob uploads")
        uploads.add_metric([], self.upload_sizes.cumulative(), self.upload_sizes.total)
        yield uploads
        for depth, policy in self._watched:
            yield from _watched_families(depth, policy)


def _watched_families(depth: SpoolDepth, policy: WharfPolicy) -> Iterator[Metric]:
    events, size = depth.measure()
    yield GaugeMetricFamily("wharf_audit_spool_events", "Download events spooled but not yet stored", events)
    yield GaugeMetricFamily("wharf_audit_spool_bytes", "Bytes of the spool not yet stored", size)
    stats = policy.cache_stats()
    yield CounterMetricFamily("wharf_credential_cache_hits", "Token checks answered from memory", stats["hits"])
    yield CounterMetricFamily("wharf_credential_cache_misses", "Token checks that asked the database", stats["misses"])
    yield GaugeMetricFamily("wharf_credential_cache_entries", "Tokens held in memory", stats["entries"])


class MeteredSink:
    """An EventSink that counts pulls, denials, bytes and upload sizes, then hands the event on."""

    def __init__(self, inner: EventSink, metrics: WharfMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def emit(self, event: RegistryEvent) -> None:
        self.inner.emit(event)
        m, action = self.metrics, event.action
        if action == "manifest.get":
            m.pulls += 1
            m.served["manifest"] += event.bytes
        elif action == "blob.get":
            m.served["blob_redirect" if event.status == 307 else "blob"] += event.bytes
        elif action == "denied":
            m.denials += 1
        elif action == "blob.put":
            m.upload_sizes.observe(event.bytes)


class _Exporter(Collector):
    def __init__(self, metrics: WharfMetrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # families are built per scrape

    def collect(self) -> Iterator[Metric]:
        return self.metrics.families()
