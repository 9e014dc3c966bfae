"""The gateway's /metrics: requests by route, and how fresh its policy is (feed lag, kill
propagation, staleness, what it holds in memory)."""

from __future__ import annotations

import time

from fastapi import FastAPI
from fastapi.responses import Response

from aperto.events import Event
from aperto.gateway.core import Gateway
from aperto.metrics import CONTENT_TYPE, Metrics, RequestMetrics, age_s

TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


def install(app: FastAPI, gateway: Gateway) -> Metrics:
    metrics = Metrics("aperto_gateway")
    policy = gateway.policy
    lag = metrics.histogram("feed_lag_seconds", "Now minus the event's time, when the gateway applied it",
                            ["type"], LAG_BUCKETS)
    kill = metrics.histogram("kill_propagation_seconds", "A kill's time on the hub to its arrival here",
                             buckets=LAG_BUCKETS)
    metrics.gauge("policy_age_seconds", "Seconds since the last word from the hub (-1: none yet)",
                  lambda: -1.0 if policy.heard is None else time.monotonic() - policy.heard)
    metrics.gauge("stale", "1 while the gateway refuses to serve for want of word from the hub",
                  lambda: 1.0 if policy.stale() else 0.0)
    metrics.gauge("grant_cache_size", "Grants held in memory", lambda: float(len(policy.grants)))
    metrics.gauge("token_cache_size", "Tokens held in memory", lambda: float(len(policy.tokens)))
    metrics.gauge("kills", "Kills in force (one for everything counts once)", lambda: float(len(policy.kills)))
    metrics.gauge("policy_seq", "The newest event applied", lambda: float(policy.seq))

    def applied(event: Event) -> None:
        age = age_s(event.at)
        if age is not None:
            lag.labels(event.type).observe(age)
            if event.type == "kill":
                kill.observe(age)

    gateway.on_applied = applied
    first = metrics.histogram("time_to_first_token_seconds", "From a streaming request's start to its first "
                              "chunk with tokens", buckets=TOKEN_BUCKETS)
    between = metrics.histogram("time_between_tokens_seconds", "Between two chunks with tokens of one stream",
                                buckets=TOKEN_BUCKETS)
    gateway.on_token = lambda is_first, seconds: (first if is_first else between).observe(seconds)
    tokens_in = metrics.counter("tokens_in", "Prompt tokens, by model and user", ["model", "user"])
    tokens_out = metrics.counter("tokens_out", "Completion tokens, by model and user", ["model", "user"])

    def served(user: str, model: str, prompt: int, completion: int) -> None:
        tokens_in.labels(model, user).inc(prompt)
        tokens_out.labels(model, user).inc(completion)

    gateway.usage.observers.append(served)
    app.add_middleware(RequestMetrics, metrics=metrics)

    @app.get("/metrics", include_in_schema=False)
    async def scrape() -> Response:
        return Response(metrics.expose(), media_type=CONTENT_TYPE)

    return metrics
