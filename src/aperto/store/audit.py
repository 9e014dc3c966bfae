"""The hash-chained audit log's rows."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.store.models import Audit


def tail(s: Session) -> Audit | None:
    return s.scalars(select(Audit).order_by(Audit.seq.desc()).limit(1)).first()


def add(s: Session, *, row: dict[str, str | int]) -> None:
    s.add(Audit(**row))


def rows(s: Session, *, after: int = 0, limit: int | None = None) -> Iterator[Audit]:
    q = select(Audit).where(Audit.seq > after).order_by(Audit.seq)
    if limit:
        q = q.limit(limit)
    yield from s.scalars(q).yield_per(1000)
