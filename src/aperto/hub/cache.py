"""Answers kept in memory and forgotten when the event feed says they changed, so a hot path
costs no query. Correctness first: a change made by this process is forgotten before its writer
returns (Core.write runs the follower); one made by another replica, when that replica's NOTIFY
arrives (milliseconds; on SQLite the follower's poll)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aperto.hub.auth import Caller, token_hash
from aperto.hub.notify import Follower

MAX_TOKENS = 100_000  # beyond this the cache starts over rather than grow without bound


class TokenCache:
    """sha256 of a token -> its Caller. Unknown and revoked tokens are never cached (each such
    request reads the table), so a token created a moment ago works at once."""

    def __init__(self, follower: Follower, load: Callable[[str], Caller]) -> None:
        self.follower = follower
        self.load = load
        self._callers: dict[str, Caller] = {}
        self._generation = 0  # bumped by every invalidation: a read that raced one is not kept
        self._lock = threading.Lock()
        follower.listeners.append(self.invalidate)

    def __len__(self) -> int:
        return len(self._callers)

    def peek(self, raw: str) -> Caller | None:
        """The cached caller, or None (then ``get`` reads the table)."""
        return self._callers.get(token_hash(raw))

    def get(self, raw: str) -> Caller:
        hit = self.peek(raw)
        if hit is not None:
            return hit
        sha = token_hash(raw)
        self.follower.start()  # the cache is only as fresh as the follower that invalidates it
        generation = self._generation
        caller = self.load(raw)
        with self._lock:
            if generation == self._generation:
                if len(self._callers) >= MAX_TOKENS:
                    self._callers.clear()
                self._callers[sha] = caller
        return caller

    def invalidate(self, events: list[dict[str, Any]]) -> None:
        gone = [e["data"].get("sha256") for e in events if e["type"] == "token-revoked" and e.get("data")]
        if gone:
            with self._lock:
                self._generation += 1
                for sha in gone:
                    self._callers.pop(sha, None)
