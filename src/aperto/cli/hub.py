"""CLI adapters over the hub: serve it, publish to it, check its audit log, manage tokens."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import click

from aperto.cli import settle_heap
from aperto.cli.auth import resolve
from aperto.cli.remote import error_from, hub_hint, request
from aperto.config import Settings
from aperto.errors import BadInput, Conflict, Unavailable


def _settings(data_dir: str | None, database_url: str | None = None) -> Settings:
    settings = Settings()
    if data_dir:
        settings.data_dir = Path(data_dir)
    if database_url:
        settings.database_url = database_url
    return settings


data_dir_option = click.option("--data-dir", type=click.Path(file_okay=False), help="Hub state folder.")
db_option = click.option("--database-url", help="SQLAlchemy URL (default: SQLite under the data dir).")


@click.command("hub")
@data_dir_option
@db_option
@click.option("--host", help="Address to listen on.")
@click.option("--port", type=int, help="Port to listen on.")
@click.option("--accel-redirect", help="nginx internal prefix for X-Accel-Redirect downloads.")
def hub_cmd(data_dir: str | None, database_url: str | None, host: str | None, port: int | None,
            accel_redirect: str | None) -> None:
    """Run the hub. On first start it creates an administrator and prints its token once."""
    import uvicorn

    from aperto.cli.blobs import warn_exposed
    from aperto.hub.app import create_app
    from aperto.hub.service import Hub
    from aperto.request_log import json_logs

    json_logs("aperto")  # one JSON line per request (aperto.hub.requests), with its x-request-id
    umask = os.umask(0o077)  # whatever the hub writes (database, -wal/-shm, keys, blobs) is owner-only
    settings = _settings(data_dir, database_url)
    if accel_redirect:
        settings.accel_redirect = accel_redirect
    warn_exposed(settings.data_dir)
    hub = Hub(settings)
    hub.integrity.start_scrub(settings.blob_scrub_interval_s)
    hub.webhooks.start()  # posts webhook deliveries, retrying with backoff
    token = hub.tokens.bootstrap_admin()
    if token:
        click.echo("Created the administrator 'admin'. Its token is shown this once; keep it safe:")
        click.echo(f"  {token}")
    click.echo(f"aperto hub on http://{host or settings.hub_host}:{port or settings.hub_port} "
               f"(data in {settings.data_dir})")
    app = create_app(settings, hub)
    settle_heap()
    try:
        uvicorn.run(app, host=host or settings.hub_host, port=port or settings.hub_port, log_level="warning")
    finally:
        hub.integrity.stop()
        os.umask(umask)


# ---- publish ---------------------------------------------------------------------
HF_GATED: dict[str, Literal["auto", "manual", False]] = {"open": False, "auto": "auto", "manual": "manual"}


@contextlib.contextmanager
def hf_errors(hub_url: str) -> Iterator[None]:
    """huggingface_hub's failures as the CLI's typed errors: the hub's answer, or an unreachable hub."""
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError

    try:
        yield
    except HfHubHTTPError as exc:
        raise error_from(exc.response) from None  # type: ignore[arg-type]  # httpx2's Response is httpx's
    except httpx2.TransportError as exc:
        raise Unavailable(f"cannot reach the hub at {hub_url}: {exc or type(exc).__name__}",
                          hint=hub_hint("--hub")) from None


@click.command("publish")
@click.argument("path", type=click.Path(exists=True))
@click.option("--repo", required=True, help="ORG/NAME on the hub.")
@click.option("--token", help="Hub token with the publish scope (default: APERTO_TOKEN, HF_TOKEN, then "
              "the stored login).")
@click.option("--hub", "hub_url", envvar="APERTO_HUB_URL", default="http://127.0.0.1:8600", show_default=True)
@click.option("--message", "-m", default="", help="Commit message.")
@click.option("--gating", type=click.Choice(["open", "auto", "manual"]),
              help="Override the licence-based gating mode (recorded in the audit log); set before any file "
                   "is committed.")
@click.option("--json", "as_json", is_flag=True, help="Print the commit as JSON.")
def publish_cmd(path: str, repo: str, token: str | None, hub_url: str, message: str, gating: str | None,
                as_json: bool) -> None:
    """Upload a folder (or one file) as a new commit: huggingface_hub's create_repo and
    upload_folder against the hub, so it is exactly what `hf upload` does. Interrupted uploads
    resume (files the hub already holds are not sent again)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    root = Path(path)
    if root.is_dir() and not any(p.is_file() for p in root.rglob("*")):
        raise BadInput(f"{path} holds no files")
    api = HfApi(endpoint=hub_url, token=resolve(token).value or False)
    with hf_errors(hub_url):
        try:
            api.create_repo(repo)
        except HfHubHTTPError as exc:
            if exc.response.status_code != 409:  # 409: it exists, so publish a new commit to it
                raise
        if gating:  # before the files, so the repo is never served under a looser gate than asked
            api.update_repo_settings(repo, gated=HF_GATED[gating])
        message = message or f"publish {root.name}"
        if root.is_dir():
            done = api.upload_folder(repo_id=repo, folder_path=root, commit_message=message)
        else:
            done = api.upload_file(repo_id=repo, path_or_fileobj=root, path_in_repo=root.name, commit_message=message)
    info = request("GET", f"{hub_url}/api/models/{repo}/revision/{done.oid}", what="the hub",
                   hint=hub_hint("--hub")).json()
    result = {"commit": done.oid, "repo": repo, "license": info["cardData"].get("license"),
              "category": info["aperto"]["category"], "gating": info["aperto"]["gating"],
              "files": len(info["siblings"])}
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{repo}@{result['commit']}: {result['files']} files, licence {result['license']} "
               f"({result['category']}), gating {result['gating']}")


# ---- audit -------------------------------------------------------------------------
@click.group("audit")
def audit_cmd() -> None:
    """Check or export the hub's hash-chained audit log (reads the hub's database)."""


@audit_cmd.command("verify")
@data_dir_option
@db_option
@click.option("--key", "vkey", help="The hub's verifier key (NAME+ID+KEY, from 'aperto audit key' or "
              "GET /api/audit/key); default: the key in the data dir.")
@click.option("--checkpoint", "checkpoints", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A signed checkpoint kept elsewhere (e.g. published earlier); it must still hold. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_verify(data_dir: str | None, database_url: str | None, vkey: str | None, checkpoints: tuple[str, ...],
                 as_json: bool) -> None:
    """Recompute the chain and check the signed checkpoints: exit 1 and say what is wrong if a
    row was altered or removed, or the newest rows were cut. Creates nothing."""
    from aperto.hub.audit import verify_stored

    settings = _settings(data_dir, database_url)
    extra = [(path, Path(path).read_text(encoding="utf-8", errors="replace")) for path in checkpoints]
    result = verify_stored(settings, vkey, extra)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif result["ok"]:
        click.echo(f"audit chain ok: {result['database']}: {result['rows']} rows, the newest "
                   f"{result['checkpoint']} vouched for by a signed checkpoint, head {result['head'][:16]}")
        if result["key"]:
            click.echo(f"  key {result['key']}")
    else:
        where = f" at row {result['bad_seq']}" if result.get("bad_seq") else ""
        click.echo(f"audit chain BROKEN{where} in {result['database']}: {result['why']}", err=True)
    if not result["ok"]:
        sys.exit(1)


@audit_cmd.command("checkpoint")
@data_dir_option
@db_option
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print the checkpoint, its size and the key as JSON.")
def audit_checkpoint(data_dir: str | None, database_url: str | None, output: str | None, as_json: bool) -> None:
    """Print the newest signed checkpoint (a C2SP signed note) so it can be kept elsewhere and
    checked offline with the key from 'aperto audit key'."""
    from aperto.hub.audit import stored_checkpoint

    result = stored_checkpoint(_settings(data_dir, database_url))
    text = json.dumps(result, indent=2) + "\n" if as_json else result["checkpoint"]
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@audit_cmd.command("key")
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the key as JSON.")
def audit_key(data_dir: str | None, as_json: bool) -> None:
    """Print the verifier key (C2SP vkey) that checks the hub's checkpoints."""
    from aperto.errors import NotFound
    from aperto.hub.audit import stored_key

    settings = _settings(data_dir)
    key = stored_key(settings.data_dir) if settings.data_dir.is_dir() else None
    if key is None:
        raise NotFound(f"no audit signing key in {settings.data_dir}", hint="pass the hub's --data-dir")
    click.echo(json.dumps({"key": key.vkey}) if as_json else key.vkey)


@audit_cmd.command("export")
@data_dir_option
@db_option
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write (default: stdout).")
@click.option("--leaves", is_flag=True, help="Write each row as its Merkle leaf (JCS of the stored row), "
              "for checking a checkpoint offline.")
def audit_export(data_dir: str | None, database_url: str | None, output: str | None, leaves: bool) -> None:
    """Write the audit log as JSON lines. Reads only: creates nothing."""
    from aperto.hub.audit import export_rows

    lines = export_rows(_settings(data_dir, database_url), leaves)
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        for line in lines:
            out.write(line + "\n")
    finally:
        if output:
            out.close()


# ---- tokens -------------------------------------------------------------------------
@click.group("token")
def token_cmd() -> None:
    """Create, list and revoke hub tokens (operator commands on the hub's own database)."""


@token_cmd.command("create")
@click.argument("user")
@click.option("--scopes", default="read", show_default=True, help="Comma-separated: read,publish,admin,gateway.")
@click.option("--org", help="Organisation of a new user.")
@click.option("--admin", "is_admin", is_flag=True, help="Make a new user an administrator (adds the admin scope).")
@click.option("--label", default="", help="What the token is for.")
@click.option("--expires", default=None, metavar="WHEN",
              help="When the token stops working: days (30d), a date (2027-01-31, 00:00 UTC) or an ISO "
                   "date-time. Default: until revoked.")
@data_dir_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the user, scopes, expiry and token as JSON.")
def token_create(user: str, scopes: str, org: str | None, is_admin: bool, label: str, expires: str | None,
                 data_dir: str | None, database_url: str | None, as_json: bool) -> None:
    """Make a token for USER (created if new); the token is printed once."""
    from aperto.hub.auth import iso
    from aperto.hub.service import Hub
    from aperto.hub.tokens import parse_expiry

    until = iso(parse_expiry(expires))  # a bad or past expiry is refused before anything is made

    hub = Hub(_settings(data_dir, database_url))
    first = hub.tokens.bootstrap_admin()
    if first:
        click.echo(f"(created the administrator 'admin' first; its token: {first})", err=True)
    op = hub.tokens.operator()
    try:
        hub.tokens.create_user(op, user, org, is_admin)
    except Conflict:
        pass
    wanted = [s.strip() for s in scopes.split(",") if s.strip()]
    if is_admin and "admin" not in wanted:
        wanted.append("admin")
    token = hub.tokens.create_token(op, user, wanted, label, until)
    if as_json:
        click.echo(json.dumps({"user": user, "scopes": wanted, "label": label, "expires_at": until, "token": token},
                              indent=2))
    else:
        click.echo(token)


@token_cmd.command("list")
@data_dir_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the tokens as a JSON list.")
def token_list(data_dir: str | None, database_url: str | None, as_json: bool) -> None:
    """List tokens by the start of their sha256 (the tokens themselves are never stored)."""
    from aperto.hub.service import Hub

    hub = Hub(_settings(data_dir, database_url))
    tokens = hub.tokens.list_tokens(hub.tokens.operator())
    if as_json:
        click.echo(json.dumps(tokens, indent=2, default=str))
        return
    for t in tokens:
        state = (f"revoked {t['revoked_at']}" if t["revoked_at"] else f"expired {t['expires_at']}" if t["expired"]
                 else f"active until {t['expires_at']}" if t["expires_at"] else "active")
        click.echo(f"{t['sha256'][:16]}  {t['user']:<16} {','.join(t['scopes']):<24} {state}  {t['label']}")


@token_cmd.command("revoke")
@click.argument("token_or_sha256")
@data_dir_option
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the revoked token's sha256 and user as JSON.")
def token_revoke(token_or_sha256: str, data_dir: str | None, database_url: str | None, as_json: bool) -> None:
    """Revoke by the token itself or its sha256 (gateways learn it from the event feed)."""
    from aperto.hub.service import Hub

    hub = Hub(_settings(data_dir, database_url))
    result = hub.tokens.revoke_token(hub.tokens.operator(), token_or_sha256)
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    else:
        click.echo(f"revoked {result['sha256'][:16]} of {result['user']}")
