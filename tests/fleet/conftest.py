"""Fleet fixtures: PostgreSQL (the machine's, else a private one), a fresh schema per test, and
nats-server with JetStream on a free port. Nothing here relies on services the machine runs."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from aperto import services


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with services.postgres() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh schema on the PostgreSQL; the URL points at it."""
    schema = "f_" + uuid.uuid4().hex[:12]
    admin = create_engine(pg_server)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{pg_server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    with services.nats(tmp_path / "jetstream") as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _hub_helpers() -> None:
    """tests/hub/hubtools (people with tokens) and tests/gateway/gwkit are shared with those tests."""
    for folder in ("hub", "gateway"):
        path = str(Path(__file__).resolve().parents[1] / folder)
        if path not in sys.path:
            sys.path.insert(0, path)
