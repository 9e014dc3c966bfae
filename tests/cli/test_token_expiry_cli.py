"""aperto token create --expires: the token carries its expiry, `token list` shows it, and a past
or unreadable expiry is one clear error line (exit code 3), with nothing made."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aperto.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_token_create_with_an_expiry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "token", "create", "carol", "--expires", "30d", "--data-dir", data, "--json")
    assert code == 0
    made = json.loads(out)
    until = datetime.fromisoformat(made["expires_at"])
    assert timedelta(days=29) < until - datetime.now(UTC) <= timedelta(days=30)
    code, out, _ = run(capsys, "token", "list", "--data-dir", data)
    assert f"active until {made['expires_at']}" in out
    code, out, _ = run(capsys, "token", "list", "--data-dir", data, "--json")
    assert [t["expires_at"] for t in json.loads(out) if t["user"] == "carol"] == [made["expires_at"]]
    for bad, words in (("2020-01-01", "in the past"), ("tomorrow", "cannot read")):
        code, out, err = run(capsys, "token", "create", "dave", "--expires", bad, "--data-dir", data)
        assert code == 3 and err.startswith("error: ") and words in err and "Traceback" not in err
    code, out, _ = run(capsys, "token", "list", "--data-dir", data, "--json")
    assert "dave" not in {t["user"] for t in json.loads(out)}, "a refused expiry makes nothing"
