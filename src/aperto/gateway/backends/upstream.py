"""Any OpenAI-compatible server (vLLM, llama-server, another aperto gateway...).

Requests always stream upstream; stopping a request closes the HTTP stream,
which is the only abort signal an OpenAI-compatible server understands."""

from __future__ import annotations

import json
from typing import Any

import httpx

from aperto import sse
from aperto.errors import ApertoError, BadInput, NotFound, Unavailable
from aperto.gateway.backends import register
from aperto.gateway.backends.base import Backend, Channel

BY_STATUS = {400: BadInput, 404: NotFound}  # the rest (its 401 too: our key, not the client's) is a 503


class RateLimited(ApertoError):
    code = "rate_limit_exceeded"  # OpenAI's name
    http_status = 429


def _retry_after(value: str | None) -> int:
    """The upstream's Retry-After in whole seconds (HTTP dates and junk: a short default)."""
    try:
        return max(0, min(3600, round(float(value or ""))))
    except ValueError:
        return 1


def _upstream_error(response: httpx.Response, text: str) -> ApertoError:
    status = response.status_code
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = text[:500] or f"HTTP {status}"
    if status == 429:
        return RateLimited(f"upstream: {message}", retry_after=_retry_after(response.headers.get("retry-after")))
    return BY_STATUS.get(status, Unavailable)(f"upstream: {message}")


@register("upstream")
class Upstream(Backend):
    def __init__(self, spec, settings) -> None:
        super().__init__(spec, settings)
        self.url = spec["url"].rstrip("/")
        headers = {"Authorization": f"Bearer {spec['api_key']}"} if spec.get("api_key") else {}
        self.client = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30.0, read=None))

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        path = "/chat/completions" if route == "chat" else "/completions"
        if self.spec.get("model"):
            body = {**body, "model": self.spec["model"]}
        try:
            async with self.client.stream("POST", self.url + path, json=body) as response:
                if response.status_code >= 400:
                    raise _upstream_error(response, (await response.aread()).decode(errors="replace"))
                async for event in sse.events(response.aiter_lines()):
                    if out.stopped:
                        return  # leaving the block closes the connection: the upstream aborts
                    if event.data.strip() == "[DONE]":
                        return
                    try:
                        chunk = json.loads(event.data)
                    except ValueError as exc:
                        raise Unavailable(f"upstream sent an event that is not JSON: {event.data[:200]!r}") from exc
                    if "error" in chunk:
                        err = chunk["error"]
                        raise Unavailable(f"upstream: {err.get('message', err) if isinstance(err, dict) else err}")
                    out.put_here(chunk)
        except httpx.HTTPError as exc:
            raise Unavailable(f"upstream {self.url} failed: {exc}") from exc

    def close(self) -> None:
        pass  # the client's sockets close with the process; aclose needs a loop we may not have
