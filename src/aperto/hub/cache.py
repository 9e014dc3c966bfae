"""Answers kept in memory and forgotten when the event feed says they changed, so a hot path
costs no query. Correctness first: a change made by this process is forgotten before its writer
returns (Core.write runs the follower); one made by another replica, when that replica's NOTIFY
arrives (milliseconds; on SQLite the follower's poll)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from aperto.hub.auth import Caller, token_hash, utcnow
from aperto.hub.notify import Follower

MAX_TOKENS = 100_000  # beyond this the cache starts over rather than grow without bound


class TokenCache:
    """sha256 of a token -> its Caller. Unknown, revoked and expired tokens are never cached (each
    such request reads the table), so a token created a moment ago works at once. A cached token
    whose expiry has passed is dropped when next asked for: expiry sends no event."""

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
        """The cached caller, or None (then ``get`` reads the table, which refuses an expired token)."""
        sha = token_hash(raw)
        hit = self._callers.get(sha)
        if hit is not None and hit.expires_at is not None and hit.expired(utcnow()):
            with self._lock:
                self._callers.pop(sha, None)
            return None
        return hit

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


MAX_ENTRIES = 50_000  # answers held across all repos; beyond this the cache starts over
WIDE = frozenset({"takedown", "restore", "revision-takedown", "revision-restore"})  # other repos' bytes too


class MetadataCache:
    """Answers about a repo (model_info, trees, a download's authorisation), kept per repo name.
    Any event naming a repo forgets that repo; a takedown or restore (its bytes may be referenced
    by other repos) and any event without a repo other than a token's forget everything. Only
    answers are kept, never errors: a repo created a moment ago is found at once."""

    def __init__(self, follower: Follower) -> None:
        self.follower = follower
        self._repos: dict[str, dict[Any, Any]] = {}
        self._size = 0
        self._generation = 0
        self._lock = threading.Lock()
        follower.listeners.append(self.invalidate)

    def __len__(self) -> int:
        return self._size

    def peek(self, repo: str, key: Any) -> Any:
        """The cached answer, or None (then ``get`` computes it). Safe on the event loop."""
        answers = self._repos.get(repo)
        return None if answers is None else answers.get(key)

    def get(self, repo: str, key: Any, load: Callable[[], Any] | None) -> Any:
        """The cached answer, else ``load()``'s (kept unless the feed changed something meanwhile);
        with ``load`` None only a cached answer, else None: an async route asks this way first."""
        hit = self.peek(repo, key)
        if hit is not None or load is None:
            return hit
        self.follower.start()  # only as fresh as the follower that invalidates it
        generation = self._generation
        value = load()
        with self._lock:
            if generation == self._generation and value is not None:
                if self._size >= MAX_ENTRIES:
                    self._repos.clear()
                    self._size = 0
                answers = self._repos.setdefault(repo, {})
                self._size += key not in answers
                answers[key] = value
        return value

    def invalidate(self, events: list[dict[str, Any]]) -> None:
        everything = any(e["type"] in WIDE or (e.get("repo") is None and not e["type"].startswith("token-"))
                         for e in events)
        with self._lock:
            self._generation += 1
            if everything:
                self._repos.clear()
                self._size = 0
                return
            for e in events:
                gone = self._repos.pop(e["repo"], None) if e.get("repo") else None
                self._size -= len(gone or ())
