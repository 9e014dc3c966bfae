"""Shared fixtures. Package-specific ones live in tests/<package>/conftest.py."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


_DATA_DIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """A test that forgets its own data folder writes to a throwaway one, never to the user's
    ~/.local/share/aperto (which may hold a real hub)."""
    if "APERTO_DATA_DIR" not in os.environ:
        os.environ["APERTO_DATA_DIR"] = config.stash.setdefault(_DATA_DIR, tempfile.mkdtemp(prefix="aperto-tests-"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _DATA_DIR in config.stash:
        shutil.rmtree(config.stash[_DATA_DIR], ignore_errors=True)
        os.environ.pop("APERTO_DATA_DIR", None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """pytest-xdist (scripts/test) runs one test per id: two tests with one id would silently run once."""
    ids = [item.nodeid for item in items]
    twice = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) < len(ids) else []
    if twice:
        raise pytest.UsageError(f"these test ids are collected more than once, so only one would run: {twice[:5]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Under CI nothing the README promises may be skipped: a skip there is a failure
    (scripts/setup installs Chromium, PostgreSQL runs, ../shared is beside the clone)."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, which must run everything: {report.longrepr}"


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright (never `playwright install`).
    Module-scoped: while Playwright's sync API is open it holds an event loop in the main
    thread, and a later module's async tests could not run their own."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (scripts/setup installs it: apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The PostgreSQL on 127.0.0.1:5432 when it answers, else a private one started for this run
    (aperto.services), so a fresh machine runs the postgres variants too."""
    from aperto import services

    with services.postgres() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh schema on that PostgreSQL; the URL points at it."""
    from aperto.store.db import scratch_schema

    with scratch_schema(pg_server) as url:
        yield url


@pytest.fixture
def hub(settings: Any) -> Iterator[Any]:
    """A Hub on the ``settings`` of the folder's own conftest (SQLite, or PostgreSQL too)."""
    from aperto.hub.service import Hub

    h = Hub(settings)
    yield h
    h.close()


@pytest.fixture
def live(hub: Any, settings: Any) -> Iterator[str]:
    """That hub's app on a real loopback port (uvicorn in a thread); yields its base URL."""
    from livekit import serve_url

    from aperto.hub.app import create_app

    with serve_url(create_app(settings, hub)) as url:
        yield url
