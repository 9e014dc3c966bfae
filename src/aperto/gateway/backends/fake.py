"""A model that says "tok0 tok1 ..." at a set pace. For fast unit tests only."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aperto.gateway.backends import register
from aperto.gateway.backends.base import Backend, Channel


@register("fake")
class Fake(Backend):
    def __init__(self, spec, settings) -> None:
        super().__init__(spec, settings)
        self.delay = float(spec.get("delay", 0.01))
        self.callbacks = 0

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        n = int(body.get("max_tokens") or 16)
        base = {"id": "fake-1", "created": int(time.time()), "model": "fake",
                "object": "chat.completion.chunk" if route == "chat" else "text_completion"}
        for i in range(n):
            if out.stopped:
                return
            self.callbacks += 1
            piece = f"tok{i} "
            choice = ({"index": 0, "delta": {"content": piece}, "finish_reason": None} if route == "chat"
                      else {"index": 0, "text": piece, "finish_reason": None})
            out.put_here({**base, "choices": [choice]})
            await asyncio.sleep(self.delay)
        last = {"index": 0, "delta": {}, "finish_reason": "length"} if route == "chat" else \
            {"index": 0, "text": "", "finish_reason": "length"}
        out.put_here({**base, "choices": [last]})
        out.put_here({**base, "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": n,
                                                       "total_tokens": 3 + n}})
