"""Evaluation results pushed to the hub."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.store.models import EvalResult, Repo, utcnow


def add(s: Session, *, repo_id: int, data: dict[str, Any], by: str) -> EvalResult:
    row = EvalResult(repo_id=repo_id, data=data, submitted_by=by, created_at=utcnow())
    s.add(row)
    s.flush()
    return row


def of_repo(s: Session, *, repo_id: int) -> list[EvalResult]:
    return list(s.scalars(select(EvalResult).where(EvalResult.repo_id == repo_id).order_by(EvalResult.id)))


def by_id(s: Session, *, eval_id: int) -> EvalResult | None:
    return s.get(EvalResult, eval_id)


def delete(s: Session, *, row: EvalResult) -> None:
    s.delete(row)


def all_with_repo(s: Session) -> list[tuple[EvalResult, str]]:
    q = select(EvalResult, Repo.name).join(Repo, EvalResult.repo_id == Repo.id).order_by(EvalResult.id)
    return [(r, n) for r, n in s.execute(q)]
