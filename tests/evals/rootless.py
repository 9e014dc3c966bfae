"""Run a command as an unprivileged user, for the sandbox's rootless tests (``scripts/test-rootless``).

    python tests/evals/rootless.py COMMAND...

As root: create the user if it is missing (``useradd``), enter a private mount namespace,
and make the Python install, the venv and the checkout reachable when they sit under a
folder others cannot enter (pyenv under a 0700 /root): that folder is covered by a tmpfs in
which only those paths are bound back. Then drop to the user with ``setpriv``. Nothing of
this is seen outside the namespace. Not root: run the command as is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from aperto.evals import rootfs  # noqa: E402

USER = "aperto-sandbox"


def ensure_user() -> None:
    if subprocess.run(["id", "-u", USER], capture_output=True).returncode != 0:
        subprocess.run(["/usr/sbin/useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True)


def expose(paths: list[str]) -> None:
    """Cover each closed ancestor of ``paths`` with a tmpfs and bind the paths back into it."""
    covers: dict[str, list[str]] = {}
    for path in sorted(set(paths)):
        parts = path.split("/")
        for i in range(2, len(parts) + 1):
            ancestor = "/".join(parts[:i])
            if not os.stat(ancestor).st_mode & 0o001:
                covers.setdefault(ancestor, []).append(path)
                break
    stage = tempfile.mkdtemp(prefix="rootless-stage-")
    for cover, inside in covers.items():
        staged = []
        for path in inside:
            os.makedirs(f"{stage}/{len(staged)}")
            rootfs.mount(path, f"{stage}/{len(staged)}", None, rootfs.MS_BIND | rootfs.MS_REC)
            staged.append(f"{stage}/{len(staged)}")
        rootfs.mount("tmpfs", cover, "tmpfs", rootfs.MS_NOSUID | rootfs.MS_NODEV, "size=1m,mode=0755")
        for path, source in zip(inside, staged, strict=True):
            os.makedirs(path, exist_ok=True)
            rootfs.mount(source, path, None, rootfs.MS_BIND | rootfs.MS_REC)


def main(command: list[str]) -> None:
    if os.getuid() != 0:
        os.execvp(command[0], command)
    ensure_user()
    rootfs.check(rootfs._libc.unshare(rootfs.CLONE_NEWNS), "unshare")
    rootfs.mount(None, "/", None, rootfs.MS_REC | rootfs.MS_PRIVATE)
    expose([os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, ROOT)])
    os.execvp("setpriv", ["setpriv", f"--reuid={USER}", f"--regid={USER}", "--clear-groups", "--", *command])


if __name__ == "__main__":
    main(sys.argv[1:])
