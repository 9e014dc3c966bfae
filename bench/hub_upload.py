"""Upload speed of one big file with the real huggingface_hub client (``HfApi.upload_file``)
against an `aperto hub` on loopback, beside writing the same file to disk (copy + fsync) on
the same machine, interleaved run by run.

    .venv/bin/python bench/hub_upload.py [--size-mb 1024] [--runs 3] [--via xet|lfs]

``--via xet`` (the default, what a client with hf_xet does): preupload, the Xet write token,
xorbs, a shard the hub rebuilds the file from, commit. ``--via lfs`` (HF_HUB_DISABLE_XET=1):
preupload, Git LFS batch, one PUT, commit. The hub runs in its own process (uvicorn, SQLite).
Each run uploads a file of new random bytes to a new repo, so nothing is deduplicated; the hub
hashes what it received before storing it, as in real use. Prints seconds and GB/s for each,
and the ratio upload/disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHUNK = 8 * 1024 * 1024
SERVER = """
import sys, uvicorn
from pathlib import Path
from aperto.config import Settings
from aperto.hub.app import create_app
from aperto.hub.service import Hub
settings = Settings(data_dir=Path(sys.argv[1]), database_url=None)
hub = Hub(settings)
root = hub.tokens.authenticate(hub.tokens.bootstrap_admin())
hub.tokens.create_user(root, "bench")
Path(sys.argv[1], "token").write_text(hub.tokens.create_token(root, "bench", ["read", "publish"]))
uvicorn.run(create_app(settings, hub), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def make_file(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(CHUNK, left)
            f.write(os.urandom(n))
            left -= n


def disk_write(src: Path, dst: Path) -> float:
    start = time.perf_counter()
    with open(src, "rb") as a, open(dst, "wb") as b:
        shutil.copyfileobj(a, b, CHUNK)
        b.flush()
        os.fsync(b.fileno())
    took = time.perf_counter() - start
    dst.unlink()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--via", choices=["xet", "lfs"], default="xet")
    args = parser.parse_args()
    os.environ["HF_HUB_DISABLE_XET"] = "1" if args.via == "lfs" else ""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="aperto-upload-") as tmp:
        root = Path(tmp)
        os.environ["HF_XET_CACHE"] = str(root / "xet-cache")  # before the client loads: no earlier chunks
        from huggingface_hub import HfApi

        port = 18000 + os.getpid() % 1000
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(root / "hub"), str(port)])
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    httpx.get(f"{url}/api/models", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            api = HfApi(endpoint=url, token=(root / "hub" / "token").read_text())
            src = root / "weights.bin"
            disk, upload = [], []
            for run in range(args.runs):
                make_file(src, size)  # new bytes each run: neither side may deduplicate
                disk.append(disk_write(src, root / "copy.bin"))
                repo = f"bench/m{run}"
                api.create_repo(repo)
                start = time.perf_counter()
                api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id=repo)
                upload.append(time.perf_counter() - start)
                print(f"run {run + 1}: disk {disk[-1]:.2f} s, upload_file via {args.via} {upload[-1]:.2f} s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    gb = size / 1e9
    d, u = statistics.median(disk), statistics.median(upload)
    print(f"file: {args.size_mb} MiB; median of {args.runs}")
    print(f"write to disk (copy + fsync): {d:.2f} s  {gb / d:.2f} GB/s")
    print(f"HfApi.upload_file to the hub via {args.via}: {u:.2f} s  {gb / u:.2f} GB/s")
    print(f"ratio upload / disk: {u / d:.2f}x the time")


if __name__ == "__main__":
    main()
