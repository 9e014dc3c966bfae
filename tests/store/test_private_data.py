"""The data dir holds the database, tokens, keys and gated weights: owner-only from the
start, and `aperto hub` / `aperto up` warn when an existing one is open to other users."""

from __future__ import annotations

import hashlib
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from aperto.cli.main import cli
from aperto.config import Settings
from aperto.hub.service import Hub


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default, under which files would come out 0644 and folders 0755."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def open_to_others(root: Path) -> list[str]:
    paths = [root, *root.rglob("*")]
    return [f"{p} {stat.filemode(p.lstat().st_mode)}" for p in paths if p.lstat().st_mode & 0o077]


def test_a_fresh_hub_writes_nothing_other_users_can_read(tmp_path: Path, loose_umask: None) -> None:
    data = tmp_path / "srv" / "aperto"  # a missing parent is created owner-only too
    hub = Hub(Settings(data_dir=data, database_url=None))
    try:
        admin = hub.tokens.bootstrap_admin()
        caller = hub.tokens.authenticate(admin)
        body = b"weights" * 1000
        sha = hashlib.sha256(body).hexdigest()
        hub.repos.upload(caller, "admin/m", sha, len(body), 0, [body])
        hub.repos.commit(caller, "admin/m", [{"path": "m.bin", "sha256": sha, "size": len(body)}])
        hub.repos.upload(caller, "admin/m", "0" * 64, 10, 0, [b"half"])  # an unfinished upload
        hub.settings.state_dir("ui-evals")
        hub.blobs.quarantine(sha, "test", "test")
        names = {p.name for p in data.rglob("*")}  # while open: SQLite's -wal and -shm exist
        assert {"hub.sqlite3", "hub.sqlite3-wal", "hub.sqlite3-shm", "blobs", "uploads", "verified",
                "quarantine", "ui-evals", f"{sha}.json", f"1-{'0' * 64}.part"} <= names
        assert open_to_others(data.parent) == []
    finally:
        hub.close()
    assert open_to_others(data.parent) == []


@pytest.fixture
def exposed_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    Hub(Settings(data_dir=data, database_url=None)).close()
    data.chmod(0o755)
    (data / "hub.sqlite3").chmod(0o644)
    return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_aperto_hub_warns_about_a_0755_data_dir(exposed_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.delenv("APERTO_DATABASE_URL", raising=False)
    result = CliRunner().invoke(cli, ["hub", "--data-dir", str(exposed_dir), "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    assert "can be read by other users" in result.stderr
    assert str(exposed_dir / "hub.sqlite3") in result.stderr and f"chmod -R go-rwx {exposed_dir}" in result.stderr


def test_aperto_up_warns_before_it_starts(exposed_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aperto.bundled

    def stop_here() -> Path:
        raise SystemExit(9)  # the warning must already be out: no model or server needed to see it

    monkeypatch.setattr(aperto.bundled, "smollm2_gguf", stop_here)
    result = CliRunner().invoke(cli, ["up", "--data-dir", str(exposed_dir), "--hub-port", str(free_port()),
                                      "--gateway-port", str(free_port())])
    assert result.exit_code == 9
    assert f"data dir {exposed_dir}" in result.stderr and f"chmod -R go-rwx {exposed_dir}" in result.stderr


def test_no_warning_for_a_private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    monkeypatch.delenv("APERTO_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["hub", "--data-dir", str(data), "--port", str(free_port())])
    assert result.exit_code == 0, result.output
    assert "other users" not in result.stderr and open_to_others(data) == []
