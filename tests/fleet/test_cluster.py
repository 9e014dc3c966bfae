"""`aperto cluster up` in a subprocess, as an operator runs it: NATS, SeaweedFS, two hubs behind
nginx, three gateways; both replicas agree, a takedown through one holds everywhere, a replica
killed mid-request is survived, and SIGINT leaves no process behind."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

MODEL = "admin/tiny"
MODELS = json.dumps({MODEL: {"backend": "upstream", "url": "http://127.0.0.1:9/v1", "model": "tiny"}})


def descendants(pid: int) -> set[int]:
    """Every process under ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            found.add(c)
            todo.append(c)
    return found


def alive(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def eventually(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:g} s: {what}")
        time.sleep(0.2)


@pytest.fixture
def cluster(pg_url: str, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, dict[str, str]]]:
    proc = subprocess.Popen([sys.executable, "-m", "aperto", "cluster", "up", "--database-url", pg_url,
                             "--data-dir", str(tmp_path / "cluster"), "--models", MODELS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    seen: dict[str, str] = {}
    try:
        deadline = time.monotonic() + 240
        while "ready (Ctrl-C stops everything)" not in seen:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic())).rstrip("\n")
            except queue.Empty:
                pytest.fail(f"cluster up printed no 'ready' within 240 s; it said {seen}")
            key, _, value = line.partition(": ")
            seen[key if value else line] = value
        yield proc, seen
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                for pid in descendants(proc.pid):
                    os.kill(pid, signal.SIGKILL)
                proc.kill()
                proc.wait(10)


def replica_pid(proc: subprocess.Popen, replica: str) -> int:
    return next(pid for pid in descendants(proc.pid) if f"--port {replica.rsplit(':', 1)[1]}" in cmdline(pid)
                and " hub " in cmdline(pid))


def relay_leader(pg_url: str, hubs: list[int]) -> int:
    """Which hub process holds the relay's advisory lock: PostgreSQL names the client port of the
    connection holding it, /proc/net/tcp and each process's fds name the process with that socket."""
    from sqlalchemy import create_engine, text

    from aperto.hub.relay import RELAY_LOCK
    from aperto.store.db import Store

    store = Store(pg_url)
    key = store.lock_key(RELAY_LOCK) % (1 << 64)  # pg_locks shows a bigint key as two unsigned halves
    store.close()
    engine = create_engine(pg_url)
    try:
        with engine.connect() as c:
            port = c.execute(text("SELECT a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                                  "WHERE l.locktype = 'advisory' AND l.classid = :hi AND l.objid = :lo AND l.granted "
                                  "AND a.datname = current_database()"), {"hi": key >> 32, "lo": key & 0xFFFFFFFF}
                             ).scalar_one()
    finally:
        engine.dispose()
    inode_port = {f[9]: int(f[1].rsplit(":", 1)[1], 16)
                  for f in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])}
    for pid in hubs:
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:[") and inode_port.get(link[8:-1]) == port:
                    return pid
    raise AssertionError(f"no hub process holds the relay lock's connection (client port {port})")


def applied_seq(gateway: str) -> float:
    """The newest event a gateway has applied, from its /metrics."""
    text = httpx.get(gateway.removesuffix("/v1") + "/metrics").text
    return float(re.search(r"^aperto_gateway_policy_seq (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]


def frozen_objects(server: str) -> float:
    """How many objects a hub or gateway process froze at start-up, from its /metrics."""
    text = httpx.get(server + "/metrics").text
    return float(re.search(r"^aperto_\w+_gc_frozen_objects (\S+)$", text, re.M).group(1))  # type: ignore[union-attr]


def publish(hub: str, token: str, text: bytes) -> str:
    auth = {"Authorization": f"Bearer {token}"}
    sha = hashlib.sha256(text).hexdigest()
    r = httpx.post(f"{hub}/api/models/{MODEL}/upload/{sha}", params={"size": len(text)}, content=text, headers=auth)
    assert r.status_code == 200 and r.json()["complete"], r.text
    r = httpx.post(f"{hub}/api/models/{MODEL}/commit", headers=auth, timeout=30,
                   json={"files": [{"path": "README.md", "sha256": sha, "size": len(text)}], "gating": "auto"})
    assert r.status_code == 200, r.text
    return r.json()["commit"]


def test_cluster_up_two_replicas_agree_a_takedown_holds_everywhere_and_sigint_stops_all(cluster, pg_url: str) -> None:
    proc, seen = cluster
    hub, token = seen["hub (nginx)"], seen["admin token"]
    replicas = [seen["hub replica 0"], seen["hub replica 1"]]
    gateways = [seen[f"gateway {i}"] for i in range(3)]
    auth = {"Authorization": f"Bearer {token}"}
    commit = publish(hub, token, b"---\nlicense: apache-2.0\n---\n# tiny\n")
    for _ in range(6):  # round-robin: both replicas answer, the same
        r = httpx.get(f"{hub}/api/models/{MODEL}", headers=auth)
        assert r.status_code == 200 and r.json()["sha"] == commit
    download = httpx.get(f"{hub}/{MODEL}/resolve/main/README.md", headers=auth, follow_redirects=True)
    assert download.status_code == 200 and download.content.startswith(b"---")
    assert download.history and download.history[0].status_code == 302  # from S3, presigned
    for gw in gateways:  # the licensor's own grant reaches every gateway through NATS
        eventually(lambda gw=gw: httpx.get(f"{gw}/models/{MODEL}", headers=auth).status_code == 200,
                   f"{gw} serves {MODEL} to its licensor")
    for server in [*replicas, *(gw.removesuffix("/v1") for gw in gateways)]:
        assert frozen_objects(server) > 10_000  # start-up's objects: no full collection walks them (cli.settle_heap)

    r = httpx.post(f"{replicas[0]}/api/models/{MODEL}/takedown", headers=auth, json={"reason": "test"})
    assert r.status_code == 200, r.text
    refused = httpx.get(f"{replicas[1]}/{MODEL}/resolve/main/README.md", headers=auth)
    assert refused.status_code in (403, 451) and "test" in refused.text
    takedown_seq = httpx.get(f"{replicas[0]}/api/events", headers=auth).json()["last_seq"]
    for gw in gateways:  # once a gateway has applied the event, its very next request holds to it
        eventually(lambda gw=gw: applied_seq(gw) >= takedown_seq, f"{gw} applies the takedown")
        assert httpx.get(f"{gw}/models/{MODEL}", headers=auth).status_code == 404

    # the relay's replica killed mid-request: two long-polls through nginx, one on each replica
    last = httpx.get(f"{hub}/api/events", headers=auth).json()["last_seq"]
    leader = relay_leader(pg_url, [replica_pid(proc, r) for r in replicas])
    answers: list[httpx.Response] = []
    polls = [threading.Thread(target=lambda: answers.append(httpx.get(
        f"{hub}/api/events", params={"after": last, "wait": 25}, headers=auth, timeout=60))) for _ in range(2)]
    for t in polls:
        t.start()
        time.sleep(0.3)
    os.kill(leader, signal.SIGKILL)
    r = httpx.post(f"{hub}/api/models/{MODEL}/restore", headers=auth, json={})
    assert r.status_code == 200, r.text  # nginx sends it to the replica left
    for t in polls:
        t.join(60)
    assert [a.status_code for a in answers] == [200, 200]
    assert all(any(e["type"] == "restore" for e in a.json()["events"]) for a in answers)
    for gw in gateways:  # the survivor took the lock over and relayed the restore through NATS
        eventually(lambda gw=gw: httpx.get(f"{gw}/models/{MODEL}", headers=auth).status_code == 200,
                   f"{gw} serves {MODEL} again after the restore")

    children = descendants(proc.pid)
    assert len(children) >= 7  # nats, weed, nginx (and its worker), a hub, three gateways
    proc.send_signal(signal.SIGINT)
    assert proc.wait(120) == 0
    eventually(lambda: not any(alive(pid) for pid in children), "every process of the cluster is gone", 10)


def upload(url: str, token: str, data: bytes, offset: int = 0, content: object = None) -> httpx.Response:
    sha = hashlib.sha256(data).hexdigest()
    return httpx.request("POST" if offset == 0 else "PATCH", f"{url}/api/models/{MODEL}/upload/{sha}",
                         params={"size": len(data), "offset": offset}, timeout=60,
                         headers={"Authorization": f"Bearer {token}", "Content-Length": str(len(data) - offset)},
                         content=data[offset:] if content is None else content)


def received(url: str, token: str, data: bytes) -> dict:
    sha = hashlib.sha256(data).hexdigest()
    return httpx.get(f"{url}/api/models/{MODEL}/upload/{sha}", headers={"Authorization": f"Bearer {token}"}).json()


def commit(url: str, token: str, files: dict[str, bytes]) -> httpx.Response:
    return httpx.post(f"{url}/api/models/{MODEL}/commit", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                      json={"files": [{"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                                      for path, data in files.items()]})


def tree(url: str, token: str) -> list[tuple[str, str]]:
    r = httpx.get(f"{url}/api/models/{MODEL}/tree/main", headers={"Authorization": f"Bearer {token}"})
    return sorted((e["path"], e.get("oid", "")) for e in r.json())


def test_a_replica_killed_mid_upload_and_mid_download_leaves_nothing_half_written(cluster) -> None:
    """With blobs on S3 a download's bytes come from S3 by presigned URL, so it outlives the replica
    that redirected it. Two uploads, one on each replica (nginx round-robin), are in flight with a
    full part stored; one replica is SIGKILLed. Its client gets an error, not a hang; the upload is
    neither a blob nor committable; the client resumes through nginx on the replica left."""
    from aperto.store.s3 import PART

    proc, seen = cluster
    hub, token = seen["hub (nginx)"], seen["admin token"]
    replicas = [seen["hub replica 0"], seen["hub replica 1"]]
    auth = {"Authorization": f"Bearer {token}"}
    weights = os.urandom(2 * PART + 77)
    card = b"---\nlicense: apache-2.0\n---\n# tiny\n"
    for data in (card, weights):
        assert upload(hub, token, data).json()["complete"] is True
    assert commit(hub, token, {"README.md": card, "weights.bin": weights}).status_code == 200
    before = tree(hub, token)

    redirect = httpx.get(f"{hub}/{MODEL}/resolve/main/weights.bin", headers=auth)
    assert redirect.status_code == 302
    with httpx.stream("GET", redirect.headers["location"], timeout=60) as download:
        chunks = download.iter_bytes(1024 * 1024)
        got = [next(chunks)]  # the download is under way

        new = [os.urandom(PART + 4096), os.urandom(PART + 8192)]
        gate = threading.Event()
        outcome: dict[int, object] = {}

        def send(i: int) -> None:
            def body() -> Iterator[bytes]:
                yield new[i][:PART]
                gate.wait(60)
                yield new[i][PART:]
            try:
                outcome[i] = upload(hub, token, new[i], content=body()).status_code
            except httpx.TransportError as exc:
                outcome[i] = exc

        senders = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for i, t in enumerate(senders):  # one after the other: nginx sends them to different replicas
            t.start()
            eventually(lambda i=i: received(replicas[1], token, new[i])["received"] == PART,
                       f"upload {i} has a part stored")
        os.kill(replica_pid(proc, replicas[0]), signal.SIGKILL)
        gate.set()
        for t in senders:
            t.join(90)
        assert not any(t.is_alive() for t in senders), "an upload client hung on the dead replica"
        assert sorted(str(o) for o in outcome.values()).count("200") == 1, outcome  # the survivor's upload
        cut = next(i for i, o in outcome.items() if o != 200)
        assert outcome[cut] in (502, 503, 504) or isinstance(outcome[cut], httpx.TransportError), outcome

        got += list(chunks)  # the replica's death does not touch the download
    assert hashlib.sha256(b"".join(got)).hexdigest() == hashlib.sha256(weights).hexdigest()

    # nothing half-written: the cut upload is no blob, a commit naming it is refused and changes nothing
    status = received(hub, token, new[cut])
    assert status["complete"] is False and status["received"] == PART  # the stored part, not the lost tail
    refused = commit(hub, token, {"new.bin": new[cut]})
    assert refused.status_code >= 400 and refused.status_code != 500, refused.text
    assert tree(hub, token) == before
    # the client resumes on the replica left, through nginx, and commits
    assert upload(hub, token, new[cut], offset=PART).json()["complete"] is True
    assert commit(hub, token, {"new.bin": new[cut], "other.bin": new[1 - cut]}).status_code == 200
    assert {"new.bin", "other.bin"} <= {path for path, _ in tree(hub, token)}
    for _ in range(4):  # both of nginx's slots: the survivor answers every time
        assert httpx.get(f"{hub}/{MODEL}/resolve/main/new.bin", headers=auth).status_code == 302
