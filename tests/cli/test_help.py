"""``--help`` works everywhere, and every command a message or page tells the user to run exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from aperto.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
BENCH = sorted((ROOT / "bench").glob("*.py"))
# where the user reads command names: messages, hints, help, pages, the README and docs
TEXT_FILES = sorted([*(ROOT / "src" / "aperto").rglob("*.py"), *(ROOT / "src" / "aperto").rglob("*.html"),
                     ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
# `aperto X`, <code>aperto X</code> or "(aperto X": a command the user is told to type
MENTION = re.compile(r"(?:`|<code>|\()aperto((?: [a-z][a-z0-9-]*)+)")


def walk(command: click.Command, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, f"aperto {' '.join(path + (name,))} is listed but does not load"
            found += walk(sub, path + (name,))
    return found


COMMANDS = walk(cli)


def test_the_walk_sees_every_command() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"publish", "kill", "resume", "eval humaneval", "token create", "up"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: "aperto " + " ".join(p))
def test_help_of_every_command(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage:") and len(result.output.splitlines()) > 2


@pytest.mark.parametrize("script", BENCH, ids=lambda p: p.name)
def test_help_of_every_bench_script(script: Path) -> None:
    result = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower()


def resolves(words: list[str]) -> bool:
    """Whether ``aperto WORDS...`` names a command: each word under a group must be one of its
    subcommands; under a plain command the rest must be its arguments."""
    command: click.Command = cli
    for word in words:
        if not isinstance(command, click.Group):
            return any(isinstance(param, click.Argument) for param in command.params)
        sub = command.get_command(click.Context(command), word)
        if sub is None:
            return False
        command = sub
    return True


def mentions(text: str) -> list[list[str]]:
    return [m.group(1).split() for m in MENTION.finditer(text)]


def test_the_mention_check_can_fail() -> None:
    assert mentions("is the gateway running? (aperto gateway serve, or --base-url)") == [["gateway", "serve"]]
    assert not resolves(["gateway", "serve"]) and not resolves(["eval", "mmlu"]) and not resolves(["clusters"])
    assert resolves(["eval", "humaneval"]) and resolves(["check", "llama3"]) and resolves(["token", "create"])


def test_every_mentioned_command_exists() -> None:
    wrong = []
    for path in TEXT_FILES:
        for words in mentions(path.read_text(errors="replace")):
            if not resolves(words):
                wrong.append(f"{path.relative_to(ROOT)}: aperto {' '.join(words)}")
    assert not wrong, "these name commands that do not exist:\n" + "\n".join(wrong)
