"""The hub's hot read path: model_info and revision info answered straight from the metadata cache
(hub/cache.py), before routing, dependencies and the other middleware run. Only a request the full
stack would answer the same way is taken: a GET with a cached bearer token (or none) and no cookie,
for an answer already cached; the bytes and headers are those the route and WebSecurity send.
Anything else (a miss, a session, an unknown token) goes down the full stack, which fills the cache."""

from __future__ import annotations

import re
import time
from typing import Any

from aperto.hub.routes.security import HEADERS
from aperto.hub.service import Hub
from aperto.metrics import Metrics

MODEL_INFO = re.compile(r"^/api/models/([^/]+)/([^/]+)(/revision/([^/]+))?$")
INFO_ROUTE, REVISION_ROUTE = "/api/models/{org}/{name}", "/api/models/{org}/{name}/revision/{rev}"
JSON = (b"content-type", b"application/json")


class CachedReads:
    def __init__(self, app: Any, hub: Hub, metrics: Metrics) -> None:
        self.app, self.hub, self.metrics = app, hub, metrics

    def answer(self, scope: dict[str, Any]) -> tuple[bytes, str] | None:
        """The cached body and the route's template, or None to take the full stack."""
        if scope["method"] != "GET":
            return None
        found = MODEL_INFO.match(scope["path"])
        if found is None:
            return None
        for key, value in scope["headers"]:
            if key == b"cookie":
                return None  # sessions and the legacy cookie: the full stack's business
            if key == b"authorization":
                given = value.decode("latin-1")
                token = given[7:].strip() if given[:7].lower() == "bearer " else ""
                if not token or self.hub.tokens.cache.peek(token) is None:
                    return None  # unknown, revoked or malformed: the full stack answers (401)
        org, name, _, rev = found.groups()
        body = self.hub.repos.model_info_json(f"{org}/{name}", rev or "main", cached_only=True)
        return None if body is None else (body, REVISION_ROUTE if rev else INFO_ROUTE)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hit = self.answer(scope) if scope["type"] == "http" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        body, route = hit
        headers = [(b"content-length", str(len(body)).encode()), JSON, *HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.metrics.observe(route, "GET", 200, time.perf_counter() - start)
