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


async def test_divert_hands_chunks_to_the_sink_in_the_putting_thread() -> None:
    channel = Channel()
    got: list[tuple[bytes, str]] = []
    assert channel.divert(lambda chunk: got.append((chunk, threading.current_thread().name)) or True)
    thread = threading.Thread(target=lambda: [channel.put(b"%d" % i) for i in range(3)], name="producer")
    thread.start()
    await asyncio.to_thread(thread.join)
    assert got == [(b"0", "producer"), (b"1", "producer"), (b"2", "producer")]
    channel.put({"a": "dict"})  # only bytes go to the sink
    assert await channel.take() == [{"a": "dict"}]


async def test_divert_waits_until_nothing_waits_so_no_chunk_overtakes_another() -> None:
    channel = Channel()
    channel.put(b"first")
    assert channel.divert(lambda chunk: True) is False
    channel.put(b"second")  # not diverted: queued behind the first
    assert await channel.take() == [b"first", b"second"]
    assert channel.divert(lambda chunk: True) is True


async def test_a_refused_chunk_and_every_later_one_go_through_the_loop() -> None:
    channel = Channel()
    calls: list[bytes] = []

    def sink(chunk: bytes) -> bool:
        calls.append(chunk)
        return chunk != b"b"

    channel.divert(sink)
    for chunk in (b"a", b"b", b"c"):
        channel.put(chunk)
    assert calls == [b"a", b"b"]  # the sink is not asked again once it refused
    assert await channel.take() == [b"b", b"c"]


async def test_no_chunk_reaches_the_sink_after_stop() -> None:
    channel = Channel()
    calls: list[bytes] = []
    channel.divert(lambda chunk: calls.append(chunk) or True)
    channel.put(b"before")
    channel.stop()
    channel.put(b"after")
    assert calls == [b"before"]
    assert channel.divert(lambda chunk: True) is False  # a stopped channel is not diverted again
    assert (await channel.take())[0] is END
