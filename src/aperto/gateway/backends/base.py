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


class Channel:
    """Chunks from a backend to the request that waits for them.

    ``put`` is safe from any thread (llama.cpp calls back from a worker thread);
    ``stopped`` is a plain flag the backend checks before each token."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self._stop = threading.Event()
        self.error: Exception | None = None  # why it was stopped, if it was
        # chunks from other threads wait here; the loop is woken once per batch, not per chunk
        self._pending: deque[Any] = deque()
        self._scheduled = False

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def put(self, chunk: dict[str, Any]) -> None:
        self._pending.append(chunk)
        if not self._scheduled:  # a drain already scheduled will pick this chunk up too
            self._scheduled = True
            self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        self._scheduled = False  # before popping: a chunk appended after this schedules a new drain
        pending, queue = self._pending, self.queue
        while pending:
            queue.put_nowait(pending.popleft())

    def put_here(self, item: Any) -> None:
        """Same as put, from the event loop's own thread."""
        self.queue.put_nowait(item)

    def stop(self, error: Exception | None = None) -> None:
        """Ask the backend to abort and wake the reader at once (event loop thread only)."""
        if self._stop.is_set():
            return
        self.error = error
        self._stop.set()
        self.queue.put_nowait(END)


class Backend(ABC):
    """One served model. Subclasses register by name in ``aperto.gateway.backends``."""

    name = "base"

    def __init__(self, spec: dict[str, str], settings: Settings) -> None:
        self.spec = spec
        self.settings = settings

    @abstractmethod
    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        """Run one request (``route`` is "chat" or "completions"; ``body`` has stream=True).

        Put each OpenAI-shaped chunk on ``out``; stop producing as soon as ``out.stopped``.
        Raise an ApertoError for a request the model cannot serve."""

    def close(self) -> None:
        """Free the model (called at shutdown)."""
        return None
