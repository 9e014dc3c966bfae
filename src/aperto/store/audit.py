"""The hash-chained audit log's rows and its signed checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session

from aperto.errors import NotFound
from aperto.store.db import Store
from aperto.store.models import Audit, AuditCheckpoint


def tail(s: Session) -> Audit | None:
    return s.scalars(select(Audit).order_by(Audit.seq.desc()).limit(1)).first()


def add(s: Session, *, row: dict[str, str | int]) -> None:
    s.add(Audit(**row))


def rows(s: Session, *, after: int = 0, limit: int | None = None) -> Iterator[Audit]:
    q = select(Audit).where(Audit.seq > after).order_by(Audit.seq)
    if limit:
        q = q.limit(limit)
    yield from s.scalars(q).yield_per(1000)


def count(s: Session) -> int:
    return s.scalar(select(func.count()).select_from(Audit)) or 0


def latest_checkpoint(s: Session) -> AuditCheckpoint | None:
    return s.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.size.desc()).limit(1)).first()


def checkpoint_at(s: Session, size: int) -> AuditCheckpoint | None:
    return s.get(AuditCheckpoint, size)


def add_checkpoint(s: Session, *, size: int, root: str, frontier: str, note: str, at: str) -> None:
    s.add(AuditCheckpoint(size=size, root=root, frontier=frontier, note=note, at=at))


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def open_existing(url: str) -> tuple[Store, bool]:
    """Open a hub database that must already exist, without creating or migrating anything.
    Returns the store and whether it has the checkpoints table (older databases lack it)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise NotFound(f"{url!r} is not a database URL", hint="pass --database-url DIALECT://...") from None
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path in ("", ":memory:") or not Path(path).is_file():
            raise NotFound(f"no hub database at {path or describe(url)}; nothing was checked or created",
                           hint="pass the hub's own --data-dir or --database-url")
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    except SQLAlchemyError as exc:
        store.close()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise NotFound(f"cannot open the database {describe(url)}: {reason}") from None
    if "audit" not in tables:
        store.close()
        raise NotFound(f"{describe(url)} holds no audit table: it is not an aperto hub database")
    return store, "audit_checkpoints" in tables
