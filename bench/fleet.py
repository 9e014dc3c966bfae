"""Kill propagation to N subscribed gateways, through the HTTP feed and through NATS JetStream,
side by side in one run; and the hub's CPU while 1,000 HTTP subscribers idle.

    .venv/bin/python bench/fleet.py [--sizes 10,100,1000] [--procs 4] [--idle-s 10]

One hub (`uvicorn`, SQLite, relay to NATS) in its own process; nats-server with JetStream; the
subscribers are lightweight (raw asyncio HTTP/1.1 long-polls, or one NATS connection each with a
subscription to aperto.events.>), spread over --procs processes. A kill is posted to the hub; each
subscriber notes when it saw it (wall clock, one machine). Prints one table row per size and path.
Subscribers over NATS use core subscriptions of the stream's subjects: a gateway's ordered consumer
adds JetStream's per-consumer delivery, which this does not measure."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from aperto import services


# ---- the hub process ------------------------------------------------------------------------
def hub_main(data: str, port: int, nats_url: str) -> None:
    import uvicorn

    from aperto.config import Settings
    from aperto.hub.app import create_app
    from aperto.hub.service import Hub

    settings = Settings(data_dir=Path(data), database_url=None, nats_url=nats_url)
    hub = Hub(settings)
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "gw")
    gw = hub.tokens.create_token(root, "gw", ["gateway"])
    (Path(data) / "tokens.json").write_text(json.dumps({"admin": admin, "gw": gw}))
    uvicorn.run(create_app(settings, hub), host="127.0.0.1", port=port, log_level="warning")


# ---- a subscriber process -------------------------------------------------------------------
async def http_subscriber(port: int, token: str, after: int, seen: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            writer.write(f"GET /api/events?after={after}&wait=30 HTTP/1.1\r\nHost: hub\r\n"
                         f"Authorization: Bearer {token}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length")))
            answer = json.loads(await reader.readexactly(length))
            if any(e["type"] == "kill" for e in answer["events"]):
                seen.append(time.time())
                return
            after = answer["last_seq"]
    finally:
        writer.close()


async def nats_subscriber(nats_url: str, seen: list[float], subscribed: list[int]) -> None:
    import nats

    got = asyncio.Event()

    async def on_msg(msg) -> None:  # noqa: ANN001
        if msg.subject == "aperto.events.kill":
            seen.append(time.time())
            got.set()

    nc = await nats.connect(nats_url)
    await nc.subscribe("aperto.events.>", cb=on_msg)
    await nc.flush()
    subscribed.append(1)
    await got.wait()
    await nc.close()


async def subscribers_main(kind: str, count: int, port: int, token: str, after: int, nats_url: str) -> None:
    seen: list[float] = []
    subscribed: list[int] = []
    if kind == "http":
        tasks = [asyncio.create_task(http_subscriber(port, token, after, seen)) for _ in range(count)]
        await asyncio.sleep(1.0)  # the requests are sent; the hub parks them
    else:
        tasks = [asyncio.create_task(nats_subscriber(nats_url, seen, subscribed)) for _ in range(count)]
        while len(subscribed) < count:
            await asyncio.sleep(0.05)
    print("ready", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    print(json.dumps(seen), flush=True)


# ---- the driver -----------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def round_trip(kind: str, size: int, procs: int, port: int, tokens: dict, nats_url: str,
               idle_s: float = 0.0) -> dict:
    hub = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {tokens['admin']}"})
    after = hub.get("/api/events", headers={"Authorization": f"Bearer {tokens['gw']}"}).json()["last_seq"]
    share = [size // procs + (1 if i < size % procs else 0) for i in range(procs)]
    workers = [subprocess.Popen([sys.executable, __file__, "subscribers", kind, str(n), str(port), tokens["gw"],
                                 str(after), nats_url], stdout=subprocess.PIPE, text=True)
               for n in share if n]
    try:
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        time.sleep(1.0)
        row: dict = {"path": kind, "gateways": size}
        if idle_s:
            pid = int(hub_pid_file.read_text())
            before, t0 = cpu_seconds(pid), time.monotonic()
            time.sleep(idle_s)
            row["idle_hub_cpu_pct"] = round(100 * (cpu_seconds(pid) - before) / (time.monotonic() - t0), 1)
        sent = time.time()
        assert hub.post("/api/kill", json={"reason": "bench"}).status_code == 200
        seen: list[float] = []
        for w in workers:
            out, _ = w.communicate(timeout=90)
            seen += json.loads(out.strip().splitlines()[-1])
        hub.post("/api/resume", json={})
        lat = [1000 * (t - sent) for t in seen]
        row.update(received=len(lat), p50_ms=round(statistics.median(lat), 1), p99_ms=round(pct(lat, 0.99), 1),
                   max_ms=round(max(lat), 1))
        return row
    finally:
        for w in workers:
            services.stop(w, 5)
        hub.close()


hub_pid_file = Path(tempfile.gettempdir()) / f"aperto-bench-fleet-{os.getpid()}.pid"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--idle-s", type=float, default=10.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp, services.nats(Path(tmp) / "js") as nats_url:
        port = services.free_port()
        hub = subprocess.Popen([sys.executable, __file__, "hub", tmp, str(port), nats_url])
        try:
            hub_pid_file.write_text(str(hub.pid))
            services.wait_port(port, hub, "the hub")
            tokens = json.loads((Path(tmp) / "tokens.json").read_text())
            print(f"load: {os.getloadavg()[0]:.2f} (1-min load average before the run, {os.cpu_count()} cores)")
            for size in [int(x) for x in args.sizes.split(",")]:
                for kind in ("http", "nats"):
                    idle = args.idle_s if kind == "http" and size == max(int(x) for x in args.sizes.split(",")) else 0
                    print(json.dumps(round_trip(kind, size, args.procs, port, tokens, nats_url, idle)), flush=True)
            print(f"load: {os.getloadavg()[0]:.2f} (1-min load average after the run)")
        finally:
            services.stop(hub, 10)
            hub_pid_file.unlink(missing_ok=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "hub":
        hub_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "subscribers":
        kind, count, port, token, after, nats_url = sys.argv[2:8]
        asyncio.run(subscribers_main(kind, int(count), int(port), token, int(after), nats_url))
    else:
        main()
