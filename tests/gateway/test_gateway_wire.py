"""Streamed chunks written to the client's socket by the backend's own thread (gateway/wire.py),
on a live uvicorn server: the same bytes as the event-loop path, a slow client falls back to the
loop without losing or reordering anything, and kill and disconnect still stop the backend.
A stand-in backend puts JSON bytes from its own thread, as llama.cpp does; test_gateway_real_model
checks that llama.cpp's streams take this path too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from gwkit import ADMIN, ALICE, serve, settings_for, wait_until

from aperto.gateway import create_app
from aperto.gateway.backends import Backend, Channel

SERVED = "fake/model"


class ThreadJson(Backend):
    """Says "t0 t1 ..." as compact JSON bytes put from a worker thread; ``pad`` in the message
    (JSON) makes each chunk bigger and ``delay`` paces it (the gateway passes only OpenAI's fields)."""

    name = "threadjson"

    def __init__(self, spec: dict[str, Any], settings: Any) -> None:
        super().__init__(spec, settings)
        self.produced = 0
        self.late = 0  # times the thread found its request stopped

    async def generate(self, route: str, body: dict[str, Any], out: Channel) -> None:
        knobs = json.loads(body["messages"][0]["content"])
        n, pad, delay = body["max_tokens"], knobs.get("pad", 0), knobs.get("delay", 0.0)
        base = {"id": "thr-1", "created": 1, "model": SERVED, "object": "chat.completion.chunk"}

        def run() -> None:
            for i in range(n):
                if out.stopped:
                    self.late += 1
                    return
                delta = {"content": f"t{i} " + "x" * pad}
                out.put(json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
                                   separators=(",", ":")).encode())
                self.produced += 1
                if delay:
                    time.sleep(delay)
            usage = {"prompt_tokens": 1, "completion_tokens": n, "total_tokens": n + 1}
            out.put(json.dumps({**base, "choices": [], "usage": usage}, separators=(",", ":")).encode())

        await asyncio.to_thread(run)


def start(tmp_path: Path, policy_file: Path, **settings: Any):
    config = settings_for(tmp_path, policy_file=policy_file, **settings)
    backend = ThreadJson({}, config)
    return serve(create_app(config, backends={SERVED: backend})), backend


def request(n: int, **knobs: Any) -> dict[str, Any]:
    return {"model": SERVED, "messages": [{"role": "user", "content": json.dumps(knobs)}], "max_tokens": n,
            "stream": True, "stream_options": {"include_usage": True}}


AUTH = {"Authorization": f"Bearer {ALICE}"}


def data_lines(text: str) -> list[str]:
    return [line[6:] for line in text.split("\n") if line.startswith("data: ")]


def contents(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if line != "[DONE]":
            chunk = json.loads(line)
            if chunk.get("choices"):
                out.append(chunk["choices"][0]["delta"]["content"])
    return out


@pytest.mark.parametrize("direct", [True, False])
def test_the_backend_thread_writes_the_same_stream_the_loop_would(tmp_path, policy_file, direct):
    server, _ = start(tmp_path, policy_file, gateway_direct_write=direct)
    with server as live:
        gateway = live.app.state.gateway
        r = httpx.post(live.url + "/v1/chat/completions", json=request(300, delay=0.001), headers=AUTH,
                       timeout=30)
        assert r.status_code == 200 and r.headers["transfer-encoding"] == "chunked"
        lines = data_lines(r.text)
        assert lines[-1] == "[DONE]"
        assert contents(lines) == [f"t{i} " for i in range(300)]
        assert json.loads(lines[-2])["usage"]["completion_tokens"] == 300
        if direct:  # all but the first batch or so went out from the backend's thread
            assert gateway.direct_chunks >= 290
        else:
            assert gateway.direct_chunks == 0
        # the connection is still good for the next request (keep-alive after the thread's writes)
        with httpx.Client(base_url=live.url, headers=AUTH, timeout=30) as client:
            for _ in range(2):
                again = client.post("/v1/chat/completions", json=request(20))
                assert contents(data_lines(again.text)) == [f"t{i} " for i in range(20)]


def test_the_in_process_client_takes_the_loop_path(tmp_path, policy_file):
    config = settings_for(tmp_path, policy_file=policy_file)
    app = create_app(config, backends={SERVED: ThreadJson({}, config)})
    with TestClient(app) as client:
        r = client.post("/v1/chat/completions", json=request(50), headers=AUTH)
        assert contents(data_lines(r.text)) == [f"t{i} " for i in range(50)]
        assert app.state.gateway.direct_chunks == 0  # no socket to write to


def read_chunked(sock: socket.socket) -> bytes:
    """The body of one chunked HTTP response (headers skipped), read to the end."""
    raw = b""
    while b"\r\n\r\n" not in raw:
        raw += sock.recv(65536)
    head, raw = raw.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    body = b""
    while True:
        while b"\r\n" not in raw:
            raw += sock.recv(1 << 20)
        line, rest = raw.split(b"\r\n", 1)
        size = int(line, 16)
        while len(rest) < size + 2:
            more = sock.recv(1 << 20)
            assert more, "the connection closed in the middle of a chunk"
            rest += more
        assert rest[size:size + 2] == b"\r\n", "a chunk's framing is broken"
        if size == 0:
            return body
        body += rest[:size]
        raw = rest[size + 2:]


def test_a_client_that_stops_reading_still_gets_every_chunk_in_order(tmp_path, policy_file):
    n, pad = 400, 32 * 1024  # about 13 MB: far more than the socket buffers hold
    server, backend = start(tmp_path, policy_file)
    with server as live:
        gateway = live.app.state.gateway
        payload = json.dumps(request(n, pad=pad, delay=0.001)).encode()
        with socket.create_connection(("127.0.0.1", live.port)) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Authorization: Bearer " + ALICE.encode() + b"\r\nContent-Length: "
                         + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            wait_until(lambda: backend.produced == n, timeout=30, what="the backend to finish")
            time.sleep(0.2)  # the socket is full: the rest waits in the loop's buffers
            body = read_chunked(sock)
        lines = [e[6:].decode() for e in body.split(b"\n\n") if e.startswith(b"data: ")]
        assert lines[-1] == "[DONE]"
        assert contents(lines) == [f"t{i} " + "x" * pad for i in range(n)]
        wait_until(lambda: not gateway.live, what="the request to end")
        assert 0 < gateway.direct_chunks < n  # the thread wrote until the socket filled, then the loop took over


@contextlib.contextmanager
def long_stream(live: Any, lines_first: int = 40) -> Iterator[tuple[Iterator[str], list[str]]]:
    """A 5000-token stream, open, with its first lines read (by then the backend's thread writes it)."""
    with httpx.stream("POST", live.url + "/v1/chat/completions", json=request(5000, delay=0.005),
                      headers=AUTH, timeout=30) as response:
        lines = response.iter_lines()
        yield lines, [next(lines) for _ in range(lines_first)]


def test_kill_while_the_thread_writes_ends_the_stream_with_model_halted(tmp_path, policy_file):
    server, backend = start(tmp_path, policy_file)
    with server as live:
        gateway = live.app.state.gateway
        with long_stream(live) as (lines, seen):
            r = httpx.post(live.url + "/admin/kill", json={"reason": "stop the thread"},
                           headers={"Authorization": f"Bearer {ADMIN}"})
            assert r.status_code == 200
            seen += list(lines)
        data = data_lines("\n".join(seen))
        assert data[-1] == "[DONE]"
        error = json.loads(data[-2])["error"]
        assert error["code"] == "model_halted" and "stop the thread" in error["message"]
        assert all("error" not in json.loads(d) for d in data[:-2])  # nothing after the error but [DONE]
        assert contents(data[:-2]) == [f"t{i} " for i in range(len(data) - 2)]  # none lost or reordered
        wait_until(lambda: backend.late == 1, what="the backend to stop")
        assert backend.produced < 5000 and gateway.direct_chunks > 0


def test_a_client_that_leaves_stops_the_backend(tmp_path, policy_file):
    server, backend = start(tmp_path, policy_file)
    with server as live:
        gateway = live.app.state.gateway
        with long_stream(live):
            pass  # the client reads 40 lines, then leaves
        wait_until(lambda: backend.late == 1, what="the backend to stop")
        wait_until(lambda: not gateway.live, what="the request to end")
        produced = backend.produced
        time.sleep(0.1)
        assert backend.produced == produced < 5000 and gateway.direct_chunks > 0


class Transport:
    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)


def writer_on(ours: socket.socket, loop: asyncio.AbstractEventLoop):
    from aperto.gateway.wire import SocketWriter

    ours.setblocking(False)
    return SocketWriter(type("Cycle", (), {"transport": Transport()})(), os.dup(ours.fileno()), loop)


class NoStream:
    def undivert(self) -> None:
        pass


async def test_a_full_socket_leaves_the_chunk_to_the_loop() -> None:
    ours, client = socket.socketpair()
    writer = writer_on(ours, asyncio.get_running_loop())
    try:
        with contextlib.suppress(BlockingIOError):
            while True:  # fill the socket to the brim
                ours.send(b"." * 4096)
        assert writer.write(b'{"a":1}') is False and writer.failed  # nothing taken: the channel keeps it
        assert writer.write(b'{"a":2}') is False and writer.cycle.transport.written == []
    finally:
        writer.close(NoStream())
        ours.close()
        client.close()


async def test_a_slow_socket_takes_part_and_the_loop_writes_the_rest() -> None:
    ours, client = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer = writer_on(ours, asyncio.get_running_loop())
    try:
        chunk = b'{"big":"' + b"y" * 500_000 + b'"}'
        assert writer.write(chunk) is True and writer.failed  # taken: part now, the rest by the loop
        await asyncio.sleep(0)
        rest = writer.cycle.transport.written
        framed = b"%x\r\ndata: %s\n\n\r\n" % (len(chunk) + 8, chunk)
        assert len(rest) == 1 and 0 < len(rest[0]) < len(framed)
        client.setblocking(False)
        got = b""
        with contextlib.suppress(BlockingIOError):
            while more := client.recv(1 << 20):
                got += more
        assert got + rest[0] == framed  # nothing lost, nothing twice
        assert writer.write(b'{"a":3}') is False  # and everything after goes through the loop
    finally:
        writer.close(NoStream())
        ours.close()
        client.close()
