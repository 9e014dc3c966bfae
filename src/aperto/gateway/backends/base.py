"""What every backend implements: one coroutine that runs one streaming request.

Backends only ever stream. The gateway assembles non-streaming answers from the
chunks, so a kill can abort a non-streaming call too (there is no blocking call
left that nobody can interrupt)."""

from __future__ import annotations

import asyncio
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from typing import Any

from aperto.config import Settings

END = object()  # put on a channel when the backend is done
# one OpenAI chunk: a dict, or the compact JSON bytes a backend's server wrote (sent on as they are)
Chunk = dict[str, Any] | bytes


class Channel:
    """Chunks from a backend to the request that waits for them.

    ``put`` is safe from any thread (llama.cpp calls back from a worker thread);
    ``stopped`` is a plain flag the backend checks before each token. The reader
    takes everything waiting at once, and the loop is woken once per batch.

    ``divert`` hands later bytes chunks to a sink in the putting thread itself, so
    the loop is not woken per chunk at all (gateway/wire.py). One lock orders the
    two paths: a sink is installed only while nothing waits, and ``stop`` removes
    it, so once ``stop`` returns no chunk can reach the sink."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = threading.Event()
        self.error: Exception | None = None  # why it was stopped, if it was
        self._items: deque[Any] = deque()  # appends from any thread, pops on the loop
        self._waiter: asyncio.Future[None] | None = None
        self._scheduled = False
        self._lock = threading.Lock()
        self._sink: Callable[[bytes], bool] | None = None

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def put(self, chunk: Chunk) -> None:
        with self._lock:
            if self._sink is not None and type(chunk) is bytes:
                if self._sink(chunk):
                    return
                self._sink = None  # the sink gave up: this chunk and the rest go through the loop
            self._items.append(chunk)
            wake = not self._scheduled  # a wake-up already scheduled will find this chunk too
            self._scheduled = True
        if wake:
            self.loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        with self._lock:  # before the reader pops: a chunk appended after this schedules a new wake
            self._scheduled = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def put_here(self, item: Any) -> None:
        """Same as put, from the event loop's own thread."""
        with self._lock:
            self._items.append(item)
        self._wake()

    def divert(self, sink: Callable[[bytes], bool]) -> bool:
        """From now on give bytes chunks to ``sink`` in the thread that puts them; ``sink`` returns
        False to refuse a chunk (which then goes through the loop, and so does every later one).
        Only while nothing waits, so no chunk overtakes another; False if it could not be done."""
        with self._lock:
            if self._items or self._stop.is_set():
                return False
            self._sink = sink
            return True

    def undivert(self) -> None:
        """No chunk reaches the sink once this returns (a sink call under way finishes first)."""
        with self._lock:
            self._sink = None

    async def take(self) -> list[Any]:
        """Everything waiting, at least one item (event loop thread only)."""
        items = self._items
        while not items:
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        with self._lock:
            taken = list(items)
            items.clear()
        return taken

    def stop(self, error: Exception | None = None) -> None:
        """Ask the backend to abort and wake the reader at once (event loop thread only)."""
        if self._stop.is_set():
            return
        self.error = error
        with self._lock:
            self._sink = None
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
