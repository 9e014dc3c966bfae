"""Grants and the append-only history of access requests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aperto.store.models import AccessVersion, Grant, Repo, User, utcnow


def live_grants(s: Session, *, repo_id: int, user_id: int) -> list[Grant]:
    return list(s.scalars(select(Grant).where(Grant.repo_id == repo_id, Grant.user_id == user_id,
                                              Grant.revoked_at.is_(None))))


def add_grant(s: Session, *, repo_id: int, user_id: int, by: str, obligations: list[Any] | None) -> Grant:
    grant = Grant(repo_id=repo_id, user_id=user_id, granted_by=by, obligations=obligations, created_at=utcnow())
    s.add(grant)
    return grant


def grants_of_repo(s: Session, *, repo_id: int) -> list[tuple[Grant, str]]:
    q = select(Grant, User.name).join(User, Grant.user_id == User.id).where(Grant.repo_id == repo_id).order_by(Grant.id)
    return [(g, u) for g, u in s.execute(q)]


def live_grant_pairs(s: Session) -> list[tuple[str, str]]:
    """(user name, repo name) of every live grant."""
    q = (select(User.name, Repo.name).select_from(Grant).join(User, Grant.user_id == User.id)
         .join(Repo, Grant.repo_id == Repo.id).where(Grant.revoked_at.is_(None)).order_by(Grant.id))
    return [(u, r) for u, r in s.execute(q)]


def latest(s: Session, *, repo_id: int, user_id: int, kind: str | None = None) -> AccessVersion | None:
    q = select(AccessVersion).where(AccessVersion.repo_id == repo_id, AccessVersion.user_id == user_id)
    if kind:
        q = q.where(AccessVersion.kind == kind)
    return s.scalar(q.order_by(AccessVersion.version.desc()).limit(1))


def append(s: Session, *, repo_id: int, user_id: int, kind: str, fields: dict[str, Any],
           decision: dict[str, Any] | None, status: str, reason: str, decided_by: str | None,
           reason_msgid: str = "", reason_values: dict[str, Any] | None = None,
           changes: list[Any] | None = None, license_sha256: str | None = None) -> AccessVersion:
    last = s.scalar(select(func.max(AccessVersion.version)).where(AccessVersion.repo_id == repo_id,
                                                                  AccessVersion.user_id == user_id))
    row = AccessVersion(repo_id=repo_id, user_id=user_id, version=(last or 0) + 1, kind=kind, fields=fields,
                        decision=decision, status=status, reason=reason[:2000], decided_by=decided_by,
                        reason_msgid=reason_msgid, reason_values=reason_values or {},
                        changes=changes, license_sha256=license_sha256, created_at=utcnow())
    s.add(row)
    s.flush()
    return row


def history(s: Session, *, repo_id: int, user_id: int | None = None) -> list[tuple[AccessVersion, str]]:
    q = (select(AccessVersion, User.name).join(User, AccessVersion.user_id == User.id)
         .where(AccessVersion.repo_id == repo_id))
    if user_id is not None:
        q = q.where(AccessVersion.user_id == user_id)
    return [(v, u) for v, u in s.execute(q.order_by(AccessVersion.user_id, AccessVersion.version))]


def current(s: Session, *, repo_id: int, status: str | None = None) -> list[tuple[AccessVersion, User]]:
    """The newest version of each user's request on this repo, optionally in one status."""
    newest = (select(AccessVersion.user_id, func.max(AccessVersion.version).label("v"))
              .where(AccessVersion.repo_id == repo_id).group_by(AccessVersion.user_id).subquery())
    q = (select(AccessVersion, User).join(User, AccessVersion.user_id == User.id)
         .join(newest, (newest.c.user_id == AccessVersion.user_id) & (newest.c.v == AccessVersion.version))
         .where(AccessVersion.repo_id == repo_id))
    if status:
        q = q.where(AccessVersion.status == status)
    return [(v, u) for v, u in s.execute(q.order_by(AccessVersion.created_at))]
