"""Any OpenAI-compatible server (vLLM, llama-server, another aperto gateway...).

Requests always stream upstream; stopping a request closes the HTTP stream,
which is the only abort signal an OpenAI-compatible server understands."""

from __future__ import annotations

import json
from typing import Any

import httpx

from aperto.errors import ApertoError, BadInput, NotFound, Unauthorized, Unavailable
from aperto.gateway.backends import register
from aperto.gateway.backends.base import Backend, Channel

BY_STATUS = {400: BadInput, 401: Unauthorized, 403: Unauthorized, 404: NotFound}


def _upstream_error(status: int, text: str) -> ApertoError:
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = text[:500] or f"HTTP {status}"
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
                    raise _upstream_error(response.status_code, (await response.aread()).decode(errors="replace"))
                async for line in response.aiter_lines():
                    if out.stopped:
                        return  # leaving the block closes the connection: the upstream aborts
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        return
                    chunk = json.loads(data)
                    if "error" in chunk:
                        err = chunk["error"]
                        raise Unavailable(f"upstream: {err.get('message', err) if isinstance(err, dict) else err}")
                    out.put_here(chunk)
        except httpx.HTTPError as exc:
            raise Unavailable(f"upstream {self.url} failed: {exc}") from exc

    def close(self) -> None:
        pass  # the client's sockets close with the process; aclose needs a loop we may not have
