"""Toy problem shared by the evals tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import os
import textwrap

from aperto.evals import seccomp
from aperto.evals.sandbox import Job

ADD_PROMPT = 'def add(a, b):\n    """Return a + b."""\n'
ADD_TEST = "\n\ndef check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(-5, 5) == 0\n"


def add_job(completion: str, timeout: float = 1.0) -> Job:
    return Job("toy/add", ADD_PROMPT, completion, ADD_TEST, "add", timeout)


def body(code: str) -> str:
    """Code inside the function body, then a wrong answer."""
    return textwrap.indent(textwrap.dedent(code).strip() + "\nreturn None", "    ") + "\n"


def module(code: str) -> str:
    """Code at module level, after a wrong function."""
    return "    return None\n" + textwrap.dedent(code).strip() + "\n"


def denied(name: str, *args: int) -> tuple[str, str, str]:
    """A raw system call (number from libseccomp) and the verdict the filter gives it: PermissionError;
    any other errno would mean the kernel saw the call."""
    nr = seccomp.syscall_number(name)
    return (body(f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                 f"if libc.syscall({nr}, {', '.join(str(a) for a in args) or '0'}) == -1:\n"
                 f"    e = ctypes.get_errno()\n    raise OSError(e, os.strerror(e))"), "failed", "PermissionError")


# passes only on a clean start: nothing in /tmp or its folder, nothing left in the interpreter
WITNESS = ("    import os, sys, builtins\n"
           "    seen = [p for p in os.listdir('/tmp') if p != os.path.basename(os.getcwd())] + os.listdir('.')\n"
           "    if seen or hasattr(builtins, 'LEAK') or len(sys.modules) > 400:\n"
           "        raise ValueError(repr(seen))\n"
           "    return a + b\n")


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(x) for x in f.read().split()]


class FakeEndpoint:
    """A tiny OpenAI-compatible server (and hub evals endpoint) on a local port, for real HTTP in tests.

    ``answers`` maps a prompt to the text to return; ``fail_after`` makes it answer 400
    once that many completions were served (an interrupted run).
    """

    def __init__(self, answers: dict[str, str], chat: bool = False) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.answers = answers
        self.chat = chat
        self.served = 0
        self.fail_after: int | None = None
        self.halted = False
        self.requests: list[dict] = []
        self.pushed: list[tuple[str, dict, str | None]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/api/models/"):
                    owner.pushed.append((self.path, body, self.headers.get("Authorization")))
                    return self._reply(201, {"ok": True})
                owner.requests.append(body)
                if owner.halted:
                    return self._reply(503, {"error": {"code": "model_halted", "message": "halted"}})
                if owner.fail_after is not None and owner.served >= owner.fail_after:
                    return self._reply(400, {"error": "interrupted"})
                owner.served += 1
                if self.path == "/v1/chat/completions":
                    prompt = body["messages"][-1]["content"].split("```python\n", 1)[1].rsplit("\n```", 1)[0]
                    text = owner.answers[prompt.strip()]
                    return self._reply(200, {"choices": [{"message": {"role": "assistant", "content": text}}]})
                return self._reply(200, {"choices": [{"text": owner.answers[body["prompt"]]}]})

            def _reply(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def held(sandbox) -> tuple[int, int]:
    """Bytes the sandbox's workers still hold: used in their /tmp tmpfs, and shared memory mapped
    by any of their processes. Measured per worker, not host-wide: other processes come and go."""
    tmp = shm = 0
    for worker in sandbox._all:
        stack = [worker.proc.pid]
        while stack:
            pid = stack.pop()
            try:
                with open(f"/proc/{pid}/status") as f:
                    shm += next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssShmem:"))
                stack += children(pid)
            except (FileNotFoundError, ProcessLookupError):
                continue  # a child that ended meanwhile
        st = os.statvfs(f"/proc/{children(worker.proc.pid)[0]}/root/tmp")  # the worker's own /tmp
        tmp += (st.f_blocks - st.f_bfree) * st.f_frsize
    return tmp, shm
