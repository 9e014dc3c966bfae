"""The CLI adapters: publish (with resume), token, audit verify/export."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hubtools import APACHE_CARD, People
from sqlalchemy import update

from aperto.cli.hub import audit_cmd, publish_cmd, token_cmd
from aperto.config import Settings
from aperto.store.models import Audit


def test_publish_a_folder_then_resume_an_interrupted_upload(people: People, live: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """aperto publish is huggingface_hub's upload_folder: w.bin goes through Xet, and the hub
    completes the earlier, broken upload of the same bytes instead of refusing it."""
    monkeypatch.setenv("HF_XET_CACHE", str(tmp_path / "xet-cache"))
    people.hub.publish.inline_max = 64 * 1024
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text(APACHE_CARD)
    weights = os.urandom(2_500_000)
    (folder / "sub" / "w.bin").write_bytes(weights)
    # an earlier run died after sending 1 MB of w.bin
    sha = hashlib.sha256(weights).hexdigest()
    caller = people.hub.tokens.authenticate(people.alice)
    people.hub.repos.upload(caller, "acme/cli", sha, len(weights), 0, [weights[:1_000_000]])
    result = CliRunner().invoke(publish_cmd, [str(folder), "--repo", "acme/cli", "--token", people.alice,
                                              "--hub", live, "--json"])
    assert result.exit_code == 0, result.output
    commit = json.loads(result.output)
    assert commit["license"] == "apache-2.0" and commit["gating"] == "open"
    info = people.hub.repos.file(None, "acme/cli", "main", "sub/w.bin")
    assert info["commit"] == commit["commit"] and info["blob"].read_bytes() == weights


def test_publish_with_a_read_token_fails_cleanly(people: People, live: str, tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    result = CliRunner().invoke(publish_cmd, [str(tmp_path / "f.txt"), "--repo", "bob/m", "--token", people.bob,
                                              "--hub", live])
    assert result.exit_code != 0
    assert "403" in str(result.exception)


def test_token_create_audit_verify_tamper_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    data = str(tmp_path / "hubdata")
    result = runner.invoke(token_cmd, ["create", "carol", "--scopes", "read,publish", "--org", "lab",
                                       "--data-dir", data])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("aperto_")
    result = runner.invoke(token_cmd, ["list", "--data-dir", data])
    assert "carol" in result.output and token not in result.output
    assert runner.invoke(token_cmd, ["revoke", token, "--data-dir", data]).exit_code == 0
    ok = runner.invoke(audit_cmd, ["verify", "--data-dir", data])
    assert ok.exit_code == 0 and "audit chain ok" in ok.output
    out = tmp_path / "audit.jsonl"
    assert runner.invoke(audit_cmd, ["export", "--data-dir", data, "-o", str(out)]).exit_code == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["action"] for r in rows][-1] == "token.revoke" and rows[0]["seq"] == 1

    from aperto.hub.service import Hub

    hub = Hub(Settings(data_dir=Path(data)))
    with hub.store.write() as s:
        s.execute(update(Audit).where(Audit.seq == 2).values(actor="mallory"))
    hub.close()
    bad = runner.invoke(audit_cmd, ["verify", "--data-dir", data])
    assert bad.exit_code == 1 and "row 2" in bad.output


def test_hub_command_prints_the_admin_token_once(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    import uvicorn

    from aperto.cli.hub import hub_cmd
    from aperto.hub.service import Hub

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw["port"]))
    data = str(tmp_path / "d")
    first = CliRunner().invoke(hub_cmd, ["--data-dir", data, "--port", "8999"])
    assert first.exit_code == 0, first.output
    token = next(w for w in first.output.split() if w.startswith("aperto_"))
    second = CliRunner().invoke(hub_cmd, ["--data-dir", data, "--port", "8999"])
    assert "aperto_" not in second.output and served == [8999, 8999]
    hub = Hub(Settings(data_dir=Path(data)))
    caller = hub.tokens.authenticate(token)
    assert caller.name == "admin" and caller.admin
    hub.close()
