"""``aperto gateway``, ``aperto kill`` and ``aperto resume``: parse, call, print."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from aperto.cli import settle_heap
from aperto.cli.auth import resolve
from aperto.cli.remote import hub_hint, request
from aperto.config import Settings


@click.command("gateway")
@click.option("--host", default=None, help="Address to listen on (default: settings.gateway_host).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: settings.gateway_port).")
@click.option("--policy-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Standalone mode: tokens (sha256), grants and kills from this JSON/TOML file; no hub.")
@click.option("--hub-url", default=None, help="The hub whose event feed governs this gateway.")
@click.option("--model", "model_name", default=None, help="Name to serve the bundled SmolLM2 under.")
@click.option("--models", "models_json", default=None,
              help='Model map as JSON: {"name": {"backend": "upstream", "url": "...", "model": "..."}}.')
def gateway_cmd(host: str | None, port: int | None, policy_file: Path | None, hub_url: str | None,
                model_name: str | None, models_json: str | None) -> None:
    """Serve the OpenAI-compatible API with the kill switch."""
    import uvicorn

    from aperto.gateway import create_app

    overrides: dict[str, Any] = {"policy_file": policy_file, "hub_url": hub_url, "gateway_model": model_name}
    if models_json:
        try:
            overrides["gateway_models"] = json.loads(models_json)
        except ValueError as exc:
            raise click.BadParameter(f"--models is not JSON: {exc}") from exc
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    if settings.policy_file is None:
        settings.token = resolve(None).value
        if not settings.token:
            click.echo("warning: no token (APERTO_TOKEN, HF_TOKEN or `aperto login`): the hub will refuse "
                       "the feed and the gateway will stay closed (policy_stale)", err=True)
    app = create_app(settings)
    settle_heap()
    uvicorn.run(app, host=host or settings.gateway_host, port=port or settings.gateway_port, log_level="info")


def _call(base: str, path: str, body: dict[str, Any], token: str | None, hint: str) -> dict[str, Any]:
    resolved = resolve(token)
    resolved.required("the kill switch (an admin or licensor token)")
    url = base.rstrip("/") + path
    response = request("POST", url, what="the server", hint=hint, json=body, headers=resolved.headers())
    return response.json() if response.content else {}


def _switch(action: str, body: dict[str, Any], hub_url: str | None, gateway_url: str | None,
            token: str | None) -> dict[str, Any]:
    """Kill or resume at the hub (every replica follows its feed), or at one standalone gateway."""
    settings = Settings()
    if gateway_url:
        return _call(gateway_url.rstrip("/").removesuffix("/v1"), f"/admin/{action}", body, token,
                     "is the gateway running? start it with `aperto gateway`, or pass --gateway")
    return _call(hub_url or settings.hub_url, f"/api/{action}", body, token, hub_hint("--hub-url"))


_target = [
    click.option("--model", "repo", default=None, help="Only this model (hub repo id); default: everything."),
    click.option("--hub-url", default=None, help="The hub (default: settings.hub_url)."),
    click.option("--gateway", "gateway_url", default=None,
                 help="A standalone gateway's base URL instead of the hub (uses its /admin endpoints)."),
    click.option("--token", default=None, help="Admin or licensor token (default: APERTO_TOKEN, HF_TOKEN, then "
                 "the stored login)."),
    click.option("--json", "as_json", is_flag=True, help="Print only the server's answer, as JSON."),
]


def _with_target(fn: Any) -> Any:
    for option in reversed(_target):
        fn = option(fn)
    return fn


@click.command("kill")
@_with_target
@click.option("--reason", required=True, help="Why; shown to every caller that is refused.")
def kill_cmd(repo: str | None, hub_url: str | None, gateway_url: str | None, token: str | None,
             as_json: bool, reason: str) -> None:
    """Engage the kill switch: every gateway stops generating (all models, or --model)."""
    result = _switch("kill", {"repo": repo, "reason": reason}, hub_url, gateway_url, token)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"halted {repo or 'all models'}: {reason}")
    click.echo(json.dumps(result))


@click.command("resume")
@_with_target
def resume_cmd(repo: str | None, hub_url: str | None, gateway_url: str | None, token: str | None,
               as_json: bool) -> None:
    """Release the kill switch (all models, or --model). Resuming is always explicit."""
    result = _switch("resume", {"repo": repo}, hub_url, gateway_url, token)
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"resumed {repo or 'all models'}")
    click.echo(json.dumps(result))
