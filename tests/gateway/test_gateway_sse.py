"""Server-sent events: framing and parsing agree, multi-line data included."""

from __future__ import annotations

import asyncio

from aperto import sse


def parse(raw: bytes) -> list[sse.Event]:
    async def lines():
        for line in raw.decode().split("\n"):
            yield line

    async def collect():
        return [e async for e in sse.events(lines())]

    return asyncio.run(collect())


def test_round_trip_with_line_breaks_ids_and_names():
    raw = sse.encode("one\ntwo\r\nthree", event="kill", id=7) + sse.comment("hb") + sse.line_event(b'{"a":1}')
    assert parse(raw) == [sse.Event("one\ntwo\nthree", "kill", "7"), sse.Event('{"a":1}', None, "7")]


def test_parser_follows_the_format():
    raw = b"data:no space\ndata:  two spaces\n\n\n: comment\nevent: x\n\ndata: last-without-blank-line"
    assert parse(raw) == [sse.Event("no space\n two spaces")]
