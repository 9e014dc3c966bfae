"""Every command that prints data has --json, and what it prints with --json parses: the click
tree is walked, so a new command without --json (or without a case here) fails."""

from __future__ import annotations

import io
import json
from pathlib import Path

import click
import pytest
from test_help import COMMANDS

from aperto.cli.main import main
from aperto.evals.dataset import load_problems

# commands that print no table or record, and why
NO_DATA = {
    "hub": "a server", "gateway": "a server", "up": "a server", "cluster up": "servers (prints their URLs)",
    "logout": "a one-line message",
    "audit export": "its output is JSON lines already",
}


def has_json(command: click.Command) -> bool:
    return any("--json" in param.opts for param in command.params)


def leaves() -> dict[str, click.Command]:
    return {" ".join(path): command for path, command in COMMANDS
            if path and not isinstance(command, click.Group)}


def test_every_command_that_prints_data_has_json() -> None:
    missing = [name for name, command in leaves().items() if name not in NO_DATA and not has_json(command)]
    assert not missing, f"these commands print data but have no --json: {missing}"
    assert set(NO_DATA) <= set(leaves()), "NO_DATA names a command that no longer exists"


def cases(url: str, data: Path, tokens: dict[str, str], tmp: Path) -> dict[str, list[str]]:
    (tmp / "model").mkdir()
    (tmp / "model" / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny\n")
    (tmp / "LICENSE").write_text("MIT License\n\nPermission is hereby granted, free of charge, to any person\n")
    problem = load_problems()["HumanEval/0"]
    samples = tmp / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/0", "completion": problem.canonical_solution}) + "\n")
    admin, where = ["--token", tokens["admin"]], ["--data-dir", str(data)]
    return {
        "license identify": ["license", "identify", str(tmp / "LICENSE")],
        "license list": ["license", "list"],
        "check": ["check", "apache-2.0"],
        "publish": ["publish", str(tmp / "model"), "--repo", "acme/tiny", "--hub", url, *admin],
        "audit verify": ["audit", "verify", *where],
        "audit checkpoint": ["audit", "checkpoint", *where],
        "audit key": ["audit", "key", *where],
        "token create": ["token", "create", "carol", "--scopes", "read", *where],
        "token list": ["token", "list", *where],
        "token revoke": ["token", "revoke", tokens["bob"], *where],
        "blobs verify": ["blobs", "verify", *where],
        "kill": ["kill", "--hub-url", url, "--reason", "test", *admin],
        "resume": ["resume", "--hub-url", url, *admin],
        "eval humaneval": ["eval", "humaneval", "--samples", str(samples), "--tasks", "0", "--workers", "1",
                           "--k", "1", "--no-progress", "--data-dir", str(tmp / "evals")],
        "login": ["login", "--hub", url, "--token", "-"],
        "whoami": ["whoami", "--hub", url, *admin],
    }


def test_json_output_parses(live_hub: tuple[str, Path, dict[str, str]], tmp_path: Path,
                            capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url, data, tokens = live_hub
    runs = cases(url, data, tokens, tmp_path)
    assert set(runs) == {name for name in leaves() if name not in NO_DATA}, "add a case for each new command"
    for name, argv in runs.items():
        monkeypatch.setattr("sys.stdin", io.StringIO(tokens["admin"] + "\n"))
        try:
            main([*argv, "--json"])
        except SystemExit as exc:
            assert exc.code in (0, None, 10, 20), f"aperto {name}: exit {exc.code}"
        out = capsys.readouterr()
        assert "Traceback" not in out.err, name
        try:
            json.loads(out.out)
        except ValueError as exc:
            raise AssertionError(f"aperto {name} --json printed what is not JSON: {out.out[:300]!r}") from exc
