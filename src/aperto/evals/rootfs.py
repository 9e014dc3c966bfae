"""The worker's namespaces and the minimal file system its processes see.

``enter_namespaces`` unshares mount, network, pid, IPC and UTS namespaces (inside a
user namespace when not root). ``build_root`` then makes a new root from bind mounts
of what Python needs and nothing else: the interpreter, the standard library (without
its site-packages), the system libraries it has loaded or may dlopen, four device
nodes and an empty tmpfs on /tmp. It pivots into that root and detaches the host's, so
the host's file system is not hidden but absent: a path that is not bound does not exist.

Stdlib only, like the worker: it runs before anything else in a fresh interpreter.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
from typing import Any

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
# statvfs flags -> mount flags: a bind remount must repeat the flags the source mount has
# (in a user namespace, dropping a locked one is refused)
_KEEP = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC, os.ST_NOATIME: MS_NOATIME,
         os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom")
TMP_OPTIONS = "size=64m,nr_inodes=16k,mode=1777"  # bounds what one sample can store, shared memory included
_CAP_VERSION_3 = 0x20080522

_libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def enter_namespaces() -> dict[str, Any]:
    """Best effort, reported honestly: the namespaces this kernel let us create."""
    report: dict[str, Any] = {"namespaces": [], "mode": "root" if os.getuid() == 0 else "userns", "notes": []}
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.getuid(), os.getgid()
    try:
        if uid != 0:
            check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
            for name, text in (("setgroups", "deny"), ("uid_map", f"0 {uid} 1"), ("gid_map", f"0 {gid} 1")):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
            report["namespaces"].append("user")
        else:
            check(_libc.unshare(flags), "unshare")
        report["namespaces"] += ["mount", "net", "pid", "ipc", "uts"]
    except OSError as exc:
        report["notes"].append(f"no namespaces (neither root nor unprivileged user namespaces): {exc}")
    return report


def needed() -> tuple[list[str], list[tuple[str, str]]]:
    """What the new root holds: paths to bind (files or folders) and top-level links to recreate."""
    paths: set[str] = set()
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.base_exec_prefix)}
    outside = {os.path.realpath(p) for p in (sys.prefix, sys.exec_prefix)} - prefixes  # a venv: harness files
    for key in ("stdlib", "platstdlib"):
        stdlib = os.path.realpath(sysconfig.get_path(key))
        paths.update(os.path.join(stdlib, name) for name in os.listdir(stdlib) if name != "site-packages")
    paths.add(os.path.realpath(sys.executable))
    # the shared objects this process has mapped (libpython, libc, extension modules...): a file
    # of the Python install is bound alone, a system library brings its folder (for later dlopen)
    with open("/proc/self/maps") as f:
        mapped = {line.split(maxsplit=5)[5].strip() for line in f if len(line.split(maxsplit=5)) == 6}
    for path in mapped:
        if not path.startswith("/") or not os.path.isfile(path) or "site-packages" in path:
            continue
        if any(path.startswith(p + "/") for p in outside):
            continue
        paths.add(path if any(path.startswith(p + "/") for p in prefixes) else os.path.dirname(path))
    if os.path.isfile("/etc/ld.so.cache"):
        paths.add("/etc/ld.so.cache")  # where dlopen finds a library by name
    # a file inside a bound folder comes with it (binding it again would need a write there)
    ordered = sorted(paths)
    paths = {p for p in ordered if not any(p.startswith(q + "/") for q in ordered)}
    links = [(f"/{name}", os.readlink(f"/{name}")) for name in ("lib", "lib32", "lib64", "libx32")
             if os.path.islink(f"/{name}")]
    return sorted(paths), links


def _bind(source: str, target: str, readonly: bool = True) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    mount(source, target, None, MS_BIND | MS_REC)
    if readonly:
        kept = os.statvfs(target).f_flag
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
        mount(None, target, None, flags | sum(v for k, v in _KEEP.items() if kept & k))


def build_root() -> None:
    """Pivot into a new root made of ``needed()`` (read-only), the devices and a tmpfs /tmp."""
    paths, links = needed()
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount may propagate to the host
    # a scratch root first (as bubblewrap does), so sources stay reachable under /old even
    # when they live below the folder the scratch tmpfs covers
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700")
    os.mkdir("/tmp/old")
    os.mkdir("/tmp/new")
    os.chdir("/tmp")
    check(_libc.pivot_root(b".", b"old"), "pivot_root")
    mount("tmpfs", "/new", "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    for path in paths:
        _bind("/old" + path, "/new" + path)
    for name, target in links:
        os.symlink(target, "/new" + name)
    for device in DEVICES:
        if os.path.exists("/old" + device):
            _bind("/old" + device, "/new" + device, readonly=False)  # writes to /dev/null must work
    os.mkdir("/new/tmp", 0o755)
    fresh_tmp("/new/tmp")
    os.chdir("/new")
    check(_libc.pivot_root(b".", b"."), "pivot_root")
    check(_libc.umount2(b".", MNT_DETACH), "umount old root")  # the host's tree is gone, not covered
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def fresh_tmp(target: str = "/tmp", unmount: bool = False) -> None:
    """A new empty tmpfs: whatever the last sample left (any depth, modes, links) goes with the old one."""
    if unmount:
        check(_libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")
    mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, TMP_OPTIONS)


def remove_tree(top: str) -> None:
    """Delete a folder without recursion or following links, whatever the depth and the modes
    (the wipe when there is no mount namespace; shutil.rmtree recurses and gives up at ~1000 levels)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    try:
        if not os.path.islink(top):
            os.chmod(top, 0o700)
        fd = os.open(top, flags)
    except OSError:
        return
    names: list[str] = []  # the path below top, one name per level; only one fd is open at a time
    while True:
        os.fchmod(fd, 0o700)
        subdir = None
        with os.scandir(fd) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    subdir = entry.name
                    break
                os.unlink(entry.name, dir_fd=fd)
        if subdir is not None:
            os.chmod(subdir, 0o700, dir_fd=fd)  # a real folder (checked above): it may have been mode 0
            child = os.open(subdir, flags, dir_fd=fd)
            os.close(fd)
            fd = child
            names.append(subdir)
            continue
        if not names:
            os.close(fd)
            os.rmdir(top)
            return
        parent = os.open("..", flags, dir_fd=fd)
        os.close(fd)
        fd = parent
        os.rmdir(names.pop(), dir_fd=fd)


def drop_capabilities() -> None:
    """Clear every capability (effective, permitted, inheritable): uid 0 of a user namespace keeps no power."""
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    check(_libc.capset(header, data), "capset")


def capabilities() -> int:
    """The effective capability set of this process (0: none)."""
    header = (ctypes.c_uint32 * 2)(_CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    check(_libc.capget(header, data), "capget")
    return data[0] | data[3] << 32
