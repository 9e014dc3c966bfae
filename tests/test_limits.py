"""BodyLimit (request bodies refused before they are read) and the depth-limited JSON parser."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from livekit import LiveServer

from aperto.errors import BadInput
from aperto.limits import BodyLimit, loads, nesting


async def echo(scope, receive, send):
    """An app that reads the whole body and answers with its length."""
    size, more = 0, True
    while more:
        message = await receive()
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(size).encode()})


def call(app, path: str, chunks: list[bytes], length: int | None = None):
    """Run one request through ``app``; returns (status, body, how many body messages were read)."""
    headers = [(b"content-length", str(length).encode())] if length is not None else []
    scope = {"type": "http", "method": "POST", "path": path, "headers": headers}
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, read


def test_declared_length_over_the_limit_is_refused_before_reading():
    app = BodyLimit(echo, 100)
    status, body, read = call(app, "/x", [b"x" * 200], length=200)
    assert (status, read) == (413, 0)
    message = json.loads(body)["message"]
    assert "100 bytes" in message and "200" in message and "smaller" in message


def test_a_body_without_length_is_cut_at_the_limit():
    app = BodyLimit(echo, 100)
    status, body, read = call(app, "/x", [b"x" * 60] * 10)
    assert status == 413 and read == 2  # the second chunk crossed the limit; nothing more was read
    assert call(app, "/x", [b"x" * 50, b"x" * 50]) == (200, b"100", 2)


def test_exempt_paths_and_their_own_limits():
    app = BodyLimit(echo, 100, exempt=("/upload/",), limits={"/big/": 1000, "/big/tiny/": 10})
    assert call(app, "/upload/a", [b"x" * 5000], length=5000)[:2] == (200, b"5000")
    assert call(app, "/big/a", [b"x" * 900], length=900)[0] == 200
    assert call(app, "/big/tiny/a", [b"x" * 20], length=20)[0] == 413
    assert call(app, "/other", [b"x" * 101], length=101)[0] == 413


def test_the_error_shape_is_the_apps():
    app = BodyLimit(echo, 10, error=lambda status, message: {"error": {"code": status, "message": message}})
    status, body, _ = call(app, "/x", [b"x" * 11], length=11)
    assert status == 413 and json.loads(body)["error"]["code"] == 413


def test_a_length_that_is_not_a_number():
    status, body, read = asyncio.run(_bad_length(BodyLimit(echo, 10)))
    assert status == 400 and read == 0 and "not a number" in json.loads(body)["message"]


async def _bad_length(app):
    sent: list[dict] = []
    read = 0

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await app({"type": "http", "path": "/", "headers": [(b"content-length", b"12x")]}, receive, send)
    return sent[0]["status"], sent[1]["body"], read


def test_four_huge_unauthenticated_bodies_are_answered_while_still_unsent():
    """64 MB each, declared; the server answers 413 before the clients send a byte of them."""
    with LiveServer(BodyLimit(echo, 1 << 20), lifespan="off") as live:
        socks = [socket.create_connection(("127.0.0.1", live.port)) for _ in range(4)]
        for sock in socks:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % (64 << 20) + b"{")
        for sock in socks:
            sock.settimeout(10)
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 413")
            sock.close()


def test_loads_refuses_deep_json_clearly():
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(BadInput, match="deeper than 64"):
        loads(deep)
    assert loads("[" * 64 + "]" * 64) is not None
    assert loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')["a"].startswith("[")
    assert nesting(b'{"a": [1, {"b": "]]]\\"[["}]}') == 3
    with pytest.raises(BadInput, match="not valid JSON"):
        loads(b"{nope")
