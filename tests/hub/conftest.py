"""Hub fixtures: a Hub on a temporary data dir, users with tokens, an in-process
client, and a live uvicorn for the real huggingface_hub client."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import People, make_people

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=None)


@pytest.fixture
def hub(settings: Settings) -> Iterator[Hub]:
    h = Hub(settings)
    yield h
    h.close()


@pytest.fixture
def people(hub: Hub) -> People:
    return make_people(hub)


@pytest.fixture
def client(hub: Hub, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, hub)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live(hub: Hub, settings: Settings) -> Iterator[str]:
    """The app on a real loopback port (uvicorn in a thread); yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, hub), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
