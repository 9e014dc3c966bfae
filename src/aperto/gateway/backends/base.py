"""What every backend implements: one coroutine that runs one streaming request.

Backends only ever stream. The gateway assembles non-streaming answers from the
chunks, so a kill can abort a non-streaming call too (there is no blocking call
left that nobody can interrupt)."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

from aperto.config import Settings

END = object()  # put on a channel when the backend is done
# one OpenAI chunk: a dict, or the compact JSON bytes a backend's server wrote (sent on as they are)
Chunk = dict[str, Any] | bytes


class Channel:
    """Chunks from a backend to the request that waits for them.

    ``put`` is safe from any thread (llama.cpp calls back from a worker thread);
    ``stopped`` is a plain flag the backend checks before each token. The reader
    takes everything waiting at once, and the loop is woken once per batch."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self.error: Exception | None = None  # why it was stopped, if it was
        self._items: deque[Any] = deque()  # appends from any thread, pops on the loop
        self._waiter: asyncio.Future[None] | None = None
        self._scheduled = False

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def put(self, chunk: Chunk) -> None:
        self._items.append(chunk)
        if not self._scheduled:  # a wake-up already scheduled will find this chunk too
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        self._scheduled = False  # before the reader pops: a chunk appended after this schedules a new wake
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put_here(self, item: Any) -> None:
        """Same as put, from the event loop's own thread."""
        self._items.append(item)
        self._wake()

    async def take(self) -> list[Any]:
        """Everything waiting, at least one item (event loop thread only)."""
        items = self._items
        while not items:
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        pop = items.popleft
        return [pop() for _ in range(len(items))]

    def stop(self, error: Exception | None = None) -> None:
        """Ask the backend to abort and wake the reader at once (event loop thread only)."""
        if self._stop.is_set():
            return
        self.error = error
        self._stop.set()
        self.put_here(END)


class Backend(ABC):
    """One served model. Subclasses register by name in ``aperto.gateway.backends``."""

    name = "base"

    def __init__(self, spec: dict[str, str], settings: Settings) -> None:
        self.spec = spec
        self.settings = settings

    @abstractmethod
    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        """Run one request (``route`` is "chat" or "completions"; ``body`` has stream=True).

        Put each OpenAI chunk on ``out``, as a dict or as compact JSON bytes (``Chunk``; the gateway
        names the served model in either); stop producing as soon as ``out.stopped``.
        Raise an ApertoError for a request the model cannot serve."""

    def close(self) -> None:
        """Free the model (called at shutdown)."""
        return None
