"""The hub's event feed, from the gateway's side (docs/contracts.md).

Start from GET /api/gateway/state, then GET /api/events?after=SEQ&wait=0 (its ``last_seq`` shows a
hub whose sequence went backwards), then hold the SSE stream GET /api/events/stream from that seq:
a kill reaches a thousand gateways as one write to each open stream, with no request to answer and
none to take again. A hub without the stream (404, 405) is long-polled (``wait``) instead.
Every answer, event and heartbeat counts as word from the hub; the
staleness limit is measured from the last one. An event it cannot read or apply makes
it stop serving the repo concerned and fetch a fresh snapshot at once (fail closed). Errors are retried with a short
backoff and never crash the gateway; they only let the policy go stale."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

from aperto import sse
from aperto.errors import BadInput
from aperto.events import EVENT_TYPES, Event, parse_event, parse_snapshot
from aperto.gateway.policy import Policy

log = logging.getLogger("aperto.gateway.feed")


class HubFeed:
    def __init__(self, hub_url: str, token: str | None, policy: Policy, changed: Callable[[], None]) -> None:
        self.hub_url = hub_url.rstrip("/")
        self.token = token
        self.policy = policy
        self.changed = changed  # the gateway re-checks live streams and saves kill state
        # the long-poll wait doubles as the heartbeat, so keep it well inside the staleness limit
        self.wait = max(1, min(25, int(policy.limit / 3)))
        self.error: str | None = None
        self.need_snapshot = True
        self.stream = True  # hold the SSE stream; False once the hub answered that it has none
        self.on_applied: Callable[[Event], None] | None = None  # metrics: feed lag, kill propagation

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with httpx.AsyncClient(base_url=self.hub_url, headers=headers,
                                     timeout=httpx.Timeout(self.wait + 10.0)) as client:
            backoff = 0.2
            while True:
                try:
                    await self.step(client)
                    self.error = None
                    backoff = 0.2
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # any failure just means no word from the hub this time
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.warning("hub feed: %s", self.error)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)

    async def step(self, client: httpx.AsyncClient) -> None:
        if self.need_snapshot or self.policy.want_snapshot:
            self.policy.want_snapshot = False
            snap = parse_snapshot(await self._get(client, "/api/gateway/state"))
            self.policy.load(snap)
            self.policy.heard = time.monotonic()
            self.need_snapshot = False
            self.changed()
        wait = 0 if self.stream else self.wait  # before a stream: only what is already there, and last_seq
        answer = await self._get(client, "/api/events", params={"after": self.policy.seq, "wait": wait})
        events = answer.get("events") or []
        last = answer.get("last_seq")
        if isinstance(last, int) and last < self.policy.seq:
            self.need_snapshot = True  # the hub's sequence went backwards (new database): start over
            return
        for raw in events:
            self.apply(raw)
        self.policy.heard = time.monotonic()
        if events:
            self.changed()
        if self.stream and not (self.need_snapshot or self.policy.want_snapshot):
            await self._follow_stream(client)

    async def _follow_stream(self, client: httpx.AsyncClient) -> None:
        """Until the hub ends the stream (it stops, the token is revoked) or an event calls for a snapshot.
        Heartbeats every ``wait`` s keep the policy fresh; a read timeout ends a silent stream."""
        params = {"after": self.policy.seq, "heartbeat": self.wait}
        async with client.stream("GET", "/api/events/stream", params=params) as response:
            if response.status_code in (404, 405):
                self.stream = False  # an older hub: long-poll from the next step on
                return
            if response.status_code != 200:
                await response.aread()
                raise RuntimeError(f"GET /api/events/stream answered HTTP {response.status_code}: "
                                   f"{response.text[:200]}")
            async for event in sse.events(self._heard(response.aiter_lines())):
                try:
                    raw = json.loads(event.data)
                except ValueError:
                    raw = {"type": "?", "data": event.data[:100]}  # fails closed for everything
                self.apply(raw)
                self.changed()
                if self.need_snapshot or self.policy.want_snapshot:
                    return
        raise ConnectionError("the hub ended the event stream")

    async def _heard(self, lines: Any) -> Any:
        """Every line, heartbeat comments included, is word from the hub."""
        async for line in lines:
            self.policy.heard = time.monotonic()
            yield line

    def apply(self, raw: Any) -> None:
        """One event; one that cannot be read fails closed for its repo (everything if it names none)."""
        try:
            event = parse_event(raw)
        except BadInput as exc:
            log.warning("hub feed: %s", exc.message)
            self.policy.distrust(exc.details.get("repo"), exc.message)
            seq = raw.get("seq") if isinstance(raw, dict) else None
            if isinstance(seq, int) and not isinstance(seq, bool):
                self.policy.seq = max(self.policy.seq, seq)
            return
        if event.type not in EVENT_TYPES:
            log.warning("hub feed: unknown event type %r (seq %s); distrusting %s until a fresh snapshot",
                        event.type, event.seq, event.repo or "everything")
        self.policy.apply(event)
        if self.on_applied is not None:
            self.on_applied(event)

    async def _get(self, client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered HTTP {response.status_code}: {response.text[:200]}")
        return response.json()
