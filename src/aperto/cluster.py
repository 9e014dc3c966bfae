"""`aperto cluster up`: the fleet on one machine, on free local ports: NATS with JetStream,
SeaweedFS with its S3 API, two hub replicas on one PostgreSQL behind nginx (round-robin), and
three gateways following the hub through NATS. Everything runs until SIGINT or SIGTERM, then
stops in reverse order and is waited for, so nothing is left running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from aperto import services
from aperto.config import Settings, private_dir
from aperto.errors import Conflict

HUBS = 2
GATEWAYS = 3


def nginx_conf(folder: Path, port: int, hubs: list[int]) -> str:
    """Round-robin over the replicas; a request that fails to reach one (refused, reset before an
    answer) goes to the other. Bodies and answers stream through (uploads, downloads, long-polls)."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers as the current user
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in hubs)
    temp = "".join(f"    {kind}_temp_path {folder}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""{user}worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}    upstream hubs {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://hubs;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 3600s;
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def tokens(settings: Settings) -> tuple[str, str]:
    """An admin token (the bootstrap one on an empty database, else a new one for the first
    administrator) and a token for the gateways."""
    from aperto.hub.service import Hub

    hub = Hub(settings)
    try:
        hub.blobs.ensure_bucket()  # type: ignore[attr-defined]  # S3BlobStore
        admin = hub.tokens.bootstrap_admin()
        operator = hub.tokens.operator()
        if admin is None:
            admin = hub.tokens.create_token(operator, operator.name.removeprefix("cli:"), ["admin", "read", "publish"],
                                            "aperto cluster up")
        with contextlib.suppress(Conflict):
            hub.tokens.create_user(operator, "gateway")
        return admin, hub.tokens.create_token(operator, "gateway", ["gateway"], "aperto cluster up")
    finally:
        hub.close()


@contextlib.contextmanager
def child(argv: list[str], env: dict[str, str], log: Path, port: int, what: str) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
    try:
        services.wait_port(port, proc, what, timeout=90)
        yield proc
    finally:
        services.stop(proc)


@contextlib.contextmanager
def cluster(database_url: str, folder: Path, models: str | None = None) -> Iterator[dict]:
    """Start everything; yields the URLs, the admin token and the processes' pids."""
    folder = private_dir(Path(folder))
    with contextlib.ExitStack() as stack:
        nats_url = stack.enter_context(services.nats(private_dir(folder / "nats")))
        s3 = stack.enter_context(services.seaweedfs(folder / "seaweedfs"))
        env = {**os.environ, **s3.env(), "APERTO_NATS_URL": nats_url, "APERTO_DATABASE_URL": database_url,
               "APERTO_DATA_DIR": str(folder / "hub")}  # the replicas share keys: one data dir
        settings = Settings(data_dir=folder / "hub", database_url=database_url, nats_url=nats_url,
                            blob_url=env["APERTO_BLOB_URL"], s3_endpoint=s3.endpoint,
                            s3_access_key=s3.access_key, s3_secret_key=s3.secret_key)
        admin, gateway_token = tokens(settings)
        hub_ports = [services.free_port() for _ in range(HUBS)]
        hubs = [stack.enter_context(child(
            [sys.executable, "-m", "aperto", "hub", "--host", "127.0.0.1", "--port", str(port)],
            env, folder / f"hub{i}.log", port, f"hub replica {i}")) for i, port in enumerate(hub_ports)]
        front = services.free_port()
        web = private_dir(folder / "nginx")
        (web / "nginx.conf").write_text(nginx_conf(web, front, hub_ports))
        nginx = stack.enter_context(child(
            [services.tool("nginx"), "-p", str(web), "-c", str(web / "nginx.conf"), "-e", str(web / "error.log")],
            env, folder / "nginx.log", front, "nginx"))
        hub_url = f"http://127.0.0.1:{front}"
        gateway_ports = [services.free_port() for _ in range(GATEWAYS)]
        gateways = []
        for i, port in enumerate(gateway_ports):
            gw_env = {**env, "APERTO_TOKEN": gateway_token, "APERTO_HUB_URL": hub_url,
                      "APERTO_DATA_DIR": str(folder / f"gateway{i}")}
            argv = [sys.executable, "-m", "aperto", "gateway", "--host", "127.0.0.1", "--port", str(port),
                    "--hub-url", hub_url]
            if models is not None:
                argv += ["--model", "", "--models", models]
            gateways.append(stack.enter_context(child(argv, gw_env, folder / f"gateway{i}.log", port, f"gateway {i}")))
        yield {"hub": hub_url, "replicas": [f"http://127.0.0.1:{p}" for p in hub_ports],
               "gateways": [f"http://127.0.0.1:{p}/v1" for p in gateway_ports], "nats": nats_url,
               "s3": s3.endpoint, "admin_token": admin,
               "pids": [s3.pid, nginx.pid, *(p.pid for p in hubs + gateways)]}


def run(database_url: str, folder: Path, echo: Callable[[str], None], models: str | None = None) -> None:
    """Start the cluster, print where it is, and keep it up until SIGINT or SIGTERM."""
    stopping = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stopping.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with cluster(database_url, folder, models) as up:
            echo(f"hub (nginx): {up['hub']}")
            for i, url in enumerate(up["replicas"]):
                echo(f"hub replica {i}: {url}")
            for i, url in enumerate(up["gateways"]):
                echo(f"gateway {i}: {url}")
            echo(f"nats: {up['nats']}")
            echo(f"s3: {up['s3']}")
            echo(f"admin token: {up['admin_token']}")
            echo(f"logs: {folder}")
            echo("ready (Ctrl-C stops everything)")
            while not stopping.wait(0.5):
                pass
            echo("stopping...")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
