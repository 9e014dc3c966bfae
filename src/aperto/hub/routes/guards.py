"""Limits on what a request may send, applied before any route parses it: a body limit
(uploads exempt: they stream to disk and have their own size check) and a JSON depth limit."""

from __future__ import annotations

import re
from typing import Any

from aperto.limits import MAX_DEPTH, BodyLimit, mib, refuse, too_deep

# uploads, commits (NDJSON, read line by line with a per-line limit) and Xet xorbs (64 MiB at
# most, counted as they arrive) stream past the body limit
UPLOAD = re.compile(r"^(/api/models/[^/]+/[^/]+/(upload/[0-9a-f]{64}|commit/[^/]+)|/xet/v1/xorbs/default/[0-9a-f]{64})$")
Receive = Any
Send = Any


def hub_error(status: int, message: str) -> dict[str, Any]:
    code = "too_large" if status == 413 else "bad_input"
    return {"error": message, "code": code, "message": message}


class HubBodyLimit(BodyLimit):
    def limit_for(self, path: str) -> int | None:
        return None if UPLOAD.match(path) else super().limit_for(path)

    def message(self, limit: int, what: str) -> str:
        return (f"the request body {what}; the hub reads at most {mib(limit)} outside uploads "
                "(APERTO_MAX_BODY_BYTES). Upload files through the upload API, which streams them")


class JsonDepth:
    """A JSON body that nests deeper than any API here needs is a clear 400 before a parser
    recurses into it. Bodies reach this after HubBodyLimit, so buffering them is bounded."""

    def __init__(self, app: Any, max_depth: int = MAX_DEPTH) -> None:
        self.app, self.max_depth = app, max_depth

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or ()) if scope["type"] == "http" else {}
        if b"json" not in headers.get(b"content-type", b"") or UPLOAD.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if too_deep(b"".join(m.get("body", b"") for m in messages), self.max_depth):
            await refuse(send, 400, hub_error(400, f"the JSON body nests deeper than {self.max_depth} levels; "
                                                   "flatten the request (no API here needs that depth)"))
            return

        async def replay() -> dict[str, Any]:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)
