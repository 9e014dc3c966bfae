"""Repositories, their commits and files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aperto.store.models import Commit, File, Ref, Repo, User, utcnow


def repo_by_name(s: Session, *, name: str) -> Repo | None:
    return s.scalar(select(Repo).where(Repo.name == name))


# a deleted repo keeps its rows (access history, possession of its bytes) under a name no
# lookup can match: "~" never starts a valid organisation
DELETED = "~deleted/"


def live() -> Any:
    return Repo.name.not_like(DELETED + "%")


def repos(s: Session) -> list[Repo]:
    return list(s.scalars(select(Repo).where(live()).order_by(Repo.name)))


def repos_with_licensor(s: Session) -> list[tuple[Repo, str]]:
    q = select(Repo, User.name).join(User, Repo.licensor_id == User.id).where(live()).order_by(Repo.name)
    return [(r, n) for r, n in s.execute(q)]


def licensor_name(s: Session, *, repo: Repo) -> str:
    user = s.get(User, repo.licensor_id)
    return user.name if user else ""


def licensor_pairs(s: Session) -> list[tuple[str, str]]:
    """(licensor name, repo name) for every repo: licensors may always use their own models."""
    q = select(User.name, Repo.name).join(Repo, Repo.licensor_id == User.id).where(live())
    return [(u, r) for u, r in s.execute(q)]


def add_repo(s: Session, *, name: str, licensor_id: int) -> Repo:
    repo = Repo(name=name, licensor_id=licensor_id, gating="auto", withdrawn=False, created_at=utcnow())
    s.add(repo)
    s.flush()
    return repo


def commit_by_id(s: Session, *, commit_id: str) -> Commit | None:
    return s.get(Commit, commit_id)


def files(s: Session, *, commit_id: str) -> list[File]:
    return list(s.scalars(select(File).where(File.commit_id == commit_id).order_by(File.path)))


def file(s: Session, *, commit_id: str, path: str) -> File | None:
    return s.scalar(select(File).where(File.commit_id == commit_id, File.path == path))


def add_commit(s: Session, *, commit_id: str, repo_id: int, parent: str | None, message: str, author_id: int,
               at: datetime, tree: dict[str, tuple[str, int, str]]) -> Commit:
    """``tree``: path -> (sha256, size, origin)."""
    commit = Commit(id=commit_id, repo_id=repo_id, parent=parent, message=message, author_id=author_id,
                    created_at=at)
    s.add(commit)
    s.flush()
    for path, (sha, size, origin) in sorted(tree.items()):
        s.add(File(commit_id=commit_id, path=path, size=size, sha256=sha, origin=origin))
    return commit


def commits(s: Session, *, repo_id: int) -> list[tuple[Commit, str]]:
    q = (select(Commit, User.name).join(User, Commit.author_id == User.id)
         .where(Commit.repo_id == repo_id).order_by(Commit.created_at.desc()))
    return [(c, a) for c, a in s.execute(q)]


def holders_of_blob(s: Session, *, sha256: str) -> list[tuple[Repo, Commit, File]]:
    """Every (repo, commit, file) whose tree holds these bytes."""
    q = (select(Repo, Commit, File).join(Commit, Commit.repo_id == Repo.id)
         .join(File, File.commit_id == Commit.id).where(File.sha256 == sha256))
    return [(r, c, f) for r, c, f in s.execute(q)]


def blob_withdrawn(s: Session, *, sha256: str) -> bool:
    """Do these bytes sit in a withdrawn repo or revision anywhere?"""
    q = (select(File.id).join(Commit, File.commit_id == Commit.id).join(Repo, Commit.repo_id == Repo.id)
         .where(File.sha256 == sha256, or_(Repo.withdrawn.is_(True), Commit.withdrawn_reason.is_not(None)))
         .limit(1))
    return s.scalar(q) is not None


def all_blob_hashes(s: Session) -> set[str]:
    return set(s.scalars(select(File.sha256).distinct()))


def refs(s: Session, *, repo_id: int) -> list[Ref]:
    """Branches other than main, and tags."""
    return list(s.scalars(select(Ref).where(Ref.repo_id == repo_id).order_by(Ref.kind, Ref.name)))


def ref(s: Session, *, repo_id: int, kind: str, name: str) -> Ref | None:
    return s.scalar(select(Ref).where(Ref.repo_id == repo_id, Ref.kind == kind, Ref.name == name))


def add_ref(s: Session, *, repo_id: int, kind: str, name: str, commit_id: str, message: str = "") -> Ref:
    row = Ref(repo_id=repo_id, kind=kind, name=name, commit_id=commit_id, message=message, created_at=utcnow())
    s.add(row)
    s.flush()
    return row


def delete_ref(s: Session, *, row: Ref) -> None:
    s.delete(row)
    s.flush()


def history(s: Session, *, repo_id: int, head: str) -> list[tuple[Commit, str]]:
    """The commits reachable from ``head`` by their parents, newest first, with author names."""
    by_id = {c.id: (c, a) for c, a in commits(s, repo_id=repo_id)}
    out: list[tuple[Commit, str]] = []
    seen: set[str] = set()
    at: str | None = head
    while at and at in by_id and at not in seen:
        seen.add(at)
        out.append(by_id[at])
        at = by_id[at][0].parent
    return out


def rename_repo(s: Session, *, repo: Repo, name: str) -> None:
    repo.name = name
    s.flush()


def tombstone(s: Session, *, repo: Repo) -> str:
    repo.name = f"{DELETED}{repo.id}/{repo.name}"
    s.flush()
    return repo.name


def was_deleted(s: Session, *, name: str) -> bool:
    return s.scalar(select(Repo.id).where(Repo.name.like(f"{DELETED}%/{name}")).limit(1)) is not None
