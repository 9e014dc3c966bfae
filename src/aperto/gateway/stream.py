"""One request in flight, and the chunks it streams.

``Stream`` is what the gateway hands the HTTP layer for a streaming request: an async
iterator of batches (every chunk already waiting comes at once: one write to the
client), or, once ``divert`` has succeeded, a sink that the backend's own thread
calls with each chunk as it goes to the client (gateway/wire.py)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aperto.errors import ApertoError
from aperto.gateway.backends import END, Channel, Chunk


@dataclass(eq=False)
class Live:
    """One request in flight: whose it is, and how to stop it."""

    sha: str
    repo: str
    channel: Channel
    task: asyncio.Task[None] | None = field(default=None)

    def stop(self, error: ApertoError | None) -> None:
        self.channel.stop(error)
        # cancelled once only: a second cancel can land inside httpx's close of the upstream
        # stream and leave that connection open, so the upstream would go on generating
        task, self.task = self.task, None
        if task is not None:
            task.cancel()  # upstream streams close now; llama.cpp aborts at its next callback


def with_model(raw: bytes, model: str) -> bytes:
    """A backend's JSON chunk with the served model's name (bytes arrive here as compact JSON)."""
    chunk = json.loads(raw)
    chunk["model"] = model
    return json.dumps(chunk, separators=(",", ":")).encode()


class Stream:
    """The chunks of one streaming request, as the client should see them.

    Iterate for batches; a stop (kill, revocation, staleness) or a backend error is
    raised in their place. ``aclose`` ends the request: the backend stops working for it."""

    def __init__(self, live: Live, model: str, want_usage: bool, done: Callable[[Live], None]) -> None:
        self.live, self.channel, self.model, self.want_usage = live, live.channel, model, want_usage
        self.model_field = b'"model":' + json.dumps(model).encode()
        self._done = done  # the gateway forgets the request
        self._closed = False
        self._raise: BaseException | None = None  # to raise after the batch that came before it
        self.on_usage: Callable[[Chunk], None] | None = None  # the usage ledger (gateway/usage.py)
        self.on_token: Callable[[bool, float], None] | None = None  # (first?, seconds): gateway/metrics.py
        self._last = time.monotonic()  # when the request began, then when the last token chunk went
        self._first = True

    def accept(self, item: Chunk) -> Chunk | None:
        """A backend's chunk as it goes to the client, named for the served model; None for the
        usage-only chunk when the client did not ask for usage. The one rule for both kinds of chunk."""
        if isinstance(item, bytes):
            return self._accept_bytes(item)
        item["model"] = self.model
        if item.get("usage") and self.on_usage is not None:
            self.on_usage(item)
        if item.get("choices"):
            self._timed()
        return item if self.want_usage or item.get("choices") or "usage" not in item else None

    def _accept_bytes(self, item: bytes) -> bytes | None:
        """``accept`` for compact JSON bytes; safe from any thread. Compact JSON escapes a quote inside
        a string, so these substrings can only match keys, never text the model wrote."""
        if self.model_field not in item:
            item = with_model(item, self.model)
        usage = b'"usage":{' in item  # each key scanned once per chunk: this runs per token
        if usage and self.on_usage is not None:
            self.on_usage(item)
        no_tokens = b'"choices":[]' in item
        if not no_tokens:
            self._timed()
        if self.want_usage or not (no_tokens and usage):
            return item
        return None

    def _timed(self) -> None:
        """A chunk with tokens: time to the first one, or since the one before."""
        now = time.monotonic()
        if self.on_token is not None:
            self.on_token(self._first, now - self._last)
        self._first, self._last = False, now

    def divert(self, write: Callable[[bytes], bool]) -> bool:
        """Hand each later chunk to ``write`` in the thread that produced it (see Channel.divert)."""
        accept = self._accept_bytes

        def sink(item: bytes) -> bool:
            chunk = accept(item)
            return True if chunk is None else write(chunk)

        return self.channel.divert(sink)

    def undivert(self) -> None:
        self.channel.undivert()

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> list[Chunk]:
        if self._raise is not None:
            error, self._raise = self._raise, None
            raise error
        if self._closed:
            raise StopAsyncIteration
        try:
            return await self._next_batch()
        except BaseException:
            self.close()
            raise

    async def _next_batch(self) -> list[Chunk]:
        channel = self.channel
        while True:
            batch: list[Chunk] = []
            for item in await channel.take():
                if channel.error is not None:  # stopped: a kill wins over chunks already waiting
                    raise channel.error
                if item is END:
                    self.close()
                    if batch:  # what came first goes out first; the end after it
                        return batch
                    raise StopAsyncIteration
                if isinstance(item, Exception):
                    self.close()
                    if batch:  # the batch first, then the error
                        self._raise = item
                        return batch
                    raise item
                accepted = self.accept(item)
                if accepted is not None:
                    batch.append(accepted)
            if batch:
                return batch

    def close(self) -> None:
        """Client gone or done: make sure the backend stops working for this request."""
        if not self._closed:
            self._closed = True
            self._done(self.live)
            self.live.stop(None)

    async def aclose(self) -> None:
        self.close()
