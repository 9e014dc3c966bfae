"""Chunks put from another thread arrive in order and complete, woken in batches."""

from __future__ import annotations

import asyncio
import threading

from aperto.gateway.backends import END, Channel


async def test_channel_keeps_order_across_batched_wakeups() -> None:
    channel = Channel()

    def produce() -> None:
        for i in range(2000):
            channel.put({"i": i})

    thread = threading.Thread(target=produce)
    thread.start()
    await asyncio.to_thread(thread.join)
    channel.loop.call_soon_threadsafe(channel.put_here, END)
    got = []
    while (item := await channel.queue.get()) is not END:
        got.append(item["i"])
    assert got == list(range(2000))
