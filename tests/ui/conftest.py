"""Browser tests of the web UI: a fresh hub on a loopback port per test, Chromium from the
root conftest, the hub tests' helpers (tests/hub is put on sys.path for them)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HUB_TESTS = Path(__file__).resolve().parents[1] / "hub"
if str(HUB_TESTS) not in sys.path:
    sys.path.insert(0, str(HUB_TESTS))

from hubtools import People, make_people  # noqa: E402

from aperto.config import Settings  # noqa: E402
from aperto.hub.service import Hub  # noqa: E402


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=None)


@pytest.fixture
def people(hub: Hub) -> People:
    return make_people(hub)

