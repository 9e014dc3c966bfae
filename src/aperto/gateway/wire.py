"""A streamed answer written to the client's socket by the backend's own thread.

Relaying a token through the event loop costs a wake-up, the GIL changing hands and
the ASGI send chain: about 200 us of CPU per token on the 2-core bench machine,
taken from llama.cpp, which wants both cores. Once the response has started, a
``SocketWriter`` sends each chunk with one write(2) from the thread that produced it,
and the loop sleeps until the stream ends.

It is used only where the framing is known and nothing else writes: uvicorn's
httptools protocol, plain HTTP, a chunked body, and nothing left in the transport's
buffer. A chunk the socket cannot take at once sends that chunk's remainder, and every
later chunk, back through the loop, which buffers and honours flow control. The
writer keeps its own duplicate of the socket, so a connection that uvicorn closes
meanwhile can never make it write to another client's socket that reused the number."""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from aperto.gateway.backends import Chunk
from aperto.gateway.stream import Stream
from aperto.sse import line_event

SEND_KEY = "aperto.send"  # the server's own send, put in the scope before any middleware wraps it
# what this module reads of uvicorn's connection object (private: checked once at start-up)
CYCLE_ATTRIBUTES = ("transport", "response_started", "chunked_encoding", "response_complete")


def direct_write_problem() -> str | None:
    """Why the installed uvicorn cannot be written to this way, or None. A uvicorn that renamed what
    this module reads must fall back to the event loop, never fail mid-stream."""
    try:
        from uvicorn.protocols.http import httptools_impl
    except ImportError as exc:  # no httptools: uvicorn uses h11, whose framing this module does not know
        return f"uvicorn's httptools protocol cannot be loaded ({exc})"
    cycle = getattr(httptools_impl, "RequestResponseCycle", None)
    init = getattr(getattr(cycle, "__init__", None), "__code__", None)
    names = set(init.co_names) if init is not None else set()
    missing = [name for name in CYCLE_ATTRIBUTES if name not in names]
    if missing:
        return f"uvicorn's RequestResponseCycle no longer sets {', '.join(missing)}"
    return None


def sse(chunk: Chunk) -> bytes:
    """One server-sent event, as OpenAI streams a chunk (compact JSON: always one line)."""
    if type(chunk) is bytes:  # already JSON (llama.cpp's own)
        return line_event(chunk)
    return line_event(json.dumps(chunk, separators=(",", ":")).encode())


class SocketWriter:
    def __init__(self, cycle: Any, fd: int, loop: asyncio.AbstractEventLoop) -> None:
        self.cycle, self.fd, self.loop = cycle, fd, loop
        self.failed = False  # the socket refused a chunk: the loop carries the rest
        self.sent = 0  # chunks this writer sent (tests check the path was taken)

    @classmethod
    def attach(cls, scope: dict[str, Any]) -> SocketWriter | None:
        """A writer for this response, if its server is one whose framing this module knows."""
        cycle = getattr(scope.get(SEND_KEY), "__self__", None)
        if type(cycle).__module__ != "uvicorn.protocols.http.httptools_impl" or scope.get("scheme") != "http":
            return None
        transport = getattr(cycle, "transport", None)
        if transport is None or transport.get_extra_info("sslcontext") is not None:
            return None
        sock = transport.get_extra_info("socket")
        try:
            fd = os.dup(sock.fileno())
        except (AttributeError, OSError):  # no socket, or out of descriptors: the loop writes, as before
            return None
        return cls(cycle, fd, asyncio.get_running_loop())

    def ready(self) -> bool:
        """Headers out, a chunked body, everything uvicorn wrote already in the kernel."""
        cycle = self.cycle
        return (not self.failed and self.fd >= 0 and cycle.response_started and cycle.chunked_encoding is True
                and not cycle.response_complete and not cycle.transport.is_closing()
                and cycle.transport.get_write_buffer_size() == 0)

    def divert(self, stream: Stream) -> bool:
        """Start writing ``stream``'s chunks from the backend's thread (event loop thread only)."""
        return self.ready() and stream.divert(self.write)

    def write(self, chunk: bytes) -> bool:
        """One chunk as an SSE event in one HTTP chunk (called with the channel's lock held)."""
        if self.failed:
            return False
        event = sse(chunk)
        data = b"%x\r\n%s\r\n" % (len(event), event)
        try:
            n = os.write(self.fd, data)  # the socket is non-blocking: this never waits on the client
        except OSError:  # full (nothing taken), or the client is gone: the loop finds out and stops
            self.failed = True
            return False
        self.sent += 1
        if n < len(data):  # a slow client: the loop writes the rest first, then everything after it
            self.failed = True
            self.loop.call_soon_threadsafe(self.cycle.transport.write, data[n:])
        return True

    def close(self, stream: Stream) -> None:
        """After this, nothing writes to the duplicate and it is closed (event loop thread only)."""
        stream.undivert()  # waits for a write under way
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
