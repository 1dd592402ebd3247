"""Prometheus metrics: one registry per app; registry-level counts arrive through the EventSink."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from app.audit.depth import SpoolDepth
from app.audit.spool import Spool
from app.policy import WharfPolicy
from registry.events import EventSink, RegistryEvent

KiB, MiB, GiB = 1024, 1024 * 1024, 1024 * 1024 * 1024
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
SIZE_BUCKETS = (KiB, 16 * KiB, 256 * KiB, MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB, GiB, 4 * GiB, 16 * GiB)


class WharfMetrics:
    """Every metric Wharf exports, registered on its own CollectorRegistry (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        ProcessCollector(registry=r)
        self.requests = Counter(
            "wharf_http_requests", "HTTP requests answered, by route family", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "wharf_http_request_duration_seconds",
            "Time from request to the last byte of the answer, by route family",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.pulls = Counter("wharf_registry_pulls", "Manifest GETs served (allowed pulls)", registry=r)
        self.denials = Counter("wharf_registry_denials", "Reads refused by the entitlement policy", registry=r)
        served = Counter(
            "wharf_registry_served_bytes",
            "Bytes of manifests and blobs sent by Wharf; blob_redirect: sizes of blobs handed to storage URLs",
            ["kind"],
            registry=r,
        )
        self.manifest_bytes = served.labels("manifest")
        self.blob_bytes = served.labels("blob")
        self.redirected_bytes = served.labels("blob_redirect")
        self.upload_sizes = Histogram(
            "wharf_registry_blob_upload_size_bytes", "Sizes of committed blob uploads", buckets=SIZE_BUCKETS, registry=r
        )

    def watch(self, spool: Spool, policy: WharfPolicy) -> None:
        """Gauges read at scrape time, off the request path: spool depth and the credential cache."""
        self.registry.register(_ScrapeTimeCollector(SpoolDepth(spool), policy))

    def sink(self, inner: EventSink) -> MeteredSink:
        return MeteredSink(inner, self)


class MeteredSink:
    """An EventSink that counts pulls, denials, bytes and upload sizes, then hands the event on."""

    def __init__(self, inner: EventSink, metrics: WharfMetrics) -> None:
        self.inner = inner
        self.metrics = metrics

    def emit(self, event: RegistryEvent) -> None:
        self.inner.emit(event)
        m, action = self.metrics, event.action
        if action == "manifest.get":
            m.pulls.inc()
            m.manifest_bytes.inc(event.bytes)
        elif action == "blob.get":
            (m.redirected_bytes if event.status == 307 else m.blob_bytes).inc(event.bytes)
        elif action == "denied":
            m.denials.inc()
        elif action == "blob.put":
            m.upload_sizes.observe(event.bytes)


class _ScrapeTimeCollector(Collector):
    def __init__(self, depth: SpoolDepth, policy: WharfPolicy) -> None:
        self.depth = depth
        self.policy = policy

    def describe(self) -> list[Metric]:
        return []  # computed per scrape; nothing to check for duplicates up front

    def collect(self) -> Iterator[Metric]:
        events, size = self.depth.measure()
        yield GaugeMetricFamily("wharf_audit_spool_events", "Download events spooled but not yet stored", events)
        yield GaugeMetricFamily("wharf_audit_spool_bytes", "Bytes of the spool not yet stored", size)
        stats: dict[str, Any] = self.policy.cache_stats()
        yield CounterMetricFamily("wharf_credential_cache_hits", "Token checks answered from memory", stats["hits"])
        yield CounterMetricFamily(
            "wharf_credential_cache_misses", "Token checks that asked the database", stats["misses"]
        )
        yield GaugeMetricFamily("wharf_credential_cache_entries", "Tokens held in memory", stats["entries"])
