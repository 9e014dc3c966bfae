"""Which token the CLI sends, and the stored login: ``aperto login``, ``logout`` and ``whoami``.

Every command that talks to a hub or a gateway asks ``resolve`` for its token, in this order:
``--token``, then ``APERTO_TOKEN``, then ``HF_TOKEN`` (so one login serves the ``hf`` tools and
aperto), then the token ``aperto login`` stored under the user's config dir. Tokens are read
from a hidden prompt or stdin, never printed, and stored owner-only.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from aperto.cli.remote import hub_hint, request
from aperto.config import Settings, private_dir
from aperto.errors import BadInput, Unauthorized

NO_TOKEN_HINT = "pass --token, set APERTO_TOKEN or HF_TOKEN, or run `aperto login`"


@dataclass(frozen=True)
class Token:
    value: str | None
    source: str  # "--token", "APERTO_TOKEN", "HF_TOKEN", "login <path>" or "none"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.value}"} if self.value else {}

    def required(self, what: str) -> str:
        if not self.value:
            raise Unauthorized(f"no token for {what}", hint=NO_TOKEN_HINT)
        return self.value


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/aperto`` (an absolute path, as the XDG spec asks), else ``~/.config/aperto``."""
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".config"
    return root / "aperto"


def token_path() -> Path:
    return config_dir() / "token"


def stored() -> str | None:
    try:
        value = token_path().read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise BadInput(f"cannot read the stored login {token_path()}: {exc.strerror}",
                       hint="fix its permissions, or run `aperto logout` and `aperto login` again") from exc
    return value or None


def resolve(flag: str | None) -> Token:
    """The token to send and where it came from; ``Token(None, "none")`` when there is none."""
    if flag:
        return Token(flag, "--token")
    for name in ("APERTO_TOKEN", "HF_TOKEN"):
        value = Settings().token if name == "APERTO_TOKEN" else os.environ.get(name)
        if value and value.strip():
            return Token(value.strip(), name)
    value = stored()
    if value:
        return Token(value, f"login {token_path()}")
    return Token(None, "none")


def save(value: str) -> Path:
    """Write the login crash-safe: a 0600 temp file beside it, fsync, rename, fsync the 0700 folder."""
    folder = config_dir()
    private_dir(folder)
    os.chmod(folder, 0o700)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".token-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(value + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / "token")
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return folder / "token"


def whoami(hub_url: str, token: Token) -> dict[str, Any]:
    """What the hub says about ``token`` (``/api/whoami-v2``); a refused token is a typed error."""
    token.required("the hub")
    url = hub_url.rstrip("/") + "/api/whoami-v2"
    body: dict[str, Any] = request("GET", url, what="the hub", hint=hub_hint("--hub"), headers=token.headers()).json()
    return body


def _record(body: dict[str, Any], hub_url: str, token: Token) -> dict[str, Any]:
    access = body.get("auth", {}).get("accessToken", {})
    return {"user": body.get("name"), "orgs": [o.get("name") for o in body.get("orgs", [])],
            "admin": bool(body.get("isAdmin")), "scopes": access.get("scopes", []), "hub": hub_url,
            "token_source": token.source}


def _read_secret(option: str | None) -> str:
    if option is None:
        value = click.prompt("Token (input hidden)", hide_input=True, default="", show_default=False)
    elif option == "-":
        value = sys.stdin.readline()
    else:
        raise BadInput("aperto login does not take the token on the command line (other users can read it there)",
                       hint="pipe it in with `--token -`, or leave --token out to be asked for it")
    value = value.strip()
    if not value:
        raise BadInput("no token given", hint="paste the token from `aperto token create` or the hub's web UI")
    return value


hub_option = click.option("--hub", "hub_url", help="The hub (default: APERTO_HUB_URL, else settings.hub_url).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


@click.command("login")
@hub_option
@click.option("--token", "token_option", metavar="-",
              help="`-`: read the token from stdin. Without it you are asked, with the input hidden.")
@json_option
def login_cmd(hub_url: str | None, token_option: str | None, as_json: bool) -> None:
    """Check a token against the hub and store it for later commands (owner-only file under
    $XDG_CONFIG_HOME/aperto, else ~/.config/aperto). APERTO_TOKEN, HF_TOKEN and --token still
    come first."""
    hub_url = hub_url or Settings().hub_url
    token = Token(_read_secret(token_option), "login")
    body = whoami(hub_url, token)
    path = save(token.value or "")
    record = _record(body, hub_url, Token(token.value, f"login {path}"))
    if as_json:
        click.echo(json.dumps(record, indent=2))
    else:
        click.echo(f"logged in to {hub_url} as {record['user']}; token stored in {path}")
    shadow = next((n for n in ("APERTO_TOKEN", "HF_TOKEN") if os.environ.get(n, "").strip()), None)
    if shadow:
        click.echo(f"note: {shadow} is set and is used before the stored login", err=True)


@click.command("logout")
def logout_cmd() -> None:
    """Remove the stored login (tokens in APERTO_TOKEN or HF_TOKEN are left alone)."""
    path = token_path()
    try:
        path.unlink()
    except FileNotFoundError:
        click.echo(f"not logged in (no {path})")
        return
    click.echo(f"logged out: removed {path}")


@click.command("whoami")
@hub_option
@click.option("--token", help="Token to check (default: APERTO_TOKEN, HF_TOKEN, then the stored login).")
@json_option
def whoami_cmd(hub_url: str | None, token: str | None, as_json: bool) -> None:
    """Who the hub takes you for, your scopes, and where the token came from."""
    hub_url = hub_url or Settings().hub_url
    resolved = resolve(token)
    record = _record(whoami(hub_url, resolved), hub_url, resolved)
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    orgs = f" (orgs: {', '.join(record['orgs'])})" if record["orgs"] else ""
    click.echo(f"{record['user']}{orgs} at {hub_url}")
    click.echo(f"scopes: {', '.join(record['scopes']) or 'none'}{' (administrator)' if record['admin'] else ''}")
    click.echo(f"token from: {resolved.source}")
