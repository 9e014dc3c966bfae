"""Fixtures for the gateway tests; the helpers live in gwkit.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gwkit import policy_doc


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(policy_doc()))
    return path
