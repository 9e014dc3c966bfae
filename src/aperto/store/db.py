"""Engine setup and migrations. SQLite (WAL, synchronous=FULL so a committed
record survives a crash) by default; PostgreSQL through APERTO_DATABASE_URL."""

from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from aperto.config import Settings, private_dir

MIGRATIONS = Path(__file__).parent / "migrations"
# one number for all writers that must be serialised (audit chain, event order)
PG_WRITE_LOCK = 0x61706572


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def scratch_schema(url: str, prefix: str = "t_") -> Iterator[str]:
    """A PostgreSQL schema of its own, dropped afterwards: the URL points at it. For tests and
    benchmarks that share one server without seeing each other's tables."""
    import uuid

    schema = prefix + uuid.uuid4().hex[:12]
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "heads")


def schema_scope(schema: str) -> int | None:
    """What PostgreSQL's database-wide names (advisory lock keys, NOTIFY channels) carry of a schema,
    so that hubs on two schemas of one database (tests, benchmarks, deployments side by side) neither
    wait for each other's writes, share one relay, nor wake on each other's events. None for the
    default schema, which keeps the bare names older hubs use: during a rolling upgrade, old and new
    replicas still exclude and hear each other."""
    return None if schema in ("public", "") else zlib.crc32(schema.encode())


class Store:
    """The database plus a write lock. Writers go through ``write()`` so that the
    audit chain and event sequence are appended by one writer at a time, also
    across processes on PostgreSQL (an advisory transaction lock)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._lock = threading.Lock()
        self.is_postgres = self.engine.dialect.name == "postgresql"

    @classmethod
    def open(cls, settings: Settings) -> Store:
        if not settings.database_url:
            private_dir(settings.data_dir)
            # owner-only from the start; SQLite gives its -wal and -shm files the database's mode
            os.close(os.open(settings.data_dir / "hub.sqlite3", os.O_WRONLY | os.O_CREAT, 0o600))
        store = cls(settings.resolved_database_url())
        migrate(store.engine)
        return store

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._lock, self._sessions() as session, session.begin():
            if self.is_postgres:
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": self.lock_key(PG_WRITE_LOCK)})
            else:
                # Take SQLite's write lock first (waiting up to busy_timeout), so another process
                # cannot commit between our reads and our first write (SQLITE_BUSY_SNAPSHOT).
                session.execute(text("UPDATE alembic_version SET version_num = version_num"))
            yield session

    @cached_property
    def schema(self) -> str:
        with self.engine.connect() as conn:
            return str(conn.scalar(text("SELECT current_schema()")) or "")

    def lock_key(self, base: int) -> int:
        """A PostgreSQL advisory lock key of this store's schema (see ``schema_scope``)."""
        scope = schema_scope(self.schema)
        if scope is None:
            return base
        key = scope << 32 | base
        return key - (1 << 64) if key >= 1 << 63 else key  # a signed bigint

    def close(self) -> None:
        self.engine.dispose()
