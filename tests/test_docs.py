"""The README is checked against the code: its CLI and configuration references
are generated from the CLI and the settings, and its commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

from aperto.cli.reference import MARKERS, render

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_references_are_current():
    for marker in MARKERS:
        assert f"<!-- {marker}:start -->" in README, f"README lacks the {marker} block"
    assert render(README) == README, "README is stale: run `.venv/bin/python -m aperto.cli.reference --write`"


def test_readme_gives_the_two_commands_and_they_exist():
    blocks = re.findall(r"```\n(.*?)```", README, re.DOTALL)
    first = blocks[0]
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["scripts/run", "scripts/test"]
    for command in commands:
        path = ROOT / command
        assert path.is_file() and os.access(path, os.X_OK), f"{command} is missing or not executable"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert blocks, "the README shows the library in a ```python block"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
