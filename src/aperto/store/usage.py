"""The usage ledger's rows (migration 0005). Tables declared here, beside their only user."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select
from sqlalchemy.orm import Session

meta = MetaData()
usage = Table("usage", meta, Column("day", String(10), primary_key=True), Column("user", String(200), primary_key=True),
              Column("repo", String(300), primary_key=True), Column("requests", BigInteger, nullable=False),
              Column("prompt_tokens", BigInteger, nullable=False), Column("completion_tokens", BigInteger, nullable=False))
reports = Table("usage_reports", meta, Column("id", String(64), primary_key=True), Column("at", String(40), nullable=False))
COUNTS = ("requests", "prompt_tokens", "completion_tokens")


def seen(s: Session, *, report_id: str) -> bool:
    return s.execute(select(reports.c.id).where(reports.c.id == report_id)).first() is not None


def mark(s: Session, *, report_id: str, at: str) -> None:
    s.execute(reports.insert().values(id=report_id, at=at))


def add(s: Session, *, day: str, user: str, repo: str, counts: dict[str, int]) -> None:
    """Add to the day's row (inside Store.write, which serialises writers)."""
    key = (usage.c.day == day) & (usage.c.user == user) & (usage.c.repo == repo)
    row = s.execute(select(*[usage.c[c] for c in COUNTS]).where(key)).first()
    if row is None:
        s.execute(usage.insert().values(day=day, user=user, repo=repo, **{c: counts[c] for c in COUNTS}))
    else:
        s.execute(usage.update().where(key).values(**{c: getattr(row, c) + counts[c] for c in COUNTS}))


def rows(s: Session, *, repos: list[str] | None, since: str | None) -> list[dict[str, Any]]:
    """Newest day first; ``repos`` None: every repo."""
    q = select(usage)
    if repos is not None:
        q = q.where(usage.c.repo.in_(repos))
    if since:
        q = q.where(usage.c.day >= since)
    return [dict(r._mapping) for r in s.execute(q.order_by(usage.c.day.desc(), usage.c.repo, usage.c.user))]
