"""Metadata throughput and tail latency: 64 concurrent clients asking for
model_info (GET /api/models/{repo}) and the download HEAD, with a token.

    .venv/bin/python bench/hub_metadata.py [--clients 64] [--seconds 10]

The hub runs as `aperto hub` (one uvicorn process) on SQLite; the client is
httpx (async) in this process, so on a 2-core machine both share the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aperto.config import Settings
from aperto.hub.service import Hub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, method: str, token: str, clients: int, seconds: float) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    first_error: list[str] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                try:
                    r = await client.request(method, url)
                except httpx.HTTPError as exc:
                    errors += 1
                    first_error.append(repr(exc))
                    continue
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1
                    first_error.append(f"{r.status_code} {r.text[:200]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    if first_error:
        print("first error:", first_error[0])
    return int(len(latencies) / elapsed), latencies, errors


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--only", default="", help="run only the first benchmark (quick checks)")
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aperto-meta-"))
    proc = None
    try:
        hub = Hub(Settings(data_dir=root))
        admin = hub.tokens.bootstrap_admin()
        caller = hub.tokens.authenticate(admin)
        files = []
        for i in range(20):
            data = f"file {i}".encode() * 100
            import hashlib

            sha = hashlib.sha256(data).hexdigest()
            hub.repos.upload(caller, "bench/m", sha, len(data), 0, [data])
            files.append({"path": f"dir/f{i}.bin", "sha256": sha, "size": len(data)})
        hub.repos.commit(caller, "bench/m", files, "bench", gating="manual")
        hub.close()
        port = free_port()
        aperto = str(Path(sys.executable).with_name("aperto"))
        proc = subprocess.Popen([aperto, "hub", "--data-dir", str(root), "--port", str(port)],
                                env={**os.environ, "APERTO_DATABASE_URL": ""}, stdout=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/api/models/bench/m", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        print(f"{args.clients} concurrent clients, {args.seconds:.0f} s each, {os.cpu_count()} cores, SQLite")
        for label, method, url in (("model_info GET /api/models/{repo}", "GET", f"{base}/api/models/bench/m"),
                                   ("download HEAD /{repo}/resolve/main/{file}", "HEAD",
                                    f"{base}/bench/m/resolve/main/dir/f3.bin")):
            asyncio.run(load(url, method, admin, args.clients, 1.0))  # warm-up
            rps, lat, errors = asyncio.run(load(url, method, admin, args.clients, args.seconds))
            lat.sort()
            p99 = lat[int(len(lat) * 0.99) - 1]
            print(f"{label:44s} {rps:6d} req/s  p50 {statistics.median(lat) * 1000:6.1f} ms  "
                  f"p99 {p99 * 1000:6.1f} ms  errors {errors}")
    finally:
        if proc:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
