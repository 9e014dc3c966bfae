"""Metadata throughput and tail latency under Debian's wrk, the hub beside its peers in one run:

- the hub (`aperto hub`: one uvicorn process, SQLite), model_info and revision info, with a token;
- a bare FastAPI app (one uvicorn process) returning the same model_info bytes;
- nginx (one worker) serving the same JSON as a static file: the limit.

    .venv/bin/python bench/hub_metadata.py [--connections 64] [--seconds 8]

It prints requests/s, p50 and p99 of each, and the ratio hub/bare (target >= 1.0, p99 <= 100 ms).
The download HEAD (`HEAD /{repo}/resolve/main/{file}`, what huggingface_hub asks before every
download) is timed the same way against the bare app answering the same headers, with
bench/headload.c (compiled with `cc` here; one thread, epoll, kept-alive connections like wrk -t1):
wrk 4.1 and h2load wait for a body after a HEAD answer that carries Content-Length, and ab speaks
HTTP/1.0, which uvicorn does not keep alive (each request would pay a new connection).
Needs `wrk`, `nginx` and a C compiler (apt-get install -y wrk nginx-light gcc).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aperto.config import Settings
from aperto.hub.service import Hub

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
BARE = '''
import json, sys
from fastapi import FastAPI
from fastapi.responses import Response
body = open(sys.argv[1], "rb").read()
head = json.loads(open(sys.argv[3]).read())  # the hub's download HEAD headers
app = FastAPI()

@app.get("/api/models/{org}/{name}")
async def info(org: str, name: str) -> Response:
    return Response(body, media_type="application/json")

@app.head("/{org}/{name}/resolve/{rev}/{path:path}")
async def resolve_head(org: str, name: str, rev: str, path: str) -> Response:
    return Response(status_code=200, headers=head)

import uvicorn
from aperto.cli import settle_heap
settle_heap()  # as `aperto hub` does before it serves: the same start for both
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
'''
NGINX = '''daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp; fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{port};
        location / {{ root {root}/www; default_type application/json; }}
    }}
}}
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wrk(url: str, connections: int, seconds: float, token: str | None) -> dict:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency"]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {p: float(v) * UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(1) if errors else ""}


def headload(binary: Path, url: str, connections: int, seconds: float, token: str | None) -> dict:
    """HEAD requests from bench/headload.c; the same fields as wrk()."""
    found = re.match(r"http://([\d.]+):(\d+)(/.*)$", url)
    assert found, url
    cmd = [str(binary), *found.groups(), str(connections), f"{seconds:g}"]
    if token:
        cmd.append(f"Authorization: Bearer {token}")
    out = dict(line.split() for line in subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines())
    return {"rps": float(out["rps"]), "p50": float(out["p50_ms"]), "p99": float(out["p99_ms"]),
            "non2xx": int(out["non2xx"]), "socket_errors": "" if out["errors"] == "0" else out["errors"]}


def head_headers(url: str, token: str) -> dict[str, str]:
    """The hub's answer to a download HEAD, less what each server sets itself."""
    r = httpx.head(url, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, f"HEAD {url}: {r.status_code}"
    return {k: v for k, v in r.headers.items() if k not in ("date", "server", "x-request-id")}


def seed(root: Path) -> tuple[str, bytes]:
    """A gated repo of 20 files; its admin token and model_info bytes."""
    hub = Hub(Settings(data_dir=root, database_url=None))
    try:
        admin = hub.tokens.bootstrap_admin()
        caller = hub.tokens.authenticate(admin)
        files = []
        for i in range(20):
            data = f"file {i}".encode() * 100
            sha = hashlib.sha256(data).hexdigest()
            hub.repos.upload(caller, "bench/m", sha, len(data), 0, [data])
            files.append({"path": f"dir/f{i}.bin", "sha256": sha, "size": len(data)})
        hub.repos.commit(caller, "bench/m", files, "bench", gating="manual")
        body = hub.repos.model_info_json("bench/m")
        assert body is not None
        return admin, body
    finally:
        hub.close()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measure(connections: int, seconds: float) -> dict[str, float]:
    """Start the three servers, wrk each in turn, print a line per run; returns the ratios
    (bench/fleet.py calls this to put the metadata figures beside the feed's in one run)."""
    for tool in ("wrk", "nginx", "cc"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y wrk nginx-light gcc")
    root = Path(tempfile.mkdtemp(prefix="aperto-meta-"))
    procs: list[subprocess.Popen] = []
    try:
        root.chmod(0o755)  # nginx's worker reads as nobody
        token, body = seed(root / "hub")
        subprocess.run(["cc", "-O2", "-o", str(root / "headload"), str(Path(__file__).with_name("headload.c"))],
                       check=True)
        (root / "www/api/models/bench").mkdir(parents=True)
        (root / "www/api/models/bench/m").write_bytes(body)
        (root / "tmp").mkdir()
        (root / "info.json").write_bytes(body)
        ports = {"hub": free_port(), "bare": free_port(), "nginx": free_port()}
        aperto = str(Path(sys.executable).with_name("aperto"))
        env = {**os.environ, "APERTO_DATABASE_URL": "", "APERTO_NATS_URL": "", "APERTO_BLOB_URL": ""}
        procs.append(subprocess.Popen([aperto, "hub", "--data-dir", str(root / "hub"), "--port", str(ports["hub"])],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))  # JSON logs
        (root / "nginx.conf").write_text(NGINX.format(root=root, port=ports["nginx"]))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        procs.append(subprocess.Popen([nginx, "-c", str(root / "nginx.conf"), "-p", str(root)],
                                      stderr=subprocess.DEVNULL))
        wait_up(f"http://127.0.0.1:{ports['hub']}/api/models/bench/m")
        download = "/bench/m/resolve/main/dir/f0.bin"
        (root / "head.json").write_text(json.dumps(head_headers(f"http://127.0.0.1:{ports['hub']}{download}", token)))
        procs.append(subprocess.Popen([sys.executable, "-c", BARE, str(root / "info.json"), str(ports["bare"]),
                                       str(root / "head.json")], stdout=subprocess.DEVNULL))
        for port in ports.values():
            wait_up(f"http://127.0.0.1:{port}/api/models/bench/m")
        print(f"wrk -t1 -c{connections} -d{seconds:g}s --latency; {os.cpu_count()} cores; "
              f"load average before {load_average()}")
        runs = (("hub", "model_info", f"http://127.0.0.1:{ports['hub']}/api/models/bench/m", token),
                ("bare FastAPI", "model_info", f"http://127.0.0.1:{ports['bare']}/api/models/bench/m", None),
                ("nginx static", "model_info", f"http://127.0.0.1:{ports['nginx']}/api/models/bench/m", None),
                ("hub", "revision info", f"http://127.0.0.1:{ports['hub']}/api/models/bench/m/revision/main", token),
                ("hub", "download HEAD", f"http://127.0.0.1:{ports['hub']}{download}", token),
                ("bare FastAPI", "download HEAD", f"http://127.0.0.1:{ports['bare']}{download}", None))
        results: dict[tuple[str, str], dict] = {}
        for server, what, url, auth in runs:
            def run(length: float, url: str = url, auth: str | None = auth, what: str = what) -> dict:
                if what == "download HEAD":
                    return headload(root / "headload", url, connections, length, auth)
                return wrk(url, connections, length, auth)

            run(1)  # warm-up: caches, connections
            r = results[(server, what)] = run(seconds)
            print(f"{server:13s} {what:14s} {r['rps']:8.0f} req/s  p50 {r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms"
                  f"  non-2xx {r['non2xx']}{'  socket errors ' + r['socket_errors'] if r['socket_errors'] else ''}")
        hub, bare = results[("hub", "model_info")], results[("bare FastAPI", "model_info")]
        nginx_rps = results[("nginx static", "model_info")]["rps"]
        head, bare_head = results[("hub", "download HEAD")], results[("bare FastAPI", "download HEAD")]
        ratios = {"hub_over_bare": hub["rps"] / bare["rps"], "hub_p99_ms": hub["p99"],
                  "hub_over_nginx": hub["rps"] / nginx_rps, "head_hub_over_bare": head["rps"] / bare_head["rps"],
                  "head_hub_p99_ms": head["p99"]}
        print(f"model_info: hub/bare {ratios['hub_over_bare']:.2f} (target >= 1.0), hub p99 {hub['p99']:.1f} ms "
              f"(target <= 100 ms)")
        print(f"download HEAD (headload, {connections} connections, {seconds:g} s): hub/bare {ratios['head_hub_over_bare']:.2f} "
              f"(target >= 1.0), hub p99 {head['p99']:.1f} ms (target <= 100 ms)")
        print(f"model_info: hub/nginx {ratios['hub_over_nginx']:.2f}; load average after {load_average()}")
        return ratios
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=8)
    args = ap.parse_args()
    measure(args.connections, args.seconds)


if __name__ == "__main__":
    main()
