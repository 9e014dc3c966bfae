"""``aperto blobs verify``: re-hash every stored blob; and the data dir's privacy warning."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from aperto.cli.hub import _settings, data_dir_option, db_option

SHOWN = 5


def warn_exposed(data_dir: Path) -> None:
    """Warn (stderr) when an existing data dir, or anything in it, grants access to other users."""
    from aperto.store.blobs import readable_by_others

    if not data_dir.exists():
        return
    exposed = readable_by_others(data_dir)
    if not exposed:
        return
    names = ", ".join(str(p) for p in exposed[:SHOWN]) + (f" and {len(exposed) - SHOWN} more"
                                                          if len(exposed) > SHOWN else "")
    click.echo(f"warning: {len(exposed)} path(s) in the data dir {data_dir} can be read by other users "
               f"(the database, tokens and gated weights are there): {names}. "
               f"Fix: chmod -R go-rwx {data_dir}", err=True)


@click.group("blobs")
def blobs_cmd() -> None:
    """Check the hub's stored files (reads the hub's data dir and database)."""


@blobs_cmd.command("verify")
@data_dir_option
@db_option
@click.option("--quiet", "-q", is_flag=True, help="Print only damaged or missing blobs and the summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the report (checked, bytes, bad, missing) as JSON.")
def blobs_verify(data_dir: str | None, database_url: str | None, quiet: bool, as_json: bool) -> None:
    """Hash every blob; move those that do not match their sha256 to <data-dir>/quarantine/
    (recorded in the audit log; the hub then refuses them). Exit 1 if any was bad or missing."""
    from aperto.hub.service import Hub

    hub = Hub(_settings(data_dir, database_url))

    def each(sha: str, size: int, found: str | None) -> None:
        if as_json:
            return
        if found is not None:
            click.echo(f"BAD     {sha}  {size} bytes, found {found}: quarantined")
        elif not quiet:
            click.echo(f"ok      {sha}  {size} bytes")

    try:
        report = hub.integrity.scrub(by="aperto blobs verify", each=each)
    finally:
        hub.close()
    if as_json:
        click.echo(json.dumps({**report, "blobs": str(hub.blobs.blobs),
                               "quarantine": str(hub.blobs.quarantine_dir)}, indent=2, default=str))
        if report["bad"] or report["missing"]:
            sys.exit(1)
        return
    for sha in report["missing"]:
        click.echo(f"MISSING {sha}  referenced by a commit, not on disk")
    click.echo(f"checked {report['checked']} blobs ({report['bytes']} bytes) in {hub.blobs.blobs}: "
               f"{len(report['bad'])} bad (moved to {hub.blobs.quarantine_dir}), {len(report['missing'])} missing")
    if report["bad"] or report["missing"]:
        click.echo("the hub refuses these files until they are published again", err=True)
        sys.exit(1)
