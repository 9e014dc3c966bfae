"""The child's seccomp filter on its own: allowed calls work, denied calls fail with EPERM or kill.

Each call runs in a fresh fork of this test process, once without the filter (the control) and
once with it, so a call the kernel itself refuses with EPERM cannot pass for a filtered one.
Numbers come from libseccomp, like the filter's.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import signal

import pytest

from aperto.evals import seccomp

# name -> arguments that make the call fail harmlessly (bad fd, NULL pointer...) when it is allowed
DENIED = {
    "socket": (-1, 0, 0), "socketpair": (-1, 0, 0, 0), "connect": (-1, 0, 0), "bind": (-1, 0, 0),
    "execve": (0, 0, 0), "execveat": (-1, 0, 0, 0, 0), "clone": (0x00010000, 0, 0, 0, 0),  # CLONE_THREAD alone: EINVAL
    "clone3": (0, 0), "kill": (0x3FFFFFFF, 0), "tkill": (-1, 0), "tgkill": (-1, -1, 0),
    "rt_sigqueueinfo": (0x3FFFFFFF, 0, 0), "rt_tgsigqueueinfo": (-1, -1, 0, 0),
    "ptrace": (-1, -1, 0, 0), "process_vm_readv": (0x3FFFFFFF, 0, 1, 0, 1, 0),
    "process_vm_writev": (0x3FFFFFFF, 0, 1, 0, 1, 0), "process_madvise": (-1, 0, 0, 0, 0),
    "pidfd_open": (-1, 0), "pidfd_getfd": (-1, -1, 0), "pidfd_send_signal": (-1, 0, 0, 0),
    "io_uring_setup": (0, 0), "io_uring_enter": (-1, 0, 0, 0, 0, 0), "io_uring_register": (-1, 0, 0, 0),
    "userfaultfd": (-1,), "bpf": (-1, 0, 0), "perf_event_open": (0, 0, -1, -1, 0),
    "keyctl": (-1, 0, 0, 0, 0), "add_key": (0, 0, 0, 0, 0), "request_key": (0, 0, 0, 0),
    "unshare": (-1,), "setns": (-1, 0), "mount": (0, 0, 0, 0, 0), "umount2": (0, 0),
    "pivot_root": (0, 0), "chroot": (0,), "open_tree": (-1, 0, 0), "move_mount": (-1, 0, -1, 0, 0),
    "fsopen": (0, 0), "fsconfig": (-1, 0, 0, 0, 0), "fsmount": (-1, 0, 0), "fspick": (-1, 0, 0),
    "mount_setattr": (-1, 0, 0, 0, 0), "open_by_handle_at": (-1, 0, 0), "name_to_handle_at": (-1, 0, 0, 0, 0),
    "memfd_create": (0, 0), "shmget": (0, 1 << 20, 0o1600), "shmat": (-1, 0, 0), "msgget": (0, 0o1600),
    "semget": (0, 1, 0o1600), "mq_open": (0, 0, 0, 0), "personality": (0xFFFFFFFF,),
    "mknodat": (-1, 0, 0, 0), "setuid": (-1,), "setgid": (-1,), "capset": (0, 0), "prctl": (-1, 0, 0, 0, 0),
    "seccomp": (-1, 0, 0), "sched_setaffinity": (0, 0, 0), "setpriority": (-1, 0, 0), "sysinfo": (0,),
    "syslog": (-1, 0, 0), "init_module": (0, 0, 0), "finit_module": (-1, 0, 0), "kexec_load": (0, 0, 0, 0),
    "reboot": (0, 0, 0, 0), "swapon": (0, 0), "acct": (0,), "quotactl": (-1, 0, 0, 0),
    "fanotify_init": (-1, 0), "inotify_init1": (-1,), "vfork": (), "fork": (),
}
# never run without the filter: they would really fork
NO_CONTROL = {"vfork", "fork"}


def _call(name: str, args: tuple[int, ...], install: seccomp.Program | None) -> dict:
    """Run one system call in a fresh fork: ``{"ret", "errno"}`` or ``{"signal"}`` if it was killed."""
    nr = seccomp.syscall_number(name)
    assert nr is not None
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(r)
        code = 0
        try:
            if install is not None:
                install.install()
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
            os.write(w, json.dumps({"ret": ret, "errno": ctypes.get_errno()}).encode())
        except BaseException:  # noqa: BLE001
            code = 3
        os._exit(code)
    os.close(w)
    data = os.read(r, 4096)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    if pid and status and not data:
        return {"exit": os.WEXITSTATUS(status)}
    return dict(json.loads(data))


@pytest.fixture(scope="module")
def program():
    return seccomp.Program(seccomp.build())


def _native(names):
    return [n for n in names if seccomp.syscall_number(n) is not None]


@pytest.mark.parametrize("name", _native(DENIED))
def test_denied_calls_fail_with_eperm_or_kill(program, name):
    result = _call(name, DENIED[name], program)
    assert result.get("signal") == signal.SIGSYS or (result.get("ret") == -1 and result["errno"] == errno.EPERM), result


def test_the_denied_table_can_fail():
    """Without the filter these calls mostly answer something other than EPERM (bad fd, bad
    pointer, bad flags): the test above would notice one the filter let through."""
    answers = {n: _call(n, DENIED[n], None) for n in _native(DENIED) if n not in NO_CONTROL}
    not_eperm = {n for n, r in answers.items() if r.get("errno") != errno.EPERM}
    # as root the kernel reaches its argument checks for nearly all; unprivileged it refuses more itself
    assert len(not_eperm) >= (0.8 if os.getuid() == 0 else 0.5) * len(answers), answers
    named = {"open_tree", "fsconfig", "mount_setattr", "pidfd_getfd", "process_madvise", "clone3",
             "io_uring_setup", "setns", "ptrace", "process_vm_readv"}
    if os.getuid() == 0:
        named |= {"move_mount", "fsmount", "fsopen", "fspick", "open_by_handle_at", "bpf", "unshare", "mount"}
    assert named <= not_eperm, answers


def test_issue_calls_are_in_the_table():
    named = {"open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
             "pidfd_getfd", "process_madvise", "open_by_handle_at", "ptrace", "process_vm_readv",
             "io_uring_setup", "userfaultfd", "bpf", "keyctl", "clone3", "setns"}
    assert named <= set(_native(DENIED))


ALLOWED = {
    "getpid": (), "getuid": (), "gettid": (), "getppid": (), "sched_yield": (), "umask": (0o077,),
}


@pytest.mark.parametrize("name", list(ALLOWED))
def test_allowed_calls_work(program, name):
    result = _call(name, ALLOWED[name], program)
    assert "signal" not in result and result["ret"] >= 0, result


def test_python_runs_under_the_filter(program, tmp_path):
    """What a completion legitimately does: import (pure and extension modules), files in its
    folder, time, randomness, its own rlimits and affinity, exceptions, big allocations."""
    script = f"""
import os, json, time, random, resource
os.chdir({str(tmp_path)!r})
with open("f", "w") as f:
    f.write("x" * 100000)
assert open("f").read() == "x" * 100000
os.mkdir("d"); os.rename("f", "d/g"); os.unlink("d/g"); os.rmdir("d")
import fractions, decimal, _bisect, zlib, array, unicodedata, datetime, sqlite3
assert zlib.decompress(zlib.compress(b"abc")) == b"abc"
assert len(os.urandom(8)) == 8 and 0 <= random.random() < 1 and time.time() > 0
time.sleep(0.001)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
assert len(os.sched_getaffinity(0)) >= 1
b = bytearray(50 * 2**20); del b
try:
    raise ValueError("x")
except ValueError:
    pass
os.write(1, json.dumps(sorted(os.listdir("."))).encode())
"""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        os.close(r)
        os.dup2(w, 1)
        try:
            program.install()
            exec(compile(script, "<probe>", "exec"), {})
            code = 0
        except BaseException as exc:  # noqa: BLE001
            os.write(2, repr(exc).encode())
            code = 4
        os._exit(code)
    os.close(w)
    out = b""
    while chunk := os.read(r, 4096):
        out += chunk
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert json.loads(out) == []


def test_threads_and_processes_are_refused(program):
    result = _call("clone", (0x00010000 | 0x00000800 | 0x00000100, 0, 0, 0, 0), program)  # a thread's flags
    assert result.get("ret") == -1 and result["errno"] == errno.EPERM, result


def test_other_abis_are_killed(program):
    if platform.machine() != "x86_64":
        pytest.xfail("the x32 ABI exists only on x86_64")
    nr = seccomp.syscall_number("getpid")
    assert nr is not None
    # the x32 ABI would otherwise reach the same calls under other numbers
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover
        program.install()
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall(ctypes.c_long(0x40000000 | nr))
        os._exit(0)
    os.close(w)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS


def test_numbers_come_from_libseccomp():
    # the two architectures the filter must build on number these differently
    assert seccomp.syscall_number("no_such_call") is None
    lib = seccomp.library()
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    x86_64, aarch64 = 0xC000003E, 0xC00000B7  # AUDIT_ARCH_* tokens
    assert lib.seccomp_syscall_resolve_name_arch(x86_64, b"open_tree") == 428
    assert lib.seccomp_syscall_resolve_name_arch(aarch64, b"open_tree") == 428
    assert lib.seccomp_syscall_resolve_name_arch(x86_64, b"getpid") == 39
    assert lib.seccomp_syscall_resolve_name_arch(aarch64, b"getpid") == 172


def _constants(program: bytes) -> set[int]:
    """The k operands of a classic BPF program (8-byte instructions: code, jt, jf, k)."""
    return {int.from_bytes(program[i + 4:i + 8], "little") for i in range(0, len(program), 8)}


@pytest.mark.parametrize(("arch", "openat", "absent"), [(0xC000003E, 257, None), (0xC00000B7, 56, 1079)])
def test_the_filter_builds_for_both_architectures(arch, openat, absent):
    program = seccomp.build(arch=arch)
    assert len(program) % 8 == 0
    constants = _constants(program)
    assert arch in constants  # the architecture check comes first
    assert openat in constants  # that architecture's number for openat, renumbered by libseccomp
    lib = seccomp.library()
    assert lib.seccomp_syscall_resolve_name_arch(arch, b"openat") == openat
    if absent is not None:  # aarch64 has no open(2): the name is skipped, not mis-numbered
        assert lib.seccomp_syscall_resolve_name_arch(arch, b"open") < 0
