"""Upload speed of one big file with the real huggingface_hub client (``HfApi.upload_file``:
preupload, Git LFS batch, one PUT, commit) against an `aperto hub` on loopback, beside
writing the same file to disk (copy + fsync) on the same machine, interleaved run by run.

    .venv/bin/python bench/hub_upload.py [--size-mb 1024] [--runs 3]

The hub runs in its own process (uvicorn, SQLite). Each upload goes to a new repo, so nothing
is deduplicated; the hub hashes the bytes it received before storing them, and the client
hashes the file before it asks the batch endpoint, both as in real use. Prints seconds and
GB/s for each, and the ratio upload/disk.
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
    args = parser.parse_args()
    os.environ["HF_HUB_DISABLE_XET"] = "1"  # the hub speaks Git LFS, not Xet
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    from huggingface_hub import HfApi

    size = args.size_mb * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="aperto-upload-") as tmp:
        root = Path(tmp)
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
            make_file(src, size)
            disk, upload = [], []
            for run in range(args.runs):
                with open(src, "r+b") as f:  # new bytes each run: the hub would not take known ones twice
                    f.write(os.urandom(16))
                disk.append(disk_write(src, root / "copy.bin"))
                repo = f"bench/m{run}"
                api.create_repo(repo)
                start = time.perf_counter()
                api.upload_file(path_or_fileobj=str(src), path_in_repo="weights.bin", repo_id=repo)
                upload.append(time.perf_counter() - start)
                print(f"run {run + 1}: disk {disk[-1]:.2f} s, upload_file {upload[-1]:.2f} s", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    gb = size / 1e9
    d, u = statistics.median(disk), statistics.median(upload)
    print(f"file: {args.size_mb} MiB; median of {args.runs}")
    print(f"write to disk (copy + fsync): {d:.2f} s  {gb / d:.2f} GB/s")
    print(f"HfApi.upload_file to the hub: {u:.2f} s  {gb / u:.2f} GB/s")
    print(f"ratio upload / disk: {u / d:.2f}x the time")


if __name__ == "__main__":
    main()
