"""Prometheus metrics for the hub and the gateway (GET /metrics). Each app has its own registry,
so two apps in one process (tests, `aperto up`) never mix their figures.

What both record: requests and their latency by route (the route's template, never the raw
path, so a metric's label set stays small). Each app adds its own gauges and histograms."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.registry = CollectorRegistry()
        self.requests = self.counter("http_requests", "HTTP requests answered", ["route", "method", "status"])
        self.latency = self.histogram("http_request_seconds", "Time to answer (streams: to their end)", ["route"])
        # aperto hub / gateway / up freeze what start-up made (cli.settle_heap): 0 means full collections walk it
        self.gauge("gc_frozen_objects", "Objects start-up moved out of the collector's reach",
                   lambda: float(gc.get_freeze_count()))

    def counter(self, name: str, doc: str, labels: list[str] | None = None) -> Counter:
        return Counter(f"{self.prefix}_{name}", doc, labels or [], registry=self.registry)

    def histogram(self, name: str, doc: str, labels: list[str] | None = None,
                  buckets: tuple[float, ...] = LATENCY_BUCKETS) -> Histogram:
        return Histogram(f"{self.prefix}_{name}", doc, labels or [], buckets=buckets, registry=self.registry)

    def gauge(self, name: str, doc: str, read: Callable[[], float]) -> Gauge:
        """A gauge read when scraped (no bookkeeping on the hot path)."""
        gauge = Gauge(f"{self.prefix}_{name}", doc, registry=self.registry)
        gauge.set_function(read)
        return gauge

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """One answered request (RequestMetrics, and paths that answer before it)."""
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def expose(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware: counts every answer and times it, labelled by the matched route."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(route, scope["method"], status, time.perf_counter() - start)


def age_s(at: str | None) -> float | None:
    """Seconds since an event's ``at`` (ISO 8601, as the feed sends it), or None if unreadable."""
    if not at:
        return None
    try:
        when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - when).total_seconds())
