"""The gateway against llama.cpp called directly, side by side, in one go.

    .venv/bin/python bench/gateway.py [--quick]

1. Throughput: tokens/s through the gateway (a separate `aperto gateway` process, OpenAI
   SSE over loopback) vs xllamacpp called in process on the same prompts, and vs
   llama.cpp's own HTTP server (Server.listening_address); 1 and 16 streams, in interleaved
   rounds, with a bootstrap interval for the median ratio. --compare-loop adds a gateway
   that relays every chunk through its event loop (the thread-write A/B).
2. Added time to first token (p50, p99): gateway vs the same two baselines.
3. Kill latency: 32 concurrent streams, POST /admin/kill, time until each stream ends with
   model_halted, and until its last token (p50, p99); three kills, resumed between.
4. Propagation: a stand-in hub feed and two gateway replicas, each with a stream open;
   kill at the hub, time until each replica's stream ends.
Printed beside LiteLLM 1.106's figures measured on this machine (docs/design.md)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "gateway")]
from gwkit import ADMIN, ALICE, free_port, policy_doc, serve  # noqa: E402
from standin_hub import GATEWAY_TOKEN, create_standin  # noqa: E402

from aperto.config import Settings  # noqa: E402
from aperto.gateway.backends.llamacpp import LlamaCpp  # noqa: E402

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
PROMPTS = ["Write a short story about a lighthouse.", "Explain how rain forms.", "Describe a busy market.",
           "List reasons to learn Python.", "Tell me about the moon.", "Write a poem about autumn."]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


def body(i: int, max_tokens: int) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}],
            "max_tokens": max_tokens, "temperature": 0, "ignore_eos": True, "stream": True,
            "stream_options": {"include_usage": True}}


def settle() -> None:
    """Let the previous arm's llama.cpp threads stop spinning before the next arm starts.

    After a request, ggml's worker threads busy-wait for new work for a few ms (poll=50). The
    direct arm and llama.cpp's HTTP arm share one server and the gateway has its own, so without
    a pause each arm would start while the previous arm's threads still hold both cores."""
    time.sleep(0.1)


# ---- clients --------------------------------------------------------------------------------
# The throughput and first-token rows read the way the in-process arm does: as little work per
# token as possible, because the reader shares the 2 cores with llama.cpp (a reader on another
# machine would cost the server nothing). The in-process arm passes JSON bytes, the same call the
# gateway makes; each HTTP arm reads its socket in a thread and parses once, at the end.
def has_content(chunk: bytes) -> bool:
    return b'"content":"' in chunk and b'"content":""' not in chunk


def direct_stream(backend: LlamaCpp, req: dict) -> tuple[int, float]:
    """xllamacpp in process: (completion tokens, seconds to first content)."""
    t0, first, last = time.perf_counter(), [], [b""]

    def cb(chunk: bytes) -> None:
        if not first and has_content(chunk):
            first.append(time.perf_counter() - t0)
        last[0] = chunk

    backend.server.handle_chat_completions(json.dumps(req).encode(), cb)
    return json.loads(last[0])["usage"]["completion_tokens"], first[0] if first else float("nan")


def chat_request(url: str, req: dict, token: str | None) -> tuple[urllib.parse.SplitResult, bytes]:
    """The raw HTTP/1.1 request for one chat completion (the server closes the connection after it)."""
    where = urllib.parse.urlsplit(url)
    payload = json.dumps(req).encode()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    head = (f"POST {where.path}/chat/completions HTTP/1.1\r\nHost: {where.netloc}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    return where, head.encode() + payload


def http_stream(url: str, req: dict, token: str | None, wake_bytes: int = 0) -> tuple[int, float]:
    """One OpenAI SSE stream over a blocking socket: (completion tokens, seconds to first content).

    ``wake_bytes``: ask the kernel to wake this reader only once that many bytes (or the end) have
    arrived (SO_RCVLOWAT). The server still writes every token as it comes; only the reader, which
    shares the 2 cores with llama.cpp here, stops waking per token, as a client on another machine
    would cost this one nothing. The first-token rows keep it 0: they need the time of each chunk."""
    where, request = chat_request(url, req, token)
    t0, first, parts = time.perf_counter(), None, []
    with socket.create_connection((where.hostname, where.port)) as sock:
        if wake_bytes:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, wake_bytes)
        sock.sendall(request)
        while data := sock.recv(65536):
            parts.append(data)
            if first is None and has_content(data):
                first = time.perf_counter() - t0
    raw = b"".join(parts)
    if not raw.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{url}: {raw[:300]!r}")
    usage = raw.rfind(b'"completion_tokens":')
    tokens = int(raw[usage + 20:usage + 40].split(b",")[0].split(b"}")[0])
    return tokens, first if first is not None else float("nan")


def in_threads(streams: int, run) -> float:
    """``run(i)`` -> completion tokens, on ``streams`` threads at once; tokens/s over the wall time."""
    results: list[int] = [0] * streams

    def one(i: int) -> None:
        results[i] = run(i)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(results) / (time.perf_counter() - t0)


def throughput_direct(backend: LlamaCpp, streams: int, max_tokens: int) -> float:
    return in_threads(streams, lambda i: direct_stream(backend, body(i, max_tokens))[0])


def throughput_http(url: str, streams: int, max_tokens: int, token: str | None, wake_bytes: int) -> float:
    return in_threads(streams, lambda i: http_stream(url, body(i, max_tokens), token, wake_bytes)[0])


async def sse_stream(url: str, req: dict, token: str | None = None, out: dict | None = None,
                     every: bool = False) -> dict:
    """One OpenAI SSE stream read as it arrives (the kill, relay and propagation rows, which need
    many streams on one loop and the times of events), filling ``out`` as it goes: tokens (from the
    usage chunk), first and last content times, end time, error code. JSON is parsed only until the
    first content, for usage and error chunks, and for every chunk only when ``every`` (the kill
    rows, which need the time of the last token)."""
    out = out if out is not None else {}
    out.update({"tokens": 0, "first": None, "last": None, "end": None, "error": None})
    where, request = chat_request(url, req, token)
    out["t0"] = t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    writer.write(request)
    status = int((await reader.readline()).split()[1])
    chunked = False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        chunked |= line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower()
    if status != 200:
        raise RuntimeError(f"{url}: HTTP {status}: {(await reader.read())[:200]!r}")
    raw, pending = b"", b""
    while data := await reader.read(65536):  # whatever has arrived: one await, not one per chunk
        if chunked:  # take every complete chunk out of the raw bytes
            raw += data
            while (eol := raw.find(b"\r\n")) >= 0:
                size = int(raw[:eol].split(b";")[0], 16)
                if len(raw) < eol + size + 4:
                    break
                pending += raw[eol + 2:eol + 2 + size]
                raw = raw[eol + size + 4:]
        else:
            pending += data
        *events, pending = pending.split(b"\n\n")
        for event in events:
            if not event.startswith(b"data: ") or event == b"data: [DONE]":
                continue
            if every or out["first"] is None or b'"usage":{' in event or b'"error":' in event:
                chunk = json.loads(event[6:])
                if "error" in chunk:
                    out["error"] = chunk["error"].get("code")
                if chunk.get("usage"):
                    out["tokens"] = chunk["usage"]["completion_tokens"]
                if chunk.get("choices") and chunk["choices"][0].get("delta", {}).get("content"):
                    now = time.perf_counter()
                    out["first"] = out["first"] or now - t0
                    out["last"] = now
    writer.close()
    out["end"] = time.perf_counter()
    return out


# ---- processes ------------------------------------------------------------------------------
def start_gateway(tmp: Path, name: str, extra: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    data = tmp / name
    data.mkdir()
    full_env = {**os.environ, "APERTO_DATA_DIR": str(data), "APERTO_GATEWAY_PARALLEL": "32", **env}
    proc = subprocess.Popen([sys.executable, "-m", "aperto", "gateway", "--port", str(port), *extra],
                            env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError(f"gateway {name} did not start")
        time.sleep(0.1)


async def kill_latency(url: str, streams: int) -> dict:
    async with httpx.AsyncClient(timeout=120) as client:
        live: list[dict] = [{} for _ in range(streams)]
        tasks = [asyncio.create_task(sse_stream(url + "/v1", body(i, 1500), ALICE, live[i], every=True))
                 for i in range(streams)]
        # every stream must be producing tokens before the switch is pulled
        deadline = time.monotonic() + 120
        while not all(o.get("first") for o in live) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        t_kill = time.perf_counter()
        r = await client.post(url + "/admin/kill", json={"reason": "bench"}, headers={"Authorization": f"Bearer {ADMIN}"})
        r.raise_for_status()
        ack = (time.perf_counter() - t_kill) * 1000
        outs = await asyncio.gather(*tasks)
    ends = [(o["end"] - t_kill) * 1000 for o in outs]
    lasts = [max(0.0, (o["last"] - t_kill) * 1000) if o["last"] else 0.0 for o in outs]
    return {"ack": ack, "ends": ends, "lasts": lasts, "halted": sum(o["error"] == "model_halted" for o in outs),
            "streams": streams}


async def propagation(urls: list[str], hub_url: str, model: str = "fake/model", admin: str = ADMIN,
                      user: str = ALICE) -> list[float]:
    async with httpx.AsyncClient(timeout=120) as client:
        for url in urls:
            for _ in range(200):
                if (await client.get(url + "/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.05)
        live: list[dict] = [{} for _ in urls]
        tasks = [asyncio.create_task(sse_stream(url + "/v1", body(0, 100_000) | {"model": model},
                                                user, live[i])) for i, url in enumerate(urls)]
        while not all(o.get("first") for o in live):
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        t_kill = time.perf_counter()
        (await client.post(hub_url + "/api/kill", json={"repo": None, "reason": "bench"},
                           headers={"Authorization": f"Bearer {admin}"})).raise_for_status()
        outs = await asyncio.gather(*tasks)
    assert all(o["error"] == "model_halted" for o in outs), outs
    return [(o["end"] - t_kill) * 1000 for o in outs]


def real_hub(tmp: Path):
    """The real aperto hub on a temporary database, with an open repo `acme/fake` and a gateway
    token; None if the hub is not importable. (Only the bench and tests import the hub.)"""
    import hashlib

    try:
        from aperto.hub.app import create_app as hub_app
        from aperto.hub.service import Hub
    except ImportError:
        return None
    hub = Hub(Settings(data_dir=tmp / "hub", database_url=None))
    admin = hub.tokens.bootstrap_admin()
    root = hub.tokens.authenticate(admin)
    hub.tokens.create_user(root, "acme")
    hub.tokens.create_user(root, "gw")
    publisher = hub.tokens.create_token(root, "acme", ["read", "publish"])
    card = b"---\nlicense: apache-2.0\n---\n# fake\n"
    sha = hashlib.sha256(card).hexdigest()
    caller = hub.tokens.authenticate(publisher)
    hub.repos.upload(caller, "acme/fake", sha, len(card), 0, [card])
    hub.repos.commit(caller, "acme/fake", [{"path": "README.md", "sha256": sha, "size": len(card)}], "c", gating="open")
    tokens = {"admin": admin, "user": publisher, "gw": hub.tokens.create_token(root, "gw", ["gateway"])}
    return hub_app(Settings(data_dir=tmp / "hub", database_url=None), hub), tokens


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--only-propagation", action="store_true", help="skip the llama.cpp parts")
    parser.add_argument("--threads", type=int, default=2,
                        help="llama.cpp threads (1 suffers less when other jobs share the cores)")
    parser.add_argument("--rounds", type=int, default=60,
                        help="interleaved throughput rounds at 1 stream (a multiple of 3: each arm takes each "
                             "place as often); single rounds scatter by +-15%% on this machine, so many are needed")
    parser.add_argument("--rounds-16", type=int, default=6, help="interleaved throughput rounds at 16 streams")
    parser.add_argument("--max-tokens", type=int, default=96, help="tokens per stream in the throughput rows")
    parser.add_argument("--wake-bytes", type=int, default=1 << 18,
                        help="throughput rows: the HTTP readers wake only once this many bytes or the end arrived "
                             "(SO_RCVLOWAT; 0: at every chunk, the reader's cost then lands on llama.cpp's cores)")
    parser.add_argument("--compare-loop", action="store_true",
                        help="throughput rows: add a gateway with APERTO_GATEWAY_DIRECT_WRITE=0 (every chunk through "
                             "the event loop) as a fourth arm, for an A/B in the same run")
    args = parser.parse_args()
    os.environ["APERTO_N_THREADS"] = str(args.threads)  # the gateway processes and the direct baseline alike
    n_ttft, max_tokens, rounds = (10, 32, (3, 3)) if args.quick else (30, args.max_tokens,
                                                                       (args.rounds, args.rounds_16))
    tmp = Path(tempfile.mkdtemp(prefix="aperto-bench-"))
    policy = tmp / "policy.json"
    policy.write_text(json.dumps(policy_doc()))
    procs: list[subprocess.Popen] = []
    try:
        print(f"machine: {os.cpu_count()} cores; model SmolLM2-135M Q4_1, {args.threads} llama.cpp threads, "
              "32 slots")
        if not args.only_propagation:
            llama_parts(tmp, policy, procs, n_ttft, max_tokens, rounds, args.wake_bytes, args.compare_loop)
        relay_cost(tmp, policy, procs)
        propagation_parts(tmp, procs)
    finally:
        stop_all(procs)


def stop_all(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def median_ci(values: list[float], n: int = 4000) -> tuple[float, float]:
    """95% bootstrap interval of the median (seeded, so a rerun on the same figures prints the same)."""
    rng = random.Random(0)
    meds = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(n))
    return meds[int(0.025 * n)], meds[int(0.975 * n) - 1]


def llama_parts(tmp: Path, policy: Path, procs: list, n_ttft: int, max_tokens: int,
                rounds: tuple[int, int], wake_bytes: int, compare_loop: bool, kills: int = 3) -> None:
    direct = LlamaCpp({"parallel": "32"}, Settings(data_dir=tmp, gateway_parallel=32))  # reads APERTO_N_THREADS
    llama_http = direct.server.listening_address + "/v1"
    gw, gw_url = start_gateway(tmp, "gw", ["--policy-file", str(policy)], {})
    procs.append(gw)
    direct_stream(direct, body(0, 8))  # warm both
    http_stream(gw_url + "/v1", body(0, 8), ALICE)
    loop_url, loop_gw = None, None
    if compare_loop:  # a second gateway that relays every chunk through its event loop
        loop_gw, loop_url = start_gateway(tmp, "gw-loop", ["--policy-file", str(policy)],
                                          {"APERTO_GATEWAY_DIRECT_WRITE": "0"})
        procs.append(loop_gw)
        http_stream(loop_url + "/v1", body(0, 8), ALICE)

    # Load drifts, so measure in interleaved rounds (direct, llama http, gateway, in rotating
    # order so no arm always goes first or last) and take medians of the per-round ratios, with a
    # bootstrap interval: one round's ratio scatters by +-15% here, so one median alone says little.
    print(f"\n## throughput (completion tokens/s, ignore_eos, max_tokens={max_tokens} per stream, "
          f"interleaved rounds: {rounds[0]} at 1 stream, {rounds[1]} at 16; HTTP readers wake "
          f"{'per chunk' if not wake_bytes else f'per {wake_bytes} bytes or at the end'})")
    print(f"{'streams':>8} {'xllamacpp':>10} {'llama http':>11} {'gateway':>8} {'gw/direct [95% CI]':>22} "
          f"{'gw/http':>8} {'mean gw/direct':>15}")
    per_round = []
    for streams, n_rounds in zip((1, 16), rounds, strict=True):
        d, h, g, lo = [], [], [], []
        arms = [(d, lambda s=streams, n=max_tokens: throughput_direct(direct, s, n)),
                (h, lambda s=streams, n=max_tokens: throughput_http(llama_http, s, n, direct.local_key, wake_bytes)),
                (g, lambda s=streams, n=max_tokens: throughput_http(gw_url + "/v1", s, n, ALICE, wake_bytes))]
        if loop_url:
            arms.append((lo, lambda s=streams, n=max_tokens: throughput_http(loop_url + "/v1", s, n, ALICE,
                                                                             wake_bytes)))
        for r in range(n_rounds):
            k = r % len(arms)
            for results, arm in arms[k:] + arms[:k]:  # each arm takes each place in turn
                settle()
                results.append(arm())
        ratios = [gi / di for gi, di in zip(g, d, strict=True)]
        low, high = median_ci(ratios)
        ratio_h = statistics.median(gi / hi for gi, hi in zip(g, h, strict=True))
        print(f"{streams:>8} {statistics.median(d):>10.1f} {statistics.median(h):>11.1f} "
              f"{statistics.median(g):>8.1f} {statistics.median(ratios):>7.3f} [{low:.3f}, {high:.3f}] "
              f"{ratio_h:>8.3f} {statistics.fmean(ratios):>15.3f}")
        per_round.append(f"{streams} stream(s), gw/direct per round: " + " ".join(f"{x:.3f}" for x in ratios))
        if loop_url:
            loop_ratios = [li / di for li, di in zip(lo, d, strict=True)]
            paired = [gi / li for gi, li in zip(g, lo, strict=True)]
            print(f"{'':>8} the gateway relaying through its loop: {statistics.median(lo):.1f} tok/s, gw-loop/direct "
                  f"{statistics.median(loop_ratios):.3f} [{median_ci(loop_ratios)[0]:.3f}, "
                  f"{median_ci(loop_ratios)[1]:.3f}]; thread write / loop, paired: {statistics.median(paired):.3f} "
                  f"[{median_ci(paired)[0]:.3f}, {median_ci(paired)[1]:.3f}]")
    print("\n".join(per_round))
    if loop_gw is not None:
        loop_gw.terminate()
    ready = httpx.get(gw_url + "/readyz").json()
    print(f"chunks the gateway's llama.cpp threads wrote to the sockets themselves: {ready['direct_chunks']} "
          f"(the throughput rows streamed {(rounds[0] + rounds[1] * 16) * max_tokens} tokens through it, each stream "
          "a few chunks more: role, finish, usage)")
    print("LiteLLM 1.106 (design.md): 0.91 of direct at 1 stream, 0.32 at 16")

    # the same prompt every time, so every server answers from its prompt cache: what remains is
    # one decode step plus the path to the client, which is what the gateway could add to
    print(f"\n## time to first token (ms, {n_ttft} requests each, interleaved, same cached prompt)")
    direct_ttft, http_ttft, gw_ttft = [], [], []
    for _ in range(n_ttft + 2):
        settle()
        direct_ttft.append(direct_stream(direct, body(0, 2))[1] * 1000)
        settle()
        http_ttft.append(http_stream(llama_http, body(0, 2), direct.local_key)[1] * 1000)
        settle()
        gw_ttft.append(http_stream(gw_url + "/v1", body(0, 2), ALICE)[1] * 1000)
    direct_ttft, http_ttft, gw_ttft = direct_ttft[2:], http_ttft[2:], gw_ttft[2:]  # the first two warm the caches
    for name, xs in (("xllamacpp in process", direct_ttft), ("llama.cpp http", http_ttft),
                     ("gateway", gw_ttft)):
        print(f"{name:>22}: p50 {pct(xs, 50):6.2f}  p99 {pct(xs, 99):6.2f}")
    added_d = [g - d for g, d in zip(gw_ttft, direct_ttft, strict=True)]
    added_h = [g - h for g, h in zip(gw_ttft, http_ttft, strict=True)]
    print(f"added by the gateway (paired differences) vs in process: p50 {pct(added_d, 50):+.2f} ms, "
          f"p99 {pct(added_d, 99):+.2f}; vs llama.cpp http: p50 {pct(added_h, 50):+.2f} ms, "
          f"p99 {pct(added_h, 99):+.2f}")
    print("LiteLLM 1.106: +19..22 ms p50, +31..40 ms p99")
    direct.close()

    print(f"\n## kill latency, 32 concurrent streams, {kills} kills with a resume between (ms from POST /admin/kill)")
    ends, lasts = [], []
    for n in range(kills):
        k = asyncio.run(kill_latency(gw_url, 32))
        ends += k["ends"]
        lasts += k["lasts"]
        print(f"kill {n + 1}: {k['halted']}/{k['streams']} streams ended with model_halted; the call returned "
              f"after {k['ack']:.1f} ms; streams ended p50 {pct(k['ends'], 50):.1f}, max {max(k['ends']):.1f}")
        httpx.post(gw_url + "/admin/resume", json={}, headers={"Authorization": f"Bearer {ADMIN}"}).raise_for_status()
        settle()
    print(f"all kills, stream end (error event + [DONE] received): p50 {pct(ends, 50):.1f}  p99 {pct(ends, 99):.1f}"
          f"  max {max(ends):.1f}")
    print(f"all kills, last token after the kill call:             p50 {pct(lasts, 50):.1f}  "
          f"p99 {pct(lasts, 99):.1f}")
    print("LiteLLM 1.106: blocking a key or model never cuts an in-flight stream")
    gw.terminate()
    gw.wait(10)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def relay_cost(tmp: Path, policy: Path, procs: list) -> None:
    """The gateway's own CPU per relayed chunk, from a zero-delay fake model: this figure does
    not depend on how busy the shared machine is (LiteLLM: about 1 ms per chunk)."""
    env = {"APERTO_GATEWAY_MODEL": "",
           "APERTO_GATEWAY_MODELS": json.dumps({"fake/model": {"backend": "fake", "delay": "0"}})}
    proc, url = start_gateway(tmp, "relay", ["--policy-file", str(policy)], env)
    procs.append(proc)
    print("\n## relay cost: gateway CPU per streamed chunk (fake model, no generation cost)")
    for streams, tokens in ((1, 3000), (16, 500)):
        req = body(0, tokens) | {"model": "fake/model"}
        before = cpu_seconds(proc.pid)
        t0 = time.perf_counter()

        async def run(req=req, streams=streams) -> list[dict]:
            return await asyncio.gather(*(sse_stream(url + "/v1", req, ALICE) for _ in range(streams)))

        outs = asyncio.run(run())
        wall = time.perf_counter() - t0
        chunks = sum(o["tokens"] for o in outs)
        used = cpu_seconds(proc.pid) - before
        print(f"{streams:>3} streams: {chunks} chunks, {used * 1e6 / chunks:.0f} us CPU per chunk, "
              f"{chunks / wall:.0f} chunks/s wall (bench client in the same 2 cores)")
    proc.terminate()
    proc.wait(10)


def quiet_uvicorn() -> None:
    # the hubs' long-polls from the stopped replicas are cut when the hub exits: expected, not news
    logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)


def propagation_parts(tmp: Path, procs: list) -> None:
    print("\n## propagation: kill at the hub (stand-in feed) -> streams end on two replicas (ms)")
    with serve(create_standin(policy_doc(), ADMIN)) as hub:
        quiet_uvicorn()
        env = {"APERTO_TOKEN": GATEWAY_TOKEN, "APERTO_HUB_URL": hub.url, "APERTO_GATEWAY_MODEL": "",
               "APERTO_GATEWAY_MODELS": json.dumps({"fake/model": {"backend": "fake", "delay": "0.02"}})}
        urls = []
        for name in ("replica-a", "replica-b"):
            proc, url = start_gateway(tmp, name, [], env)
            procs.append(proc)
            urls.append(url)
        times = asyncio.run(propagation(urls, hub.url))
        stop_all(procs)  # before the hub goes: their open long-polls would be cut mid-request
        for name, t in zip(("replica a", "replica b"), times, strict=True):
            print(f"{name}: {t:.1f}")
    found = real_hub(tmp)
    if found is not None:
        print("\n## propagation: kill at the real aperto hub -> streams end on two replicas (ms)")
        app, tokens = found
        with serve(app) as hub:
            quiet_uvicorn()
            env = {"APERTO_TOKEN": tokens["gw"], "APERTO_HUB_URL": hub.url, "APERTO_GATEWAY_MODEL": "",
                   "APERTO_GATEWAY_MODELS": json.dumps({"acme/fake": {"backend": "fake", "delay": "0.02"}})}
            urls = []
            for name in ("hub-replica-a", "hub-replica-b"):
                proc, url = start_gateway(tmp, name, [], env)
                procs.append(proc)
                urls.append(url)
            times = asyncio.run(propagation(urls, hub.url, "acme/fake", tokens["admin"], tokens["user"]))
            stop_all(procs)
            for name, t in zip(("replica a", "replica b"), times, strict=True):
                print(f"{name}: {t:.1f}")
    print("LiteLLM 1.106: a second instance kept serving a blocked key for about 56 s (its key cache)")


if __name__ == "__main__":
    main()
