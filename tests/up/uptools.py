"""Start ``aperto up`` as a subprocess, exactly as docs/up.md says, on free loopback ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from livekit import free_port

APERTO = Path(sys.executable).with_name("aperto")
READY = "aperto is up"


@dataclass
class Up:
    data_dir: Path
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    hub: str = ""
    gateway: str = ""
    admin: str = ""
    licensor: str = ""

    def value(self, prefix: str) -> str:
        for line in self.lines:
            if line.startswith(prefix):
                return line[len(prefix):].strip()
        raise AssertionError(f"no line starting {prefix!r} in:\n" + "\n".join(self.lines))

    def stop(self, timeout: float = 30) -> int:
        """Ctrl-C, as a person would press it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)


def start_up(data_dir: Path, timeout: float = 90) -> Up:
    hub_port, gateway_port = free_port(), free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("APERTO_TOKEN", None)
    proc = subprocess.Popen(
        [str(APERTO), "up", "--data-dir", str(data_dir), "--hub-port", str(hub_port),
         "--gateway-port", str(gateway_port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    up = Up(data_dir, proc)

    def read() -> None:  # keep draining stdout so the child never blocks on a full pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            up.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not any(READY in line for line in up.lines):
        if proc.poll() is not None or time.monotonic() > deadline:
            up.stop(5) if proc.poll() is None else None
            raise AssertionError("aperto up did not come up:\n" + "\n".join(up.lines))
        time.sleep(0.05)
    up.hub = up.value("hub:")
    up.gateway = up.value("gateway:")
    up.admin = up.value("admin token:")
    up.licensor = up.value("demo-licensor token:")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", up.hub) and up.gateway.endswith("/v1")
    return up
