"""Fixtures: one ``aperto up`` subprocess per test module."""

from __future__ import annotations

from pathlib import Path

import pytest
from uptools import start_up


@pytest.fixture(scope="module")
def up_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("aperto-up")


@pytest.fixture(scope="module")
def up(up_dir: Path):  # noqa: ANN201
    running = start_up(up_dir)
    yield running
    running.stop()
