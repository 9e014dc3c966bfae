"""``aperto up``: the hub and one gateway, seeded, in one process.

One process, one asyncio loop, two ``uvicorn.Server``s: one Ctrl-C stops both, there is no
child to leak, and nothing but the Python already installed is needed. The gateway still
reaches the hub only over HTTP (its event feed), exactly as a separate gateway would; it never
imports the hub. llama.cpp runs in worker threads, so it does not block the hub's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from aperto.cli import settle_heap
from aperto.config import Settings, private_dir
from aperto.errors import BadInput, Conflict

TOKENS_FILE = "aperto-up.json"


def url_host(host: str) -> str:
    """The address clients use: a wildcard bind is reached over loopback from this machine."""
    if host in ("0.0.0.0", "", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def up_settings(data_dir: Path, host: str, hub_port: int, gateway_port: int, gguf: Path,
                gateway_token: str | None = None) -> Settings:
    from aperto.hub.seed import DEMO_REPO, SMOLLM2_REPO

    where = url_host(host)
    return Settings(
        data_dir=data_dir, hub_host=host, hub_port=hub_port, gateway_host=host, gateway_port=gateway_port,
        hub_url=f"http://{where}:{hub_port}", gateway_url=f"http://{where}:{gateway_port}/v1",
        # both seeded repos are the same bytes: each name gets its own llama.cpp instance
        gateway_model=SMOLLM2_REPO, gateway_models={DEMO_REPO: {"backend": "llamacpp", "path": str(gguf)}},
        token=gateway_token)


def check_port(host: str, port: int) -> None:
    """Fail before seeding and rotating tokens, not after: a second ``aperto up`` on busy ports
    must not revoke the running one's tokens. (uvicorn binds with SO_REUSEADDR too.)"""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}",
                           hint="another aperto up (or something else) is using it; pick another port") from exc


def write_tokens(path: Path, data: dict[str, Any]) -> None:
    """Owner-only file so the tour and scripts can find this run's tokens."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def _server_class():  # noqa: ANN202
    import uvicorn

    class QuietServer(uvicorn.Server):
        """Signals are handled once, for both servers, by ``serve_both``."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return QuietServer


async def _wait_ready(gateway_url: str, token: str, timeout: float = 60.0) -> bool:
    import httpx

    base = gateway_url.rstrip("/").removesuffix("/v1")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while loop.time() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(base + "/readyz")).status_code == 200:
                    return True
            await asyncio.sleep(0.1)
    return False


def fast_loop() -> Any:
    """uvloop's loop factory where it is installed (uvicorn.run picks it up by itself; asyncio.run does not)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def serve_both(hub_app: Any, gateway_app: Any, settings: Settings, on_ready: Any,
                     wake: Any = None) -> None:
    import uvicorn

    server_cls = _server_class()
    hub_server = server_cls(uvicorn.Config(hub_app, host=settings.hub_host, port=settings.hub_port,
                                           log_level="warning", lifespan="on",
                                           # the gateway's long-poll may be open: do not wait it out
                                           timeout_graceful_shutdown=1))
    gw_server = server_cls(uvicorn.Config(gateway_app, host=settings.gateway_host, port=settings.gateway_port,
                                          log_level="warning", lifespan="on"))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal() -> None:
        if stopping.is_set():  # a second Ctrl-C: do not wait for open connections
            for server in (hub_server, gw_server):
                server.force_exit = True
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    # the hub first: the gateway's feed starts from the hub's snapshot
    hub_task = asyncio.create_task(hub_server.serve())
    while not hub_server.started and not hub_task.done():
        await asyncio.sleep(0.02)
    gw_task = asyncio.create_task(gw_server.serve()) if not hub_task.done() else None
    if gw_task is not None:
        while not gw_server.started and not gw_task.done():
            await asyncio.sleep(0.02)
        if gw_server.started:
            on_ready(await _wait_ready(settings.gateway_url, settings.token or ""))
    # Ctrl-C, or either server ending by itself (a port in use), ends both
    stop_wait = asyncio.create_task(stopping.wait())
    await asyncio.wait([t for t in (hub_task, gw_task, stop_wait) if t is not None],
                       return_when=asyncio.FIRST_COMPLETED)
    stop_wait.cancel()
    # the gateway first (it ends its streams and its feed), then the hub
    if gw_task is not None:
        gw_server.should_exit = True
        await asyncio.gather(gw_task, return_exceptions=True)
    hub_server.should_exit = True
    if wake is not None:
        wake()
    await asyncio.gather(hub_task, return_exceptions=True)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.remove_signal_handler(sig)
    if not (hub_server.started and gw_server.started):
        raise SystemExit(1)


@click.command("up")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="State folder (database, blobs, gateway state); default: settings.data_dir.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address both services listen on (loopback unless you say otherwise).")
@click.option("--hub-port", type=int, default=8600, show_default=True, help="Hub port.")
@click.option("--gateway-port", type=int, default=8700, show_default=True, help="Gateway port.")
def up_cmd(data_dir: Path | None, host: str, hub_port: int, gateway_port: int) -> None:
    """Start the hub and one gateway, seeded with demonstration models, in one process.

    Prints the hub URL, the gateway URL and a fresh admin token (the previous run's are
    revoked). State persists in the data dir; Ctrl-C stops both services.
    """
    from aperto.bundled import smollm2_gguf
    from aperto.cli.blobs import warn_exposed
    from aperto.gateway import create_app as create_gateway
    from aperto.hub.app import create_app as create_hub
    from aperto.hub.seed import DEMO_USER, issue_tokens, seed
    from aperto.hub.service import Hub

    if hub_port == gateway_port:
        raise BadInput("the hub and the gateway need different ports")
    for port in (hub_port, gateway_port):
        check_port(host, port)
    data_dir = data_dir or Settings().data_dir
    warn_exposed(data_dir)
    private_dir(data_dir)
    gguf = smollm2_gguf()
    umask = os.umask(0o077)  # whatever the hub and the gateway write (database, -wal/-shm, keys, state) is owner-only
    hub = Hub(up_settings(data_dir, host, hub_port, gateway_port, gguf))
    hub.integrity.start_scrub(hub.settings.blob_scrub_interval_s)
    hub.webhooks.start()  # posts webhook deliveries, retrying with backoff
    try:
        report = seed(hub, gguf)
        tokens = issue_tokens(hub)
        settings = up_settings(data_dir, host, hub_port, gateway_port, gguf, tokens["gateway"])
        hub.settings = settings  # the web UI reads gateway_url / hub_url from here
        write_tokens(data_dir / TOKENS_FILE, {"hub_url": settings.hub_url, "gateway_url": settings.gateway_url,
                                              "admin_token": tokens["admin"],
                                              "demo_licensor_token": tokens["demo_licensor"]})
        click.echo(f"seeded: {len(report.created)} new, {len(report.existing)} already there "
                   f"(data in {data_dir})")
        click.echo(f"hub:     {settings.hub_url}")
        click.echo(f"gateway: {settings.gateway_url}")
        click.echo(f"admin token: {tokens['admin']}")
        click.echo(f"{DEMO_USER} token: {tokens['demo_licensor']}")
        click.echo(f"(both also in {data_dir / TOKENS_FILE}; a restart issues new ones and revokes these)")

        def on_ready(ok: bool) -> None:
            click.echo("aperto is up; Ctrl-C stops it" if ok else
                       "warning: the gateway is not ready yet (see /readyz); the hub is up")

        def wake_long_polls() -> None:
            # the gateway has already gone: let open long-polls (/api/events) answer now instead of
            # holding the shutdown for up to the poll's wait
            hub.stop_waiting()

        hub_app, gateway_app = create_hub(settings, hub), create_gateway(settings)
        settle_heap()
        with asyncio.Runner(loop_factory=fast_loop()) as runner:
            runner.run(serve_both(hub_app, gateway_app, settings, on_ready, wake_long_polls))
        click.echo("aperto stopped")
    finally:
        hub.integrity.stop()
        hub.close()
        os.umask(umask)
