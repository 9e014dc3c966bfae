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
    got, takes = [], 0
    while True:
        items = await channel.take()
        takes += 1
        if items[-1] is END:
            got.extend(item["i"] for item in items[:-1])
            break
        got.extend(item["i"] for item in items)
    assert got == list(range(2000))
    assert takes < 2000  # woken in batches, not once per chunk
