"""Server-sent events, both ways, in one place (https://html.spec.whatwg.org/#server-sent-events).
PURE: the standard library only. The gateway frames OpenAI chunks with it and reads upstream
streams with it; the hub's feed and the evals' client can use the same code."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass


def line_event(data: bytes, id: int | None = None) -> bytes:
    """One event whose data is known to be a single line (compact JSON is): the hot path, per token
    and per feed event (which carries its sequence number as ``id``)."""
    if id is None:
        return b"data: " + data + b"\n\n"
    return b"id: %d\ndata: %s\n\n" % (id, data)


def encode(data: str, *, event: str | None = None, id: str | int | None = None) -> bytes:
    """One event; data with line breaks becomes one ``data:`` line per line, as the format requires."""
    lines = [f"event: {event}"] if event else []
    if id is not None:
        lines.append(f"id: {id}")
    lines += [f"data: {line}" for line in data.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str = "") -> bytes:
    """A comment line: keeps a connection alive, ignored by readers."""
    return f": {text}\n\n".encode()


@dataclass(frozen=True)
class Event:
    data: str
    event: str | None = None
    id: str | None = None


class Parser:
    """Feed it lines (without their line break); it returns each event when its blank line arrives."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._id: str | None = None

    def feed(self, line: str) -> Event | None:
        if not line:
            if not self._data:  # a blank line with no data dispatches nothing
                self._event = None
                return None
            done = Event("\n".join(self._data), self._event, self._id)
            self._data, self._event = [], None
            return done
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return None


async def events(lines: AsyncIterable[str]) -> AsyncIterator[Event]:
    """The events of a stream of lines (httpx's ``aiter_lines``)."""
    parser = Parser()
    async for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event
