"""Shell completion, as the README documents it: the installed `aperto` prints a completion
script for bash, zsh and fish, and completes lazily loaded commands and subcommands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APERTO = Path(sys.executable).parent / "aperto"


def aperto(**env: str) -> str:
    result = subprocess.run([str(APERTO)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.mark.parametrize(("shell", "marker"), [("bash", "complete -o nosort -F _aperto_completion aperto"),
                                               ("zsh", "compdef _aperto_completion aperto"),
                                               ("fish", "complete --no-files --command aperto")])
def test_the_completion_script_generates(shell: str, marker: str) -> None:
    script = aperto(_APERTO_COMPLETE=f"{shell}_source")
    assert marker in script and "_APERTO_COMPLETE" in script
    readme = (ROOT / "README.md").read_text()
    assert f"_APERTO_COMPLETE={shell}_source aperto" in readme, f"the README does not show {shell}"


def completions(line: str) -> list[str]:
    """What bash would be offered for the last word of ``line`` (click answers ``type,value`` lines)."""
    words = line.split()
    out = aperto(_APERTO_COMPLETE="bash_complete", COMP_WORDS=line, COMP_CWORD=str(len(words) - 1))
    return [row.split(",", 1)[1] for row in out.splitlines()]


def test_completion_finds_lazy_commands_and_subcommands() -> None:
    assert completions("aperto lo") == ["login", "logout"]
    assert "list" in completions("aperto license l")
    assert "--json" in completions("aperto whoami --")
