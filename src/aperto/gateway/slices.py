"""Short scheduler slices for the threads that carry tokens to clients (Linux 6.12+, EEVDF).

While llama.cpp decodes, its compute threads keep every core busy. A thread woken with a token
(the llama.cpp callback thread, then the event loop) used to wait for a compute thread's slice to
run out, 1.4 ms on this machine's kernel, at each hop. A thread that asks for a short slice gets
an earlier deadline, so the kernel runs it as soon as it wakes; it needs the CPU only briefly.
bench/gateway.py measured the time to first token the gateway adds fall from +3.8 ms to about 0
at p50 (docs/benchmarks-gateway.md). The compute threads keep the default slice: they are
created before any thread asks, and a thread's slice is inherited only by threads it creates.

Older kernels ignore the request, other systems do not have the call; both are harmless."""

from __future__ import annotations

import ctypes
import os
import platform
import struct

SYSCALLS = {"x86_64": (314, 315), "aarch64": (274, 275)}  # sched_setattr, sched_getattr
ATTR = "IIQiIQQQ"  # struct sched_attr, first version (48 bytes): size, policy, flags, nice, priority,
#                    runtime (the slice a SCHED_OTHER thread asks for), deadline, period


def _call(number: int, attr: ctypes.Array[ctypes.c_char], *args: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    return int(libc.syscall(number, 0, attr, *args))


def current_slice_ns() -> int | None:
    """This thread's slice as the kernel reports it, or None where it cannot say."""
    numbers = SYSCALLS.get(platform.machine())
    if numbers is None or os.name != "posix":
        return None
    buf = ctypes.create_string_buffer(struct.calcsize(ATTR))
    if _call(numbers[1], buf, struct.calcsize(ATTR), 0) != 0:
        return None
    return struct.unpack(ATTR, buf.raw)[5]


def request_short_slice(microseconds: int) -> bool:
    """Ask for a short slice for the calling thread; True if the kernel now reports it."""
    numbers = SYSCALLS.get(platform.machine())
    if microseconds <= 0 or numbers is None or os.name != "posix" or os.sched_getscheduler(0) != os.SCHED_OTHER:
        return False  # off, unknown platform, or a real-time policy someone chose on purpose
    nice = os.getpriority(os.PRIO_PROCESS, 0)  # 0 is this thread here: keep its nice value
    attr = ctypes.create_string_buffer(struct.pack(ATTR, struct.calcsize(ATTR), os.SCHED_OTHER, 0, nice, 0,
                                                   microseconds * 1000, 0, 0))
    if _call(numbers[0], attr, 0) != 0:
        return False
    return current_slice_ns() == microseconds * 1000
