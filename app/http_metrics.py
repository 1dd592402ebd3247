"""Request counts and latencies by route family (never a raw path), and the `/metrics` page."""

from __future__ import annotations

import hmac
from time import perf_counter
from typing import Any

from litestar import Request, Response, Router, get
from litestar.types import ASGIApp, Message, Receive, Send
from prometheus_client import generate_latest

from app.metrics import WharfMetrics

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
    """ASGI middleware around the whole app (unrouted requests included); label children are cached so
    the hot path is a dict look-up, one counter increment and one histogram observation."""

    def __init__(self, app: ASGIApp, metrics: WharfMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

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
        family = route_family(path)
        key = (family, method, status)
        children = self._children.get(key)
        if children is None:
            label = method if method in METHODS else "OTHER"
            children = (
                self.metrics.requests.labels(family, label, str(status)),
                self.metrics.latency.labels(family, label),
            )
            if len(self._children) < 10_000:  # bounded even if a client invents methods
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


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
