"""Helpers shared by the fleet tests (imported by name: pytest puts tests/fleet on sys.path)."""

from __future__ import annotations

import time
from collections.abc import Callable


def until(check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait for an explicit condition, bounded; never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.01)
