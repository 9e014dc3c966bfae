"""Hub fixtures: a Hub on a temporary data dir, users with tokens, an in-process
client, and a live uvicorn for the real huggingface_hub client."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import People, make_people
from livekit import serve_url

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Every hub test runs on SQLite and on the real PostgreSQL (a fresh schema each)."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data", database_url=None)
        return
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=1).close()
    except OSError:
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432 (start it to run the postgres variant)")
    from sqlalchemy import create_engine, text

    schema = "h_" + uuid.uuid4().hex[:12]
    admin = create_engine(PG)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Settings(data_dir=tmp_path / "data", database_url=f"{PG}?options=-csearch_path%3D{schema}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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


@pytest.fixture
def live(hub: Hub, settings: Settings) -> Iterator[str]:
    """The app on a real loopback port (uvicorn in a thread); yields its base URL."""
    with serve_url(create_app(settings, hub)) as url:
        yield url
