"""The outbox relay: the hub's events table, published to NATS JetStream (docs/fleet.md).

One relay publishes for the whole fleet: every hub replica runs one, and the one holding a
PostgreSQL advisory lock publishes; if its process dies, PostgreSQL releases the lock and another
takes over. It continues from the stream's last message, so events go out in order; the message id
is the event's seq, so JetStream drops any an earlier leader had already sent. The body is exactly
the HTTP feed's JSON for the event. The leader also publishes ``aperto.heartbeat`` every few
seconds, so a gateway that hears nothing knows its feed is gone, not quiet."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aperto.hub.core import Core
from aperto.hub.notify import event_dict, wire
from aperto.store import events as event_rows
from aperto.store.listen import LeaderLock

log = logging.getLogger("aperto.hub.relay")
STREAM = "APERTO_EVENTS"
SUBJECTS = "aperto.events.>"
HEARTBEAT = "aperto.heartbeat"
RELAY_LOCK = 0x72656C61  # the advisory lock key ("rela")
BATCH = 500
MAX_CONSUMERS = 1_000_000  # gateways following the stream, each with its own consumer


def subject(event: dict[str, Any]) -> str:
    return f"aperto.events.{event['type']}"


async def ensure_stream(js: Any) -> None:
    """Create the stream, or lift an older one's consumer limit: every gateway holds one ordered
    consumer, and nats-server 2.15 caps a stream that sets no limit of its own at 1,000 consumers."""
    from nats.js.api import StreamConfig
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(StreamConfig(name=STREAM, subjects=[SUBJECTS], duplicate_window=600.0,
                                         max_consumers=MAX_CONSUMERS))
        return
    if (info.config.max_consumers or 0) < MAX_CONSUMERS:
        info.config.max_consumers = MAX_CONSUMERS
        await js.update_stream(info.config)


async def last_published(js: Any) -> int:
    """The seq of the newest event in the stream (0: none yet)."""
    info = await js.stream_info(STREAM)
    if not info.state.last_seq:
        return 0
    msg = await js.get_msg(STREAM, info.state.last_seq)
    return int(json.loads(msg.data)["seq"])


class Relay:
    def __init__(self, core: Core, nats_url: str, heartbeat_s: float = 5.0) -> None:
        self.core = core
        self.nats_url = nats_url
        self.heartbeat_s = heartbeat_s
        self.leader = False
        self.published = 0  # the newest seq this relay has seen acknowledged
        self.error: str | None = None

    def _lock(self) -> LeaderLock | None:
        """The lock, when this relay got it (SQLite: one hub process, always the leader)."""
        if not self.core.store.is_postgres:
            return None
        lock = LeaderLock(self.core.store.url, self.core.store.lock_key(RELAY_LOCK))
        if lock.try_acquire():
            return lock
        lock.close()
        raise LookupError("another relay holds the lock")

    async def run(self) -> None:
        """Until cancelled; every failure (NATS down, the database away) is retried."""
        import nats

        while True:
            nc = lock = None
            try:
                lock = await asyncio.to_thread(self._lock)
                self.leader = True
                nc = await nats.connect(self.nats_url, allow_reconnect=False, connect_timeout=2)
                js = nc.jetstream()
                await ensure_stream(js)
                await self._publish(nc, js, lock)
            except asyncio.CancelledError:
                raise
            except LookupError:
                pass  # a follower: try for the lock again shortly
            except Exception as exc:  # noqa: BLE001 - NATS or the database went away: start over
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("relay: %s", self.error)
            finally:
                self.leader = False
                if nc is not None:
                    await nc.close()
                if lock is not None:
                    await asyncio.to_thread(lock.close)
            await asyncio.sleep(0.5)

    async def _publish(self, nc: Any, js: Any, lock: LeaderLock | None) -> None:
        follower = self.core.follower
        self.published = await last_published(js)
        beat = 0.0
        while True:
            batch = follower.since(self.published, BATCH) if follower.started else None
            if batch is None:  # further back than memory holds: the table, in a thread
                batch = await asyncio.to_thread(self._from_table, self.published)
            for event in batch:
                await js.publish(subject(event), wire(event), stream=STREAM,
                                 headers={"Nats-Msg-Id": str(event["seq"])})
                self.published = event["seq"]
            if batch:
                continue
            self.error = None
            if time.monotonic() - beat >= self.heartbeat_s:
                if lock is not None:
                    await asyncio.to_thread(lock.alive)  # a relay that lost its lock must stop publishing
                await nc.publish(HEARTBEAT, json.dumps({"seq": self.published}).encode())
                await nc.flush()
                beat = time.monotonic()
            await follower.wait(self.published, min(self.heartbeat_s, 1.0))

    def _from_table(self, seq: int) -> list[dict[str, Any]]:
        with self.core.store.read() as s:
            return [event_dict(e) for e in event_rows.after(s, seq=seq, limit=BATCH)]


def lifespan(core: Core, nats_url: str, heartbeat_s: float) -> Any:
    """The hub app's lifespan when APERTO_NATS_URL is set: every replica runs a relay; one leads."""
    import contextlib

    @contextlib.asynccontextmanager
    async def run(app: Any) -> Any:
        task = asyncio.create_task(Relay(core, nats_url, heartbeat_s).run())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run
