"""Fleet fixtures: nats-server with JetStream on a free port (PostgreSQL comes from tests/conftest.py:
the machine's, else a private one). Nothing here relies on services the machine runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from aperto import services


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
