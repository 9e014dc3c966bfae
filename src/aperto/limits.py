"""Request size limits for any ASGI app, before anything parses the body. PURE: the standard
library and aperto.errors only.

``BodyLimit`` answers 413 at once when Content-Length is over the limit (the body is never
read), and counts a body sent without one (chunked) as it streams, cutting it at the limit.
Paths can be exempt (uploads that must stream big bodies) or have limits of their own.
The error body is the app's own shape: pass ``error(status, message) -> dict``.

``loads`` parses JSON with a nesting limit, so a very deep body is a clear 400, not a crash."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aperto.errors import BadInput, TooLarge

Scope = dict[str, Any]
Message = dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]
ErrorBody = Callable[[int, str], dict[str, Any]]

MAX_DEPTH = 64


def plain_error(status: int, message: str) -> dict[str, Any]:
    return {"error": "too_large" if status == 413 else "bad_input", "message": message}


def mib(n: int) -> str:
    return f"{n / (1 << 20):g} MiB" if n >= 1 << 20 else f"{n} bytes"


class BodyTooLarge(TooLarge):
    code = "request_too_large"


class BodyLimit:
    """``limit`` bytes per request body; ``exempt``: path prefixes with no limit; ``limits``: path
    prefix -> its own limit (the longest matching prefix wins)."""

    def __init__(self, app: ASGIApp, limit: int, *, exempt: tuple[str, ...] = (),
                 limits: Mapping[str, int] | None = None, error: ErrorBody = plain_error) -> None:
        if limit < 1:
            raise ValueError("a body limit must be at least 1 byte")
        self.app, self.limit, self.exempt, self.error = app, limit, exempt, error
        self.limits = sorted((limits or {}).items(), key=lambda kv: -len(kv[0]))

    def limit_for(self, path: str) -> int | None:
        if self.exempt and path.startswith(self.exempt):
            return None
        return next((n for prefix, n in self.limits if path.startswith(prefix)), self.limit)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        limit = self.limit_for(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await self.refuse(send, 400, f"Content-Length {declared[:40]!r} is not a number of bytes")
                return
            if int(declared) > limit:  # refused before a single byte of the body is read
                await self.refuse(send, 413, self.message(limit, f"declares {int(declared)} bytes"))
                return
        received = 0
        refused = started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit and not refused:
                    refused = True
                    if not started:
                        await self.refuse(send, 413, self.message(limit, f"sent more than {limit} bytes"))
                    raise BodyTooLarge(self.message(limit, "is too large"))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # our 413 went out; whatever the app answers to the exception is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if started:
                raise  # the app answered before reading all of it: only dropping the connection is left
        except Exception:
            if not refused:
                raise

    def message(self, limit: int, what: str) -> str:
        return (f"the request body {what}; this server accepts at most {mib(limit)} here. "
                "Send a smaller request (shorter prompt or fewer messages)")

    async def refuse(self, send: Callable[[Message], Awaitable[None]], status: int, message: str) -> None:
        await refuse(send, status, self.error(status, message))


async def refuse(send: Callable[[Message], Awaitable[None]], status: int, error: dict[str, Any]) -> None:
    """Answer ``error`` as JSON with ``status`` and close: the body was not (fully) read."""
    body = json.dumps(error).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")


def nesting(raw: bytes) -> int:
    """How deep the arrays and objects of this JSON text nest (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    depth = deepest = 0
    for b in brackets:
        depth += 1 if b in b"[{" else -1
        deepest = max(deepest, depth)
    return deepest


def too_deep(raw: bytes, max_depth: int = MAX_DEPTH) -> bool:
    """Whether this JSON text nests deeper than ``max_depth`` (cheap count first, then the real depth)."""
    return raw.count(b"[") + raw.count(b"{") > max_depth and nesting(raw) > max_depth


def loads(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """JSON with a nesting limit; BadInput (400) for anything that is not valid JSON or nests deeper."""
    data = raw.encode() if isinstance(raw, str) else raw
    if too_deep(data, max_depth):
        raise BadInput(f"the JSON body nests deeper than {max_depth} levels",
                       hint="flatten the request; no API here needs that depth")
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"the request body is not valid JSON: {exc}") from exc
