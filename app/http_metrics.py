"""Request counts and latencies by route family (never a raw path), and the `/metrics` page."""

from __future__ import annotations

import hmac
from time import perf_counter
from typing import Any

from litestar import Request, Response, Router, get
from litestar.types import ASGIApp, Message, Receive, Send
from prometheus_client import generate_latest

from app.metrics import LATENCY_BUCKETS, Buckets, WharfMetrics

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REGISTRY_KINDS = {"manifests": "registry.manifest", "blobs": "registry.blob", "referrers": "registry.referrers"}
TEXT_FORMAT = "text/plain; version=0.0.4"  # the classic Prometheus text format; the charset is added by Litestar
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def route_family(path: str) -> str:
    """A fixed label for a path: registry.manifest/blob/upload/tags/catalog/referrers/token/base/other,
    api, portal, ops (probes and metrics) or other."""
    if path.startswith("/v2/"):
        return _registry_family(path)
    if path == "/token":
        return "registry.token"
    if path.startswith("/api/"):
        return "api"
    if path.startswith(("/portal/", "/vendor/")) or path in ("/portal", "/vendor"):
        return "portal"
    return "ops" if path in OPS_PATHS else "other"


def _registry_family(path: str) -> str:
    parts = path.rstrip("/").split("/")  # ["", "v2", *name, kind, ref]
    if len(parts) <= 2:
        return "registry.base"
    if parts[-2:] == ["blobs", "uploads"] or parts[-3:-1] == ["blobs", "uploads"]:
        return "registry.upload"
    if parts[-2:] == ["tags", "list"]:
        return "registry.tags"
    if parts[-1] == "_catalog" and len(parts) == 3:
        return "registry.catalog"
    return _REGISTRY_KINDS.get(parts[-2], "registry.other")


class RequestMetrics:
    """ASGI middleware around the whole app (unrouted requests included). The hot path is a few dict
    look-ups and integer additions: families are cached per path (bounded), counts are plain ints."""

    CACHED_PATHS = 4096

    def __init__(self, app: ASGIApp, metrics: WharfMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._families: dict[str, str] = {}

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)  # type: ignore[arg-type]
            return
        started = perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)  # type: ignore[arg-type]
        finally:
            self._observe(scope["path"], scope["method"], status, perf_counter() - started)

    def _observe(self, path: str, method: str, status: int, seconds: float) -> None:
        family = self._families.get(path)
        if family is None:
            family = route_family(path)
            if len(self._families) >= self.CACHED_PATHS:
                self._families.clear()
            self._families[path] = family
        if method not in METHODS:
            method = "OTHER"
        requests = self.metrics.requests
        key = (family, method, status)
        requests[key] = requests.get(key, 0) + 1
        latency = self.metrics.latency.get((family, method))
        if latency is None:
            latency = self.metrics.latency[(family, method)] = Buckets(LATENCY_BUCKETS)
        latency.observe(seconds)


def build_metrics_router(metrics: WharfMetrics, token: str) -> Router:
    @get("/metrics", sync_to_thread=True)  # scrape-time gauges read the spool file
    def metrics_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        if token and not _bearer_matches(request.headers.get("authorization"), token):
            return Response(
                b"metrics need Authorization: Bearer <WHARF_METRICS_TOKEN>\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        return Response(generate_latest(metrics.registry), media_type=TEXT_FORMAT)

    return Router(path="/", route_handlers=[metrics_page], include_in_schema=False)


def _bearer_matches(header: str | None, token: str) -> bool:
    scheme, _, presented = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())
