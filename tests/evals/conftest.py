from __future__ import annotations

import pytest

from aperto.evals.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox():
    with Sandbox(workers=2, memory_mb=512) as box:
        yield box
