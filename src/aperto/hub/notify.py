"""How a hub process learns of new events, once for all its waiters.

The ``Follower`` keeps the newest events in memory. One read of the event table (``catch_up``)
serves every long-poll, SSE stream and cache of the process. It runs:
- right after a write of this process commits (``Core.write``), in the writer's thread;
- when PostgreSQL notifies that another replica (or the CLI) wrote events (LISTEN/NOTIFY);
- on SQLite, where there is no NOTIFY, on a short poll by one thread, whatever the number of waiters.
Waiters sleep on one future per event loop, resolved when ``catch_up`` found something."""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aperto import sse
from aperto.hub.auth import iso
from aperto.store import Store
from aperto.store import events as event_rows
from aperto.store.listen import Listener
from aperto.store.models import Event

log = logging.getLogger("aperto.hub.feed")
SQLITE_POLL_S = 0.1  # writers in other processes (the CLI) are seen this late on SQLite
PG_SAFETY_S = 1.0  # on PostgreSQL NOTIFY wakes us; this poll only covers a lost listener connection
KEEP = 4096  # events held in memory; a gateway further behind reads the table itself
BATCH = 1000


def event_dict(e: Event) -> dict[str, Any]:
    """An event as the feed carries it (events.Event.wire's shape)."""
    return {"seq": e.seq, "type": e.type, "repo": e.repo, "user": e.user, "data": e.data, "at": iso(e.at)}


def wire(event: dict[str, Any]) -> bytes:
    """An event's JSON as every feed sends it: the long-poll, the SSE stream and NATS (compact, UTF-8)."""
    return json.dumps(event, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


class Follower:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = uuid.uuid4().hex  # this process's NOTIFY payload: its own listener skips them
        with store.read() as s:
            self.last_seq = event_rows.last_seq(s)
        self.floor = self.last_seq  # every event with floor < seq <= last_seq is in memory
        self._seqs: list[int] = []
        self._events: list[dict[str, Any]] = []
        self._wire: list[bytes] = []  # each event encoded once, however many waiters it is sent to
        self._frames: list[bytes] = []
        self._memo: dict[str, tuple[tuple[int, int, int], Any]] = {}  # the answer every woken waiter shares
        self._lock = threading.Lock()
        self._futures: dict[asyncio.AbstractEventLoop, asyncio.Future[None]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = False  # memory caught up once since the thread began
        self.listeners: list[Callable[[list[dict[str, Any]]], None]] = []  # caches to invalidate
        self.stopping = False
        self.waiting = 0  # long-polls and streams asleep in this process (a metric)

    # ---- reading ---------------------------------------------------------------------------
    def catch_up(self) -> list[dict[str, Any]]:
        """Read the events this process has not seen yet (one query), tell the caches, wake waiters."""
        with self._lock:
            new: list[dict[str, Any]] = []
            while True:
                with self.store.read() as s:
                    found = [event_dict(e) for e in event_rows.after(s, seq=self.last_seq, limit=BATCH)]
                if not found:
                    break
                new += found
                self._seqs += [e["seq"] for e in found]
                self._events += found
                encoded = [wire(e) for e in found]
                self._wire += encoded
                self._frames += [sse.line_event(b, e["seq"]) for e, b in zip(found, encoded, strict=True)]
                self.last_seq = found[-1]["seq"]
                if len(found) < BATCH:
                    break
            if len(self._seqs) > KEEP:
                cut = len(self._seqs) - KEEP
                self.floor = self._seqs[cut - 1]
                del self._seqs[:cut], self._events[:cut], self._wire[:cut], self._frames[:cut]
            if new:
                for listener in self.listeners:
                    listener(new)
        if new:
            self.wake()
        return new

    def since(self, after: int, limit: int) -> list[dict[str, Any]] | None:
        """The events after ``after`` from memory, or None when memory does not reach back that far."""
        with self._lock:
            if after < self.floor:
                return None
            i = bisect.bisect_right(self._seqs, after)
            return self._events[i:i + limit]

    def since_json(self, after: int, limit: int) -> bytes | None:
        """``{"events":[...],"last_seq":N`` (the long-poll's answer less its time) from memory, or None."""
        def build(i: int) -> bytes:
            return b'{"events":[' + b",".join(self._wire[i:i + limit]) + b'],"last_seq":%d' % self.last_seq

        return self._shared("json", after, limit, build)

    def since_frames(self, after: int, limit: int) -> tuple[bytes, int] | None:
        """The SSE events after ``after`` from memory, joined, and the last one's seq; or None."""
        def build(i: int) -> tuple[bytes, int]:
            seqs = self._seqs[i:i + limit]
            return b"".join(self._frames[i:i + limit]), seqs[-1] if seqs else after

        return self._shared("frames", after, limit, build)

    def _shared(self, kind: str, after: int, limit: int, build: Callable[[int], Any]) -> Any:
        """``build(index of the first event after after)``, once per ``after`` and newest seq: a kill
        wakes every waiter with the same ``after``, and they all get the same bytes. None when memory
        does not reach back that far."""
        with self._lock:
            if after < self.floor:
                return None
            key = (after, self.last_seq, limit)
            memo = self._memo.get(kind)
            if memo is None or memo[0] != key:
                memo = self._memo[kind] = (key, build(bisect.bisect_right(self._seqs, after)))
            return memo[1]

    # ---- waiting ---------------------------------------------------------------------------
    def wake(self) -> None:
        """From any thread: every waiter of every loop re-checks."""
        for loop in list(self._futures):
            if loop.is_closed():
                self._futures.pop(loop, None)
            else:
                loop.call_soon_threadsafe(self._resolve, loop)

    def _resolve(self, loop: asyncio.AbstractEventLoop) -> None:
        fut = self._futures.pop(loop, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def wait(self, after: int, timeout: float, gone: Awaitable[Any] | None = None) -> bool:
        """Until an event after ``after`` is known, ``timeout`` passes or the hub stops. False if
        ``gone`` (the client's disconnect) finished first."""
        self.start()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        gone_task = asyncio.ensure_future(gone) if gone is not None else None
        self.waiting += 1
        try:
            while self.last_seq <= after and not self.stopping:
                left = deadline - loop.time()
                if left <= 0:
                    return True
                fut = self._futures.get(loop)
                if fut is None or fut.done():
                    fut = self._futures[loop] = loop.create_future()
                waits: set[asyncio.Future[Any]] = {fut} if gone_task is None else {fut, gone_task}
                await asyncio.wait(waits, timeout=left, return_when=asyncio.FIRST_COMPLETED)
                if gone_task is not None and gone_task.done():
                    return False
            return True
        finally:
            self.waiting -= 1
            if gone_task is not None:
                gone_task.cancel()

    def stop_waiting(self) -> None:
        self.stopping = True
        self.wake()

    # ---- the thread that hears other processes -------------------------------------------
    @property
    def started(self) -> bool:
        return self._ready

    def start(self) -> None:
        """Start following other writers (idempotent). Lazy: a hub made for one CLI call never starts it."""
        if self._thread is None and not self._stop.is_set():
            with self._lock:
                if self._thread is not None:
                    return
                self._thread = threading.Thread(target=self._run, name="aperto-feed", daemon=True)
                self._thread.start()
            self.catch_up()  # what others wrote since this process began: memory must be current first
            self._ready = True

    def _run(self) -> None:
        listener = None
        while not self._stop.is_set():
            try:
                if self.store.is_postgres:
                    if listener is None:
                        listener = Listener(self.store.url)
                    listener.wait(PG_SAFETY_S, ignore=self.name)  # the writer caught up itself
                else:
                    self._stop.wait(SQLITE_POLL_S)
                if not self._stop.is_set():
                    self.catch_up()
            except Exception as exc:  # noqa: BLE001 - a lost connection: reconnect after a pause
                log.warning("event follower: %s: %s", type(exc).__name__, exc)
                if listener is not None:
                    listener.close()
                    listener = None
                self._stop.wait(1.0)
        if listener is not None:
            listener.close()

    def close(self) -> None:
        self._stop.set()
        self.stop_waiting()
        if self._thread is not None:
            self._thread.join(PG_SAFETY_S + 1)
