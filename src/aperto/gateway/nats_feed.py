"""The hub's event feed through NATS JetStream (docs/fleet.md), when APERTO_NATS_URL is set.

Subscribe to stream APERTO_EVENTS with an ordered consumer for new messages, then take the
snapshot from the hub over HTTP, skipping events the snapshot already holds (an event's seq is
at most the policy's). The relay publishes an event only after its row is committed, so whatever
was published before the consumer existed is in the snapshot: no event is lost, none is applied
twice, and a gateway that starts late never replays the stream's history. Every event
and every ``aperto.heartbeat`` counts as word from the hub; when both stop (NATS down, no relay)
the policy goes stale after its limit and the gateway refuses to serve, as with the HTTP feed.
When NATS comes back, it starts over from a fresh snapshot on its own."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from aperto.events import parse_snapshot
from aperto.gateway.feed import HubFeed
from aperto.gateway.policy import Policy

log = logging.getLogger("aperto.gateway.feed")
STREAM = "APERTO_EVENTS"


class NatsFeed(HubFeed):
    def __init__(self, hub_url: str, token: str | None, nats_url: str, policy: Policy,
                 changed: Callable[[], None]) -> None:
        super().__init__(hub_url, token, policy, changed)
        self.nats_url = nats_url
        self.applied = 0  # events applied from the stream (a metric, and the tests' witness)

    async def run(self) -> None:
        import nats

        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        backoff = 0.2
        async with httpx.AsyncClient(base_url=self.hub_url, headers=headers, timeout=10.0) as client:
            while True:
                nc = None
                try:
                    lost: asyncio.Event = asyncio.Event()

                    async def on_lost(*_: Any, lost: asyncio.Event = lost) -> None:
                        lost.set()

                    nc = await nats.connect(self.nats_url, allow_reconnect=False, connect_timeout=2,
                                            disconnected_cb=on_lost, closed_cb=on_lost)
                    await self._follow(client, nc, lost)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure only lets the policy go stale
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.warning("nats feed: %s", self.error)
                finally:
                    if nc is not None and not nc.is_closed:
                        await nc.close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _follow(self, client: httpx.AsyncClient, nc: Any, lost: asyncio.Event) -> None:
        from nats.js.api import DeliverPolicy

        early: list[Any] = []  # what arrives before the snapshot is loaded, applied right after it
        live = False

        async def heard(msg: Any) -> None:
            self.policy.heard = time.monotonic()
            if msg.subject == "aperto.heartbeat":
                return
            if not live:
                early.append(msg)
                return
            self._take(msg)
            if self.policy.want_snapshot:  # an event it could not apply: start over from the truth
                lost.set()

        await nc.subscribe("aperto.heartbeat", cb=heard)
        # subscribe first, then take the snapshot: an event in between is in both, and skipped once
        await nc.jetstream().subscribe("aperto.events.>", stream=STREAM, cb=heard, ordered_consumer=True,
                                       deliver_policy=DeliverPolicy.NEW)
        snap = parse_snapshot(await self._get(client, "/api/gateway/state"))
        self.policy.load(snap)
        self.policy.heard = time.monotonic()
        for msg in early:  # no await from here to `live`: no callback can slip in between
            self._take(msg)
        early.clear()
        live = True
        if self.policy.want_snapshot:
            lost.set()
        self.changed()
        self.error = None
        await lost.wait()
        if self.policy.want_snapshot:
            self.policy.want_snapshot = False
            return
        raise ConnectionError("lost the NATS server")

    def _take(self, msg: Any) -> None:
        """Apply one event from the stream, unless the snapshot already holds it."""
        try:
            raw = json.loads(msg.data)
        except ValueError:
            raw = {"type": "?", "data": msg.data[:100].decode(errors="replace")}
        seq = raw.get("seq") if isinstance(raw, dict) else None
        if isinstance(seq, int) and seq <= self.policy.seq:
            return
        self.apply(raw)
        self.applied += 1
        self.changed()
