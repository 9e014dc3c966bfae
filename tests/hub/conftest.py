"""Hub fixtures: a Hub on a temporary data dir, users with tokens, an in-process
client, and a live uvicorn for the real huggingface_hub client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hubtools import People, make_people

from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Every hub test runs on SQLite and on a real PostgreSQL (a fresh schema each)."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "data", database_url=None)
        return
    yield Settings(data_dir=tmp_path / "data", database_url=request.getfixturevalue("pg_url"))


@pytest.fixture
def people(hub: Hub) -> People:
    return make_people(hub)


@pytest.fixture
def client(hub: Hub, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, hub)) as c:
        yield c

