"""`aperto cluster up`: the fleet on this machine (see aperto.cluster and docs/fleet.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click


@click.group("cluster")
def cluster_cmd() -> None:
    """Run the fleet: NATS, SeaweedFS, two hubs behind nginx, three gateways."""


@cluster_cmd.command("up")
@click.option("--database-url", required=True, envvar="APERTO_DATABASE_URL",
              help="PostgreSQL for the hub replicas (postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the processes keep their state and logs (default: a new temporary folder).")
@click.option("--models", default=None, help="The gateways' model map as JSON (default: the bundled SmolLM2).")
def up_cmd(database_url: str, data_dir: Path | None, models: str | None) -> None:
    """Start everything on free local ports, print the URLs and an admin token; Ctrl-C stops it all."""
    from aperto.cluster import run

    if not database_url.startswith("postgresql"):
        raise click.BadParameter("the replicas share one PostgreSQL (see README, 'PostgreSQL for the fleet')",
                                 param_hint="--database-url")
    run(database_url, data_dir or Path(tempfile.mkdtemp(prefix="aperto-cluster-")),
        lambda line: click.echo(line, nl=True), models)
