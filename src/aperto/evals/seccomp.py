"""The sandboxed child's system call filter: default-deny, built with libseccomp.

A small ctypes layer over ``libseccomp.so.2``: the system call numbers, the
architecture check (x86_64, aarch64, and the x32 ABI that would alias x86_64's
numbers) and the BPF program all come from libseccomp, never from a table typed
here. The program is built once per worker (``build``) and each child only loads
the bytes (``install``): two ``prctl`` calls, no library work after ``fork``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from typing import Any

# libseccomp's action encodings (seccomp.h) and the attribute that picks the wrong-architecture action
SCMP_ACT_KILL_PROCESS = 0x80000000
SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_FLTATR_ACT_BADARCH = 2
SCMP_CMP_EQ = 4
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def act_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


# What a child needs to run Python after its restrictions: memory, files (the read-only
# stdlib and its own tmpfs), time, randomness and leaving. Everything else returns EPERM:
# sockets, exec, fork/clone (threads too), signals to any process, tracing, namespaces and
# mounts (old and new API), System V and POSIX IPC, memfd, keys, bpf, io_uring, userfaultfd.
# Names a given architecture lacks (open, stat... on aarch64) are skipped.
ALLOW = (
    # memory
    "brk", "mmap", "munmap", "mremap", "mprotect", "madvise",
    # files and directories
    "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "close_range",
    "open", "openat", "stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat",
    "faccessat2", "readlink", "readlinkat", "getdents64", "getcwd", "chdir", "fchdir", "mkdir",
    "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2", "symlink",
    "symlinkat", "link", "linkat", "chmod", "fchmod", "fchmodat", "ftruncate", "truncate", "fsync",
    "fdatasync", "fallocate", "fadvise64", "utimensat", "umask", "dup", "dup2", "dup3", "fcntl",
    "pipe", "pipe2", "poll", "ppoll", "select", "pselect6", "statfs", "fstatfs",
    # process state of its own
    "getpid", "gettid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups",
    "getresuid", "getresgid", "capget", "getpgrp", "getpgid", "getsid", "getrlimit", "setrlimit", "prlimit64",
    "getrusage", "times", "sched_getaffinity", "sched_yield", "uname", "getrandom",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "futex", "set_robust_list",
    "get_robust_list", "set_tid_address", "rseq", "restart_syscall",
    # time
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    # leaving
    "exit", "exit_group",
)
# ioctl only for what Python's io asks (isatty, close-on-exec, non-blocking); the same numbers
# on x86_64 and aarch64 (asm-generic). TIOCSTI and friends stay denied.
IOCTL_ALLOWED = {"TCGETS": 0x5401, "FIONBIO": 0x5421, "FIONCLEX": 0x5450, "FIOCLEX": 0x5451}


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


_LIB: Any = None


def library() -> Any:
    """libseccomp, loaded on first use (raises OSError when it is not installed)."""
    global _LIB
    if _LIB is None:
        lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_release.argtypes = [ctypes.c_void_p]
        lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                               ctypes.POINTER(_ArgCmp)]
        lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
        lib.seccomp_arch_native.restype = ctypes.c_uint32
        lib.seccomp_arch_add.argtypes = lib.seccomp_arch_remove.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        _LIB = lib
    return _LIB


def syscall_number(name: str) -> int | None:
    """The native number of a system call, from libseccomp; None where this architecture has none."""
    nr = library().seccomp_syscall_resolve_name(name.encode())
    return nr if nr >= 0 else None


def _rule(ctx: int, action: int, nr: int, *compare: tuple[int, int]) -> None:
    array = (_ArgCmp * max(1, len(compare)))(*[_ArgCmp(arg, SCMP_CMP_EQ, value, 0) for arg, value in compare])
    rc = library().seccomp_rule_add_array(ctx, action, nr, len(compare), array)
    if rc < 0:
        raise OSError(-rc, f"seccomp_rule_add({nr}): {os.strerror(-rc)}")


def build(allow: tuple[str, ...] = ALLOW, arch: int | None = None) -> bytes:
    """The filter as a classic BPF program: allow ``allow``, EPERM for the rest, and kill the
    process on any other architecture or ABI (x32 on x86_64). ``arch`` (an AUDIT_ARCH token such
    as 0xC00000B7 for aarch64) builds it for another machine: libseccomp renumbers the calls."""
    lib = library()
    ctx = lib.seccomp_init(act_errno(errno.EPERM))
    if not ctx:
        raise OSError(errno.ENOMEM, "seccomp_init failed")
    try:
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)
        native = lib.seccomp_arch_native()
        if arch is not None and arch != native:
            for rc in (lib.seccomp_arch_add(ctx, arch), lib.seccomp_arch_remove(ctx, native)):
                if rc < 0:
                    raise OSError(-rc, f"seccomp arch {arch:#x}: {os.strerror(-rc)}")
        for name in allow:
            nr = syscall_number(name)
            if nr is not None:
                _rule(ctx, SCMP_ACT_ALLOW, nr)
        ioctl = syscall_number("ioctl")
        assert ioctl is not None
        for request in IOCTL_ALLOWED.values():
            _rule(ctx, SCMP_ACT_ALLOW, ioctl, (1, request))
        read_end, write_end = os.pipe()  # libseccomp 2.5 exports to a file descriptor only
        try:
            rc = lib.seccomp_export_bpf(ctx, write_end)
            if rc < 0:
                raise OSError(-rc, f"seccomp_export_bpf: {os.strerror(-rc)}")
            os.close(write_end)
            write_end = -1
            program = b""
            while chunk := os.read(read_end, 65536):
                program += chunk
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)
    finally:
        lib.seccomp_release(ctx)
    return program


class Program:
    """A built filter held in C memory, ready to load after fork."""

    def __init__(self, program: bytes) -> None:
        self.length = len(program) // 8
        self._code = ctypes.create_string_buffer(program)
        self._fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxP", self.length, ctypes.addressof(self._code)))
        self._libc = ctypes.CDLL(None, use_errno=True)
        self._libc.prctl.restype = ctypes.c_int

    def install(self) -> None:
        """no_new_privs, then the filter: from here on every call outside the allowlist fails."""
        ulong = ctypes.c_ulong
        for option, arg in ((PR_SET_NO_NEW_PRIVS, 1), (PR_SET_SECCOMP, SECCOMP_MODE_FILTER)):
            pointer = ctypes.addressof(self._fprog) if option == PR_SET_SECCOMP else 0
            rc = self._libc.prctl(option, ulong(arg), ulong(pointer), ulong(0), ulong(0))
            if rc != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"prctl({option}): {os.strerror(err)}")
