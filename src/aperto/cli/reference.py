"""Markdown references generated from the code itself (the CLI's help, the
settings' fields), so the README cannot drift: tests compare, and
`python -m aperto.cli.reference --write` rewrites the README's marked blocks."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from aperto.cli.main import COMMANDS, cli
from aperto.config import Settings

MARKERS = {
    "cli-reference": lambda: cli_reference(),
    "config-reference": lambda: config_reference(),
}


def _help(command: click.Command, name: str) -> str:
    # the same help options as a real invocation (the group's context_settings), since click caches
    # a command's help option the first time it is built
    ctx = click.Context(command, info_name=name, terminal_width=100, max_content_width=100,
                        help_option_names=["-h", "--help"])
    command._help_option = None  # drop a cached option built by a call without the group's settings
    return command.get_help(ctx)


def cli_reference() -> str:
    parts = []
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        if command is None:
            continue
        parts.append(f"### `aperto {name}`\n\n```\n{_help(command, 'aperto ' + name)}\n```\n")
        if isinstance(command, click.Group):
            for sub in command.list_commands(click.Context(command)):
                subcommand = command.get_command(click.Context(command), sub)
                if subcommand is not None:
                    full = f"aperto {name} {sub}"
                    parts.append(f"#### `{full}`\n\n```\n{_help(subcommand, full)}\n```\n")
    return "\n".join(parts)


def config_reference() -> str:
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "(computed)"
        else:
            default = repr(field.default)
        rows.append(f"| `APERTO_{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(rows) + "\n"


def render(text: str) -> str:
    """Return ``text`` with every marked block replaced by its generated content."""
    for marker, make in MARKERS.items():
        pattern = re.compile(
            rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.DOTALL
        )
        def fill(m: re.Match[str], make: Callable[[], str] = make) -> str:
            return m.group(1) + make() + m.group(2)

        text = pattern.sub(fill, text)
    return text


if __name__ == "__main__":
    readme = Path(__file__).resolve().parents[3] / "README.md"
    new = render(readme.read_text())
    if "--write" in sys.argv:
        readme.write_text(new)
    else:
        sys.stdout.write(new)
