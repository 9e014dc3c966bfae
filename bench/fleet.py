"""The fleet, side by side in one run (issue 14):

- feed: kill propagation to 10, 100 and 1,000 subscribed gateways, through the HTTP feed and through
  NATS JetStream, and the hub's CPU while 1,000 HTTP subscribers idle;
- metadata: the wrk ratio of bench/hub_metadata.py (model_info against a bare FastAPI app, nginx as
  the limit);
- replicas: `aperto cluster up`'s fleet (two hubs on one PostgreSQL, NATS, SeaweedFS, three
  gateways); a takedown, a gating change or a token revocation made through hub A, timed until hub B
  and every gateway refuse (target: 100 ms). The slowest writes are printed with the machine's CPU and
  IO stall meanwhile (Linux PSI), which tells a write the machine starved from a slow write. The
  targets are polled with raw HTTP/1.1 (`Probe`), and the bench prints its own CPU share and its
  longest garbage collection: on two cores, the bench must not be what it times.

    .venv/bin/python bench/fleet.py [--parts feed,metadata,replicas] [--sizes 10,100,1000] [--procs 4]
                                    [--paths sse,http,nats[,nats-core]] [--idle-s 10] [--rounds 20]
                                    [--poll-ms 5,0] [--database-url URL]

Feed: one hub (`uvicorn`, SQLite, relaying to NATS) in its own process; nats-server with JetStream.
The subscribers are spread over --procs processes. Through HTTP they are lightweight raw asyncio
clients: an SSE stream each (`sse`, what the gateway's HTTP feed holds) or long-polls (`http`). Through NATS each is the gateway's own feed (aperto.gateway.nats_feed.NatsFeed): its
own connection, a snapshot over HTTP, then an ordered JetStream consumer of APERTO_EVENTS. A kill is
posted to the hub; each subscriber notes when it applied it (wall clock, one machine)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from aperto import services
from aperto.cli import settle_heap
from aperto.events import Event
from aperto.gateway.nats_feed import NatsFeed
from aperto.gateway.policy import Policy
from aperto.store.db import scratch_schema


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
    app = create_app(settings, hub)
    settle_heap()  # as `aperto hub` does
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# ---- the bench's own HTTP client ---------------------------------------------------------
class Probe:
    """One kept-alive HTTP/1.1 connection to one server, for the lightweight clients of this bench: a
    request costs tens of microseconds of CPU where httpx costs about half a millisecond. On two cores
    a poller's own load would otherwise slow what it times."""

    def __init__(self, base: str, headers: dict) -> None:
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": parts.netloc, **headers}.items())
        self.stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def ask(self, method: str, target: str) -> tuple[int, bytes]:
        """The answer's status and body (none for a HEAD)."""
        if self.stream is None:
            self.stream = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.stream
        writer.write(f"{method} {target} HTTP/1.1\r\n{self.head}\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).lower()
        if b"transfer-encoding: chunked" in head:
            raise RuntimeError(f"{method} {self.host}:{self.port}{target}: a chunked answer, which this probe "
                               "does not read")
        length = re.search(rb"\r\ncontent-length: *(\d+)", head)
        body = await reader.readexactly(int(length[1])) if method != "HEAD" and length else b""
        if b"\r\nconnection: close" in head:
            self.close()
        return int(head.split(b" ", 2)[1]), body

    def close(self) -> None:
        if self.stream is not None:
            self.stream[1].close()
            self.stream = None


# ---- a subscriber process -------------------------------------------------------------------
async def http_subscriber(port: int, token: str, after: int, seen: list[float]) -> None:
    hub = Probe(f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {token}"})
    try:
        while True:
            _, body = await hub.ask("GET", f"/api/events?after={after}&wait=30")
            answer = json.loads(body)
            if any(e["type"] == "kill" for e in answer["events"]):
                seen.append(time.time())
                return
            after = answer["last_seq"]
    finally:
        hub.close()


async def sse_subscriber(port: int, token: str, after: int, seen: list[float]) -> None:
    """What the gateway's HTTP feed holds: one SSE stream (heartbeat every 10 s, a gateway's default)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET /api/events/stream?after={after}&heartbeat=10 HTTP/1.1\r\nHost: hub\r\n"
                     f"Authorization: Bearer {token}\r\n\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        while b'"type":"kill"' not in await reader.readline():
            pass
        seen.append(time.time())
    finally:
        writer.close()


def nats_gateway(port: int, token: str, nats_url: str, seen: list[float]) -> tuple[NatsFeed, asyncio.Event]:
    """What a gateway runs when APERTO_NATS_URL is set, less the HTTP server; notes when the kill lands."""
    feed = NatsFeed(f"http://127.0.0.1:{port}", token, nats_url, Policy(30.0), lambda: None)
    done = asyncio.Event()

    def applied(event: Event) -> None:
        if event.type == "kill":
            seen.append(time.time())
            done.set()

    feed.on_applied = applied
    return feed, done


async def core_subscriber(nats_url: str, seen: list[float]) -> Awaitable[object]:
    """The reference row: a plain subscription to the stream's subjects, no consumer, no snapshot."""
    import nats

    nc = await nats.connect(nats_url)
    done = asyncio.Event()

    async def on_msg(msg: Any) -> None:
        if msg.subject == "aperto.events.kill" and not done.is_set():
            seen.append(time.time())
            done.set()

    await nc.subscribe("aperto.events.>", cb=on_msg)
    await nc.flush()
    return done.wait()


async def subscribers_main(kind: str, count: int, port: int, token: str, after: int, nats_url: str) -> None:
    seen: list[float] = []
    tasks: list[Awaitable[object]]
    if kind in ("http", "sse"):
        follow = http_subscriber if kind == "http" else sse_subscriber
        tasks = [asyncio.create_task(follow(port, token, after, seen)) for _ in range(count)]
        await asyncio.sleep(1.0)  # the requests are sent; the hub parks them
    elif kind == "nats-core":
        tasks = [await core_subscriber(nats_url, seen) for _ in range(count)]
    else:
        logging.getLogger("nats").setLevel(logging.CRITICAL)  # a connect timed out under load: NatsFeed retries
        feeds = [nats_gateway(port, token, nats_url, seen) for _ in range(count)]
        runs = []
        for start in range(0, count, 25):  # gateways come up over time, not 250 connects at one instant
            runs += [asyncio.create_task(feed.run()) for feed, _ in feeds[start:start + 25]]
            while sum(feed.policy.loaded for feed, _ in feeds) < len(runs):  # subscribed, then the snapshot
                await asyncio.sleep(0.05)
        tasks = [done.wait() for _, done in feeds]
    settle_heap()  # as a gateway does at start-up: a full collection would pause the subscribers, not the feed
    print("ready", flush=True)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    if kind == "nats":
        for r in runs:
            r.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
    print(json.dumps(seen), flush=True)


# ---- the feed part --------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(lat: list[float]) -> dict:
    return {"n": len(lat), "p50_ms": round(statistics.median(lat), 1), "p99_ms": round(pct(lat, 0.99), 1),
            "max_ms": round(max(lat), 1)}


def parked(hub: httpx.Client) -> int:
    """Long-polls the hub holds now, from its /metrics."""
    found = re.search(r"^aperto_hub_feed_waiters (\S+)$", hub.get("/metrics").text, re.M)
    return int(float(found.group(1))) if found else 0


def round_trip(kind: str, size: int, procs: int, port: int, tokens: dict, nats_url: str, hub_pid: int,
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
        if kind in ("http", "sse"):  # all parked, so neither figure includes requests still arriving
            deadline = time.monotonic() + 120
            while parked(hub) < size:
                assert time.monotonic() < deadline, f"only {parked(hub)} of {size} long-polls parked"
                time.sleep(0.2)
        time.sleep(1.0)
        row: dict = {"path": kind, "gateways": size}
        if idle_s:
            before, t0 = cpu_seconds(hub_pid), time.monotonic()
            time.sleep(idle_s)
            row["idle_hub_cpu_pct"] = round(100 * (cpu_seconds(hub_pid) - before) / (time.monotonic() - t0), 1)
        sent = time.time()
        assert hub.post("/api/kill", json={"reason": "bench"}).status_code == 200
        seen: list[float] = []
        for w in workers:
            out, _ = w.communicate(timeout=90)
            seen += json.loads(out.strip().splitlines()[-1])
        hub.post("/api/resume", json={})
        row.update(summary([1000 * (t - sent) for t in seen]))
        return row
    finally:
        for w in workers:
            services.stop(w, 5)
        hub.close()


def feed_part(sizes: list[int], procs: int, idle_s: float, paths: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, services.nats(Path(tmp) / "js") as nats_url:
        port = services.free_port()
        hub = subprocess.Popen([sys.executable, __file__, "hub", tmp, str(port), nats_url])
        try:
            services.wait_port(port, hub, "the hub")
            tokens = json.loads((Path(tmp) / "tokens.json").read_text())
            for size in sizes:
                for kind in paths:
                    idle = idle_s if kind in ("http", "sse") and size == max(sizes) else 0
                    print(json.dumps(round_trip(kind, size, procs, port, tokens, nats_url, hub.pid, idle)), flush=True)
        finally:
            services.stop(hub, 10)


# ---- the replicas part ----------------------------------------------------------------------
MODEL = "admin/tiny"
MODELS = json.dumps({MODEL: {"backend": "upstream", "url": "http://127.0.0.1:9/v1", "model": "tiny"}})


class Fleet:
    """The running cluster, a published repo, and bob (a reader with no grant of his own)."""

    def __init__(self, up: dict) -> None:
        self.a, self.b = up["replicas"]
        self.gateways = up["gateways"]
        self.admin = {"Authorization": f"Bearer {up['admin_token']}"}
        self.client = httpx.Client(base_url=self.a, headers=self.admin, timeout=30)  # kept alive, as an admin tool
        text = b"---\nlicense: apache-2.0\n---\n# tiny\n"
        sha = hashlib.sha256(text).hexdigest()
        self.post(f"/api/models/{MODEL}/upload/{sha}", params={"size": len(text)}, content=text)
        self.post(f"/api/models/{MODEL}/commit", json={
            "files": [{"path": "README.md", "sha256": sha, "size": len(text)}], "gating": "open"})
        self.post("/api/users", json={"name": "bob"})
        self.bob = self.new_token()

    def post(self, path: str, **kw: object) -> httpx.Response:
        r = self.client.post(path, **kw)  # type: ignore[arg-type]
        assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:300]}"
        return r

    def new_token(self) -> str:
        return self.post("/api/tokens", json={"user": "bob", "scopes": ["read"]}).json()["token"]

    def targets(self, token: str) -> list[tuple[str, str, dict]]:
        """(name, URL, headers) of hub B's download and each gateway's model."""
        auth = {"Authorization": f"Bearer {token}"}
        return [("hub B", f"{self.b}/{MODEL}/resolve/main/README.md", auth),
                *((f"gateway {i}", f"{gw}/models/{MODEL}", auth) for i, gw in enumerate(self.gateways))]


async def first_time(probe: Probe, method: str, target: str, refused: bool, deadline: float,
                     poll_s: float) -> float:
    """perf_counter() of the first answer that refuses (or, refused=False, serves); a request every
    ``poll_s`` (0: back to back, which keeps a core of this 2-core machine busy polling)."""
    while time.perf_counter() < deadline:
        status, _ = await probe.ask(method, target)
        if (status >= 400) == refused:  # hub B serves with a redirect to S3
            return time.perf_counter()
        await asyncio.sleep(poll_s)
    raise TimeoutError(f"{method} {probe.host}:{probe.port}{target} did not {'refuse' if refused else 'serve'} "
                       "within the round")


async def all_agree(targets: list[tuple[str, str, dict]], refused: bool, poll_s: float = 0.005,
                    timeout: float = 10.0) -> dict[str, float]:
    deadline = time.perf_counter() + timeout
    probes = [(Probe(url, headers), "HEAD" if name == "hub B" else "GET", urllib.parse.urlsplit(url).path)
              for name, url, headers in targets]
    try:
        times = await asyncio.gather(*(first_time(probe, method, path, refused, deadline, poll_s)
                                       for probe, method, path in probes))
    finally:
        for probe, _, _ in probes:
            probe.close()
    return {name: t for (name, _, _), t in zip(targets, times, strict=True)}


def change(fleet: Fleet, kind: str) -> tuple[str, Callable[[], object], Callable[[], object]]:
    """The token the round watches, the change made through hub A, and how to undo it."""
    if kind == "takedown":
        return (fleet.bob, lambda: fleet.post(f"/api/models/{MODEL}/takedown", json={"reason": "bench"}),
                lambda: fleet.post(f"/api/models/{MODEL}/restore", json={}))
    if kind == "gating":
        def put(gating: str) -> None:
            r = fleet.client.put(f"/api/models/{MODEL}/settings", json={"gating": gating})
            assert r.status_code == 200, r.text
        return fleet.bob, lambda: put("manual"), lambda: put("open")
    token = fleet.new_token()
    sha = hashlib.sha256(token.encode()).hexdigest()
    return token, lambda: fleet.client.delete(f"/api/tokens/{sha}").raise_for_status(), \
        lambda: None


def replicas_part(database_url: str | None, rounds: int, polls_ms: list[float]) -> None:
    from aperto.cluster import cluster

    with services.postgres(database_url) as server, scratch_schema(server, "bench_") as url, \
            tempfile.TemporaryDirectory() as tmp, cluster(url, Path(tmp), MODELS) as up:
        fleet = Fleet(up)
        settle_heap()  # a full collection of this process's ~150,000 objects took 65-118 ms: the bench would time it
        # The change is made from a thread while this process's loop polls the targets. At the default
        # 5 ms switch interval that thread waits for the GIL at each step of its request when the loop
        # polls back to back, and the bench would time itself rather than hub A.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            for poll_ms in polls_ms:
                replica_rounds(fleet, rounds, poll_ms)
        finally:
            sys.setswitchinterval(interval)


def stalled_ms(kind: str) -> float | None:
    """The machine's total time (ms) in which some runnable task waited for ``kind`` (cpu or io):
    Linux's pressure stall information; None where the kernel has none."""
    try:
        first = Path(f"/proc/pressure/{kind}").read_text().split("\n", 1)[0]
    except OSError:
        return None
    return int(first.rsplit("total=", 1)[1]) / 1000


def stalls_during(make: Callable[[], object], into: list[tuple[float | None, float | None]]) -> Callable[[], None]:
    """``make``, noting the machine's CPU and IO stall (ms) while it ran."""
    def run() -> None:
        cpu, io = stalled_ms("cpu"), stalled_ms("io")
        make()
        cpu2, io2 = stalled_ms("cpu"), stalled_ms("io")
        into.append((None if cpu is None or cpu2 is None else round(cpu2 - cpu, 1),
                     None if io is None or io2 is None else round(io2 - io, 1)))
    return run


async def timed(targets: list[tuple[str, str, dict]], make: Callable[[], object],
                poll_ms: float) -> tuple[float, float, dict[str, float]]:
    """Hub B and the gateways polled from before the change: (request sent, answered, first refusals)."""
    watch = asyncio.create_task(all_agree(targets, True, poll_ms / 1000))
    await asyncio.sleep(0.05)  # every target polled at least once, still serving
    t0 = time.perf_counter()
    await asyncio.to_thread(make)
    return t0, time.perf_counter(), await watch


class GcPauses:
    """The longest garbage collection pause of this process while it is installed (ms)."""

    def __init__(self) -> None:
        self.longest, self._start = 0.0, 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.longest = max(self.longest, 1000 * (time.perf_counter() - self._start))


def replica_rounds(fleet: Fleet, rounds: int, poll_ms: float) -> None:
    lat: dict[str, list[float]] = {}
    after_answer: list[float] = []
    answers: list[float] = []
    stalls: list[tuple[float | None, float | None]] = []  # the machine's CPU and IO stall in each write
    cpu0, wall0 = time.process_time(), time.perf_counter()  # the bench's own load on the machine it times
    pauses = GcPauses()
    gc.callbacks.append(pauses)
    for i in range(rounds * 3):
        kind = ("takedown", "gating", "revocation")[i % 3]
        token, make, undo = change(fleet, kind)
        asyncio.run(all_agree(fleet.targets(token), refused=False))  # everyone serves first
        t0, answered, times = asyncio.run(timed(fleet.targets(token), stalls_during(make, stalls), poll_ms))
        for name, t in times.items():
            lat.setdefault(f"{kind}: {name.split(' ')[0]}", []).append(1000 * (t - t0))
            lat.setdefault(f"any: {name.split(' ')[0]}", []).append(1000 * (t - t0))
        answers.append(1000 * (answered - t0))
        after_answer.append(1000 * max(0.0, max(times.values()) - answered))
        undo()
    for what, values in sorted(lat.items()):
        print(json.dumps({"replicas": what, "poll_ms": poll_ms, **summary(values), "target_ms": 100}), flush=True)
    bench_cpu = 100 * (time.process_time() - cpu0) / (time.perf_counter() - wall0)
    gc.callbacks.remove(pauses)
    print(json.dumps({"replicas": "hub A's answer", "poll_ms": poll_ms, **summary(answers),
                      "bench_cpu_pct_of_a_core": round(bench_cpu, 1),
                      "bench_longest_gc_ms": round(pauses.longest, 1)}), flush=True)
    print(json.dumps({"replicas": "everyone, from hub A's answer", "poll_ms": poll_ms, **summary(after_answer)}),
          flush=True)
    # the slowest writes, with how long the machine had runnable work waiting for a core or the disk
    # meanwhile (a stall as long as the write: other processes had the CPU, not the hub's own code)
    slowest = sorted(range(len(answers)), key=answers.__getitem__)[-3:][::-1]
    cpu = [c for c, _ in stalls if c is not None]
    print(json.dumps({"replicas": "slowest answers of hub A", "poll_ms": poll_ms,
                      "cpu_stall_p50_ms": round(statistics.median(cpu), 1) if cpu else None, "writes": [
        {"round": i, "kind": ("takedown", "gating", "revocation")[i % 3], "answer_ms": round(answers[i], 1), "cpu_stall_ms": stalls[i][0], "io_stall_ms": stalls[i][1]}
        for i in slowest]}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--parts", default="feed,metadata,replicas")
    p.add_argument("--sizes", default="10,100,1000")
    p.add_argument("--paths", default="sse,http,nats", help="feed paths: sse (the stream a gateway's HTTP feed "
                   "holds), http (the long-poll), nats (the gateway's NatsFeed) and nats-core (a plain "
                   "subscription: a reference for the JetStream consumer's cost)")
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--idle-s", type=float, default=10.0)
    p.add_argument("--connections", type=int, default=64, help="wrk connections (metadata)")
    p.add_argument("--seconds", type=float, default=8, help="wrk seconds per server (metadata)")
    p.add_argument("--rounds", type=int, default=20, help="rounds of each change (replicas)")
    p.add_argument("--poll-ms", default="5,0", help="replicas: ms between one target's polls, one pass per "
                   "value (0: back to back)")
    p.add_argument("--database-url", default=None, help="PostgreSQL for the replicas (default: as the tests)")
    args = p.parse_args()
    parts = set(args.parts.split(","))
    if unknown := parts - {"feed", "metadata", "replicas"}:
        sys.exit(f"unknown --parts {sorted(unknown)}: choose from feed, metadata, replicas")
    print(f"load: {os.getloadavg()[0]:.2f} (1-min load average before the run, {os.cpu_count()} cores)")
    if "feed" in parts:
        feed_part([int(x) for x in args.sizes.split(",")], args.procs, args.idle_s, args.paths.split(","))
    if "metadata" in parts:
        sys.path.insert(0, str(Path(__file__).parent))
        from hub_metadata import measure

        measure(args.connections, args.seconds)
    if "replicas" in parts:
        replicas_part(args.database_url, args.rounds, [float(x) for x in args.poll_ms.split(",")])
    print(f"load: {os.getloadavg()[0]:.2f} (1-min load average after the run)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "hub":
        hub_main(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) > 1 and sys.argv[1] == "subscribers":
        kind, count, port, token, after, nats_url = sys.argv[2:8]
        asyncio.run(subscribers_main(kind, int(count), int(port), token, int(after), nats_url))
    else:
        main()
