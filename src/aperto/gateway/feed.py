"""The hub's event feed, from the gateway's side (docs/contracts.md).

Start from GET /api/gateway/state, then long-poll GET /api/events?after=SEQ.
Every answer, events or the empty heartbeat, counts as word from the hub; the
staleness limit is measured from the last one. Errors are retried with a short
backoff and never crash the gateway; they only let the policy go stale."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx

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
        if self.need_snapshot:
            snap = await self._get(client, "/api/gateway/state")
            self.policy.load(snap)
            self.policy.heard = time.monotonic()
            self.need_snapshot = False
            self.changed()
        answer = await self._get(client, "/api/events", params={"after": self.policy.seq, "wait": self.wait})
        events = answer.get("events") or []
        last = answer.get("last_seq")
        if isinstance(last, int) and last < self.policy.seq:
            self.need_snapshot = True  # the hub's sequence went backwards (new database): start over
            return
        for event in events:
            self.policy.apply(event)
        self.policy.heard = time.monotonic()
        if events:
            self.changed()

    async def _get(self, client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None) -> Any:
        response = await client.get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered HTTP {response.status_code}: {response.text[:200]}")
        return response.json()
