"""The event table (the fleet's outbox) and the kill switch's state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.store.models import Event, Kill, utcnow


def append(s: Session, *, type: str, repo: str | None, user: str | None, data: dict[str, Any]) -> Event:
    event = Event(type=type, repo=repo, user=user, data=data, at=utcnow())
    s.add(event)
    s.flush()
    s.info["events"] = True  # the writer wakes long-polls after commit
    return event


def after(s: Session, *, seq: int, limit: int) -> list[Event]:
    return list(s.scalars(select(Event).where(Event.seq > seq).order_by(Event.seq).limit(limit)))


def last_seq(s: Session) -> int:
    return s.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0


def kills(s: Session) -> list[Kill]:
    return list(s.scalars(select(Kill).order_by(Kill.id)))


def kills_for(s: Session, *, repo: str | None) -> list[Kill]:
    """The kill rows for one repo, or for everything when ``repo`` is None."""
    return list(s.scalars(select(Kill).where(Kill.repo.is_(None) if repo is None else Kill.repo == repo)))


def add_kill(s: Session, *, repo: str | None, reason: str) -> None:
    s.add(Kill(repo=repo, reason=reason, at=utcnow()))


def remove(s: Session, *, rows: list[Kill]) -> None:
    for row in rows:
        s.delete(row)
