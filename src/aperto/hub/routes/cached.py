"""The hub's hot read path: model_info, revision info and the download HEAD (local blobs) answered
straight from the metadata cache (hub/cache.py), before routing, dependencies and the other middleware
run. Only a request the full stack would answer the same way is taken: a GET (HEAD for a download)
with a cached bearer token (or none) and no cookie, for an answer already cached; the bytes and
headers are those the route and WebSecurity send.
Anything else (a miss, a session, an unknown token) goes down the full stack, which fills the cache."""

from __future__ import annotations

import re
import time
from typing import Any

from aperto.errors import ApertoError
from aperto.hub.auth import Caller
from aperto.hub.routes.files import file_headers
from aperto.hub.routes.security import HEADERS
from aperto.hub.service import Hub
from aperto.metrics import Metrics

MODEL_INFO = re.compile(r"^/api/models/([^/]+)/([^/]+)(/revision/([^/]+))?$")
RESOLVE = re.compile(r"^/([^/]+)/([^/]+)/resolve/([^/]+)/(.+)$")
INFO_ROUTE, REVISION_ROUTE = "/api/models/{org}/{name}", "/api/models/{org}/{name}/revision/{rev}"
RESOLVE_ROUTE = "/{org}/{name}/resolve/{rev}/{path:path}"
JSON = (b"content-type", b"application/json")
OCTETS = (b"content-type", b"application/octet-stream")


class CachedReads:
    def __init__(self, app: Any, hub: Hub, metrics: Metrics) -> None:
        self.app, self.hub, self.metrics = app, hub, metrics

    def caller(self, scope: dict[str, Any]) -> tuple[bool, Caller | None]:
        """(True, the caller: None for anonymous) when the full stack would see the same, else (False, None)."""
        caller = None
        for key, value in scope["headers"]:
            if key == b"cookie":
                return False, None  # sessions and the legacy cookie: the full stack's business
            if key == b"authorization":
                given = value.decode("latin-1")
                token = given[7:].strip() if given[:7].lower() == "bearer " else ""
                caller = self.hub.tokens.cache.peek(token) if token else None
                if caller is None:
                    return False, None  # unknown, revoked or malformed: the full stack answers (401)
        return True, caller

    def answer(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes, str] | None:
        """(status, headers, body, the route's template), or None to take the full stack."""
        if scope["method"] == "GET":
            found = MODEL_INFO.match(scope["path"])
            if found is None or not self.caller(scope)[0]:
                return None
            org, name, _, rev = found.groups()
            body = self.hub.repos.model_info_json(f"{org}/{name}", rev or "main", cached_only=True)
            if body is None:
                return None
            return 200, [(b"content-length", str(len(body)).encode()), JSON, *HEADERS], body, \
                REVISION_ROUTE if rev else INFO_ROUTE
        if scope["method"] == "HEAD" and not self.hub.blobs.remote:  # S3 presigns a redirect per request
            return self.download_head(scope)
        return None

    def download_head(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes, str] | None:
        """What huggingface_hub asks before each download, when its authorisation is cached."""
        found = RESOLVE.match(scope["path"])
        if found is None:
            return None
        known, caller = self.caller(scope)
        if not known:
            return None
        org, name, rev, path = found.groups()
        info = self.hub.repos.file(caller, f"{org}/{name}", rev, path, cached_only=True)
        if info is None:
            return None
        try:
            self.hub.integrity.servable(info["sha256"], info["size"])
        except ApertoError:
            return None  # missing or damaged bytes: the full stack says so
        headers = [(k.lower().encode(), v.encode()) for k, v in file_headers(info).items()]
        return 200, [*headers, (b"content-length", str(info["size"]).encode()), OCTETS, *HEADERS], b"", RESOLVE_ROUTE

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        hit = self.answer(scope) if scope["type"] == "http" else None
        if hit is None:
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status, headers, body, route = hit
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        self.metrics.observe(route, scope["method"], status, time.perf_counter() - start)
