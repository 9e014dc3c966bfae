"""The ``aperto`` command. Subcommands live in sibling modules and are loaded
lazily, so ``aperto license`` never imports the web stack or llama.cpp."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from aperto import __version__
from aperto.errors import ApertoError

# command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "license": "aperto.cli.licenses:license_cmd",
    "check": "aperto.cli.check:check_cmd",
    "hub": "aperto.cli.hub:hub_cmd",
    "publish": "aperto.cli.hub:publish_cmd",
    "audit": "aperto.cli.hub:audit_cmd",
    "token": "aperto.cli.hub:token_cmd",
    "blobs": "aperto.cli.blobs:blobs_cmd",
    "gateway": "aperto.cli.gateway:gateway_cmd",
    "kill": "aperto.cli.gateway:kill_cmd",
    "resume": "aperto.cli.gateway:resume_cmd",
    "eval": "aperto.cli.evals:eval_cmd",
    "up": "aperto.cli.up:up_cmd",
    "cluster": "aperto.cli.cluster:cluster_cmd",
    "login": "aperto.cli.auth:login_cmd",
    "logout": "aperto.cli.auth:logout_cmd",
    "whoami": "aperto.cli.auth:whoami_cmd",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # not written yet
                return None
            raise
        command: click.Command | None = getattr(module, attr, None)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="aperto")
def cli() -> None:
    """aperto: licence truth, eligibility, a gated hub, a gateway with a kill switch, HumanEval."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: typed errors become one clear line and their exit code, never a traceback."""
    try:
        return cli.main(args=argv, prog_name="aperto", standalone_mode=False)
    except ApertoError as exc:
        click.echo(f"error: {exc.one_line()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
