"""What this gateway served, per UTC day, user and model, until it reports to the hub
(POST /api/usage, events.UsageReport). Counted from the usage chunk that every upstream request
carries (the gateway forces include_usage), in whatever thread wrote it."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from aperto.events import UsageLine, UsageReport

USAGE = re.compile(rb'"usage":(\{[^{}]*\})')
Observer = Callable[[str, str, int, int], None]  # user, model, prompt tokens, completion tokens


class UsageLedger:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str], list[int]] = {}  # (day, user, model) -> [requests, in, out]
        self._lock = threading.Lock()
        self.observers: list[Observer] = []  # metrics: tokens in and out by model and user

    def count(self, user: str, model: str, chunk: bytes | dict) -> None:
        """One request's usage chunk (compact JSON bytes, or the parsed chunk)."""
        if isinstance(chunk, bytes):
            found = USAGE.search(chunk)
            if found is None:
                return
            try:
                usage = json.loads(found.group(1))
            except ValueError:
                return
        else:
            usage = chunk.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        key = (datetime.now(UTC).date().isoformat(), user, model)
        with self._lock:
            row = self._counts.setdefault(key, [0, 0, 0])
            row[0] += 1
            row[1] += prompt
            row[2] += completion
        for observe in self.observers:
            observe(user, model, prompt, completion)

    def drain(self) -> UsageReport | None:
        """Everything counted so far, as one report (None: nothing), and start again."""
        with self._lock:
            counts, self._counts = self._counts, {}
        if not counts:
            return None
        return UsageReport(id=uuid.uuid4().hex, lines=[
            UsageLine(day=d, user=u, repo=m, requests=r, prompt_tokens=i, completion_tokens=o)
            for (d, u, m), (r, i, o) in counts.items()])
