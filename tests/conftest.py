"""Shared fixtures. Package-specific ones live in tests/<package>/conftest.py."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "licenses" / "MANIFEST.tsv").is_file():
        pytest.skip(f"the shared licence corpus is absent ({SHARED}/licenses); these tests read it from ../shared")
    return SHARED


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    from aperto.bundled import smollm2_gguf

    return smollm2_gguf()
