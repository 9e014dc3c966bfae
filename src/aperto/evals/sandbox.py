"""The harness side of the sandbox: a pool of warm workers (see worker.py for the design).

``Sandbox.run(job)`` is thread-safe; each worker serves one sample at a time. A
worker that dies (or whose zygote dies) is replaced and its sample retried once on
a fresh one; a harness fault marks only its own sample. Workers get a scrubbed
environment, so nothing the harness knows (tokens, keys) is ever in reach of the
code under test.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any

from aperto.errors import Unavailable
from aperto.evals import wire

VERDICTS = ("passed", "failed", "timeout", "error")
WORKER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass(frozen=True)
class Job:
    """One sample to execute: the problem's pieces plus the completion and its time limit."""

    task_id: str
    prompt: str
    completion: str
    test: str
    entry_point: str
    timeout: float = 3.0

    def to_dict(self) -> dict[str, Any]:
        return {"task_id": self.task_id, "prompt": self.prompt, "completion": self.completion,
                "test": self.test, "entry_point": self.entry_point, "timeout": self.timeout}


@dataclass(frozen=True)
class Outcome:
    verdict: str  # passed | failed | timeout | error
    error: str | None
    detail: str
    duration: float

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"


class _Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.cpu: int | None = config.get("cpu")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "aperto.evals.worker", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=WORKER_ENV, close_fds=True, cwd="/",
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd, self.rfd = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        try:
            hello = wire.recv(self.rfd, time.monotonic() + 30)
        except (EOFError, wire.WireTimeout) as exc:
            self.close()
            raise Unavailable("the sandbox worker did not start", hint="run with APERTO_DEBUG or check python -m aperto.evals.worker") from exc
        self.isolation: dict[str, Any] = hello["isolation"]

    def run(self, job: Job) -> tuple[Outcome, bool]:
        """The outcome, and whether this worker must be replaced after it."""
        wire.send(self.wfd, job.to_dict())
        # the judge enforces job.timeout; this outer limit only catches a wedged worker
        reply = wire.recv(self.rfd, time.monotonic() + job.timeout + 10)
        outcome = Outcome(reply["verdict"], reply.get("error"), reply.get("detail", ""), reply["duration"])
        return outcome, bool(reply.get("replace"))

    def usage(self) -> dict[str, float]:
        wire.send(self.wfd, {"op": "usage"})
        return dict(wire.recv(self.rfd, time.monotonic() + 30))

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream:
                stream.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Sandbox:
    """A pool of ``workers`` warm sandbox workers. Use as a context manager."""

    def __init__(self, workers: int | None = None, memory_mb: int = 1024, strict: bool = False,
                 pin: bool = True) -> None:
        self.cpus = sorted(os.sched_getaffinity(0))
        self.size = workers or max(1, len(self.cpus))
        self.config = {"namespaces": True, "drop_uid": True, "seccomp": True, "memory_mb": memory_mb,
                       "fsize_mb": 16}
        # each worker (judge, zygote and children) stays on one CPU: the judge and the child
        # hand the turn to each other on every candidate call, and a hand-off on the same CPU
        # costs less than a cross-CPU wake-up (measured +12-17% samples/s on 2 cores)
        self.pin = pin
        self.strict = strict
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._lock = threading.Lock()
        self.isolation: dict[str, Any] = {}

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        for _ in range(self.size):
            self._add()
        self.isolation = describe(self._all[0].isolation)
        if self.isolation["level"] != "strong":
            message = f"sandbox isolation is {self.isolation['level']}: {self.isolation['summary']}"
            if self.strict:
                self.close()
                raise Unavailable(message, hint="run as root or enable unprivileged user namespaces "
                                  "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)")
            warnings.warn(message, RuntimeWarning, stacklevel=2)

    def _add(self) -> None:
        with self._lock:  # the least used CPU (a replaced worker takes its predecessor's)
            used = [w.cpu for w in self._all]
            cpu = min(self.cpus, key=used.count) if self.pin else None
        worker = _Worker({**self.config, "cpu": cpu})
        with self._lock:
            self._all.append(worker)
        self._idle.put(worker)

    def run(self, job: Job) -> Outcome:
        lost = ""
        for _ in range(2):  # a sample whose worker died is retried once, on a fresh worker
            worker = self._idle.get()
            try:
                outcome, replace = worker.run(job)
            except (EOFError, OSError, wire.WireTimeout, KeyError, ValueError, TypeError) as exc:
                self._replace(worker)
                lost = type(exc).__name__
                continue
            if replace:
                self._replace(worker)
            else:
                self._idle.put(worker)
            return outcome
        return Outcome("error", "WorkerLost", lost, 0.0)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.remove(worker)
        worker.proc.kill()
        worker.close()
        self._add()

    def usage(self) -> dict[str, float]:
        """CPU seconds of the current workers by role (judge, zygote, child); call between runs.
        A replaced worker's share is lost, so compare it with a run that replaced none."""
        total = {"judge": 0.0, "zygote": 0.0, "child": 0.0}
        workers = [self._idle.get() for _ in range(self.size)]
        try:
            for worker in workers:
                for role, seconds in worker.usage().items():
                    total[role] += seconds
        finally:
            for worker in workers:
                self._idle.put(worker)
        return total

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.close()


# what "strong" promises, each with the fact in the raw report that shows it
GUARANTEES = (
    ("namespaces(mount,net,pid,ipc,uts)", lambda raw: {"mount", "net", "pid", "ipc", "uts"} <= set(raw["namespaces"])),
    ("minimal read-only root", lambda raw: raw.get("minimal_root")),
    ("fresh tmpfs per sample", lambda raw: raw.get("fresh_tmp")),
    ("seccomp allowlist (no IPC, exec, fork, signals, sockets)", lambda raw: raw.get("seccomp") == "allowlist"),
    # root: the child is uid 65534; otherwise uid 0 of a user namespace (the host's unprivileged
    # uid, so RLIMIT_NPROC bites) with no capabilities
    ("unprivileged child without capabilities",
     lambda raw: raw.get("caps") == 0 and (raw.get("uid") not in (None, 0) or "user" in raw["namespaces"])),
)


def describe(raw: dict[str, Any]) -> dict[str, Any]:
    """Name the isolation actually achieved, so a summary never overstates it. The summary is the
    same running as root or through a user namespace; ``raw["mode"]`` says which."""
    raw.setdefault("namespaces", [])
    met = [name for name, holds in GUARANTEES if holds(raw)]
    missing = [name for name, holds in GUARANTEES if not holds(raw)]
    level = "strong" if not missing else ("partial" if raw["namespaces"] or raw.get("seccomp") else "weak")
    summary = ", ".join([*met, "rlimits(cpu,as,nproc=0,fsize,nofile)"])
    if missing:
        summary += "; missing: " + ", ".join(missing)
    return {"level": level, "summary": summary, "missing": missing, "notes": raw.get("notes", []), "raw": raw}
