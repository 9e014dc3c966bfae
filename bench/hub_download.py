"""Download speed of one big file over loopback: the hub alone (uvicorn streaming
from disk), the hub authorising + nginx serving (X-Accel-Redirect), and nginx
serving the same file directly. Same machine, same run; curl is the client.

    .venv/bin/python bench/hub_download.py [--size-mb 1024] [--runs 3] [--baseline-src DIR]

``--baseline-src`` also runs the hub from another source tree (e.g. ``git archive`` of an
earlier commit, its ``src/`` under DIR) on its own data, interleaved in the same runs: a
before/after comparison that the shared machine's drift hits alike.

Prints GB/s for each and the ratios to nginx, and the hub process's resident memory
while it serves the file (sampled every 20 ms): it must stay flat, not grow with the file.
The hub alone hashes every download while it streams it; the X-Accel-Redirect path hands
nginx only blobs verified since their last change (the upload verified this one), so it
also prints what one full verification costs: the price of the first range or nginx
hand-off of a blob that is not known good.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from aperto.config import Settings
from aperto.hub.service import Hub
from aperto.store.blobs import BlobStore

CHUNK = 8 * 1024 * 1024
NGINX_CONF = """
daemon off;
user {user};
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path {root}/nginx-tmp;
  proxy_temp_path {root}/nginx-tmp;
  fastcgi_temp_path {root}/nginx-tmp;
  uwsgi_temp_path {root}/nginx-tmp;
  scgi_temp_path {root}/nginx-tmp;
  server {{  # nginx alone: the baseline
    listen 127.0.0.1:{direct};
    location /blobs/ {{ alias {blobs}/; }}
  }}
  server {{  # nginx in front of the hub: the hub authorises, nginx sends the bytes
    listen 127.0.0.1:{front};
    location /internal-blobs/ {{ internal; alias {blobs}/; }}
    location / {{ proxy_pass http://127.0.0.1:{hub_accel}; proxy_buffering off; }}
  }}
{baseline}}}
"""
BASELINE_SERVER = """  server {{  # the same, in front of the baseline hub
    listen 127.0.0.1:{front};
    location /internal-blobs/ {{ internal; alias {blobs}/; }}
    location / {{ proxy_pass http://127.0.0.1:{hub_accel}; proxy_buffering off; }}
  }}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


class PeakRss:
    """Samples a process's resident memory in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, rss_bytes(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def curl_speed(url: str, token: str | None) -> float:
    """Bytes per second as curl measures it (body only, to /dev/null)."""
    cmd = ["curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download} %{http_code}", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    if out[1] != "200":
        raise RuntimeError(f"{url} answered {out[1]}")
    return float(out[0])


def prepare(data_dir: Path, size_mb: int) -> tuple[str, str]:
    """A hub data dir holding one ``size_mb`` file in a gated repo; returns (admin token, sha256)."""
    hub = Hub(Settings(data_dir=data_dir))
    admin = hub.tokens.bootstrap_admin()
    caller = hub.tokens.authenticate(admin)
    size = size_mb * 1024 * 1024
    block = os.urandom(CHUNK)
    digest = hashlib.sha256()
    for _ in range(size // CHUNK):
        digest.update(block)
    sha = digest.hexdigest()
    hub.repos.upload(caller, "bench/big", sha, size, 0, (block for _ in range(size // CHUNK)))
    hub.repos.commit(caller, "bench/big", [{"path": "big.bin", "sha256": sha, "size": size}], "bench", gating="manual")
    hub.close()
    return admin, sha


def start_hubs(data_dir: Path, env: dict[str, str], procs: list[subprocess.Popen]) -> tuple[int, int]:
    """``aperto hub`` alone and with X-Accel-Redirect on the same data; returns their ports."""
    aperto = str(Path(sys.executable).with_name("aperto"))
    plain, accel = free_port(), free_port()
    procs.append(subprocess.Popen([aperto, "hub", "--data-dir", str(data_dir), "--port", str(plain)], env=env,
                                  stdout=subprocess.DEVNULL))
    procs.append(subprocess.Popen([aperto, "hub", "--data-dir", str(data_dir), "--port", str(accel),
                                   "--accel-redirect", "/internal-blobs/"], env=env, stdout=subprocess.DEVNULL))
    return plain, accel


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline-src", type=Path, help="Also run the hub from this source tree's src/.")
    ap.add_argument("--prepare", type=Path, help=argparse.SUPPRESS)  # the baseline's data, made by its own code
    args = ap.parse_args()
    if args.prepare:
        print(json.dumps(prepare(args.prepare, args.size_mb)))
        return
    root = Path(tempfile.mkdtemp(prefix="aperto-bench-"))
    procs: list[subprocess.Popen] = []
    try:
        data_dir = root / "data"
        admin, sha = prepare(data_dir, args.size_mb)
        size = args.size_mb * 1024 * 1024
        blobs = BlobStore(data_dir)
        blobs.path(sha).touch()  # no longer known good: time the full verification that follows
        started = time.perf_counter()
        assert blobs.verify(sha) is None
        verify_s = time.perf_counter() - started

        env = {**os.environ, "APERTO_DATABASE_URL": ""}
        hub_plain, hub_accel = start_hubs(data_dir, env, procs)
        direct, front = free_port(), free_port()
        baseline = ""
        if args.baseline_src:
            base_env = {**env, "PYTHONPATH": str(args.baseline_src.resolve() / "src")}
            base_admin, base_sha = json.loads(subprocess.run(
                [sys.executable, __file__, "--prepare", str(root / "base"), "--size-mb", str(args.size_mb)],
                env=base_env, check=True, capture_output=True, text=True).stdout)
            base_plain, base_accel = start_hubs(root / "base", base_env, procs)
            base_front = free_port()
            baseline = BASELINE_SERVER.format(front=base_front, hub_accel=base_accel, blobs=root / "base" / "blobs")
        (root / "nginx-tmp").mkdir()
        conf = root / "nginx.conf"
        # the data dir is owner-only: nginx's workers run as the hub's user to read the blobs
        conf.write_text(NGINX_CONF.format(user=getpass.getuser(), root=root, direct=direct, front=front,
                                          hub_accel=hub_accel, blobs=data_dir / "blobs", baseline=baseline))
        procs.append(subprocess.Popen(["nginx", "-c", str(conf), "-p", str(root)]))
        for port in (hub_plain, hub_accel, direct, front):
            wait_port(port)

        urls = {
            "nginx direct (no auth)": (f"http://127.0.0.1:{direct}/blobs/{sha[:2]}/{sha}", None),
            "hub alone (uvicorn, authorised)": (f"http://127.0.0.1:{hub_plain}/bench/big/resolve/main/big.bin", admin),
            "hub + nginx X-Accel-Redirect": (f"http://127.0.0.1:{front}/bench/big/resolve/main/big.bin", admin),
        }
        if args.baseline_src:
            for port in (base_plain, base_accel, base_front):
                wait_port(port)
            urls["baseline hub alone"] = (f"http://127.0.0.1:{base_plain}/bench/big/resolve/main/big.bin", base_admin)
            urls["baseline hub + nginx"] = (f"http://127.0.0.1:{base_front}/bench/big/resolve/main/big.bin",
                                            base_admin)
            curl_speed(urls["baseline hub alone"][0], base_admin)  # its file into the page cache too
        curl_speed(urls["nginx direct (no auth)"][0], None)  # warm the page cache
        results: dict[str, list[float]] = {k: [] for k in urls}
        hub_pid = procs[0].pid
        rss_before = rss_bytes(hub_pid)
        with PeakRss(hub_pid) as hub_rss:
            for _ in range(args.runs):  # interleaved, so drift hits all three alike
                for name, (url, token) in urls.items():
                    results[name].append(curl_speed(url, token))
        base = statistics.median(results["nginx direct (no auth)"])
        print(f"file: {args.size_mb} MiB, runs: {args.runs}, client: curl, loopback, {os.cpu_count()} cores")
        for name, speeds in results.items():
            med = statistics.median(speeds)
            print(f"{name:34s} median {med / 1e9:5.2f} GB/s  (runs: {', '.join(f'{s / 1e9:.2f}' for s in speeds)})"
                  f"  ratio to nginx {med / base:5.2f}")
        print(f"one full verification of the blob (page cache): {verify_s:.2f} s, {size / verify_s / 1e9:.2f} GB/s")
        growth = hub_rss.peak - rss_before
        print(f"hub alone, resident memory: {rss_before / 2**20:.0f} MiB before, peak {hub_rss.peak / 2**20:.0f} MiB"
              f" while serving {args.runs} x {args.size_mb} MiB (growth {growth / 2**20:.1f} MiB ="
              f" {100 * growth / size:.2f}% of the file)")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
