"""Live servers for the tests where a real client is the point: any ASGI app on a free
loopback port, uvicorn in a thread. Shared by the hub, gateway and `aperto up` tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app: Any, lifespan: str = "auto", graceful_s: float = 0.5) -> None:
        self.app = app
        self.port = free_port()
        # a short graceful shutdown: open long-polls and streams must not hold a test up
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan=lifespan, timeout_graceful_shutdown=graceful_s,
                                                    ws="none"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def serve_url(app: Any, lifespan: str = "off") -> Iterator[str]:
    """The app on a loopback port; yields its base URL."""
    with LiveServer(app, lifespan=lifespan) as live:
        yield live.url
