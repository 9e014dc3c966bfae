"""The hub's /metrics: requests by route, and the feed's state in this process."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import Response

from aperto.hub.service import Hub
from aperto.metrics import CONTENT_TYPE, Metrics, RequestMetrics


def install(app: FastAPI, hub: Hub) -> Metrics:
    metrics = Metrics("aperto_hub")
    follower = hub.core.follower
    metrics.gauge("feed_waiters", "Long-polls and SSE streams waiting in this process", lambda: float(follower.waiting))
    metrics.gauge("event_seq", "The newest event this process knows", lambda: float(follower.last_seq))
    metrics.gauge("token_cache_size", "Tokens cached (revocations invalidate them)", lambda: float(len(hub.tokens.cache)))
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    def scrape() -> Response:
        return Response(metrics.expose(), media_type=CONTENT_TYPE)

    return metrics
