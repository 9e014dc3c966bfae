"""Every CLI test runs with no token from the developer's environment or stored login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from livekit import serve_url


@pytest.fixture(autouse=True)
def no_ambient_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("APERTO_TOKEN", "HF_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def live_hub(tmp_path: Path) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """A real hub on a loopback port: (url, data dir, tokens of 'admin' and of 'bob', who may only read)."""
    from aperto.config import Settings
    from aperto.hub.app import create_app
    from aperto.hub.service import Hub

    settings = Settings(data_dir=tmp_path / "hub", database_url=None)
    hub = Hub(settings)
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "bob")
    tokens = {"admin": admin, "bob": hub.tokens.create_token(root, "bob", ["read"])}
    try:
        with serve_url(create_app(settings, hub)) as url:
            yield url, settings.data_dir, tokens
    finally:
        hub.close()
