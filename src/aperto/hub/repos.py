"""Repositories: metadata, files, uploads, commits, gating mode, takedown."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.errors import BadInput, Conflict, Forbidden, GatedAccess, TakenDown, Unauthorized
from aperto.hub import licensing
from aperto.hub.base import (
    Caller,
    EntryNotFound,
    HubBase,
    RepoNotFound,
    RevisionNotFound,
    canonical,
    check_name,
    iso,
    need,
    utcnow,
)
from aperto.store.blobs import check_sha256
from aperto.store.models import Commit, File, Grant, Repo, User

GATING = ("open", "auto", "manual")
COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")


def check_repo(name: str) -> str:
    if not isinstance(name, str) or name.count("/") != 1:
        raise BadInput(f"invalid repo name {name!r}", hint="use ORG/NAME")
    org, model = name.split("/")
    check_name(org, "organisation")
    check_name(model, "model name")
    return name


def check_path(path: str) -> str:
    """A repo file path: relative, no '..', '.', empty or backslash segments."""
    if (not isinstance(path, str) or not path or len(path) > 1000 or path.startswith("/")
            or "\\" in path or "\x00" in path or any(ord(c) < 32 for c in path)):
        raise BadInput(f"invalid file path {path!r}")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise BadInput(f"invalid file path {path!r}", hint="no '..', '.' or empty segments")
    return path


class RepoMixin(HubBase):
    # ---- lookups and authorisation ------------------------------------------
    def _repo(self, s: Session, name: str) -> Repo:
        check_repo(name)
        repo = s.scalar(select(Repo).where(Repo.name == name))
        if repo is None:
            raise RepoNotFound(f"Repository {name} not found")
        return repo

    def _is_owner(self, caller: Caller | None, repo: Repo) -> bool:
        return caller is not None and (caller.admin or (caller.user_id == repo.licensor_id
                                                         and caller.has("publish")))

    def _need_owner(self, caller: Caller | None, repo: Repo) -> Caller:
        caller = need(caller, "read")
        if not self._is_owner(caller, repo):
            raise Forbidden(f"only the licensor of {repo.name} or an administrator may do this")
        return caller

    def _has_grant(self, s: Session, repo: Repo, caller: Caller) -> bool:
        return s.scalar(select(Grant.id).where(Grant.repo_id == repo.id, Grant.user_id == caller.user_id,
                                               Grant.revoked_at.is_(None)).limit(1)) is not None

    def _check_download(self, s: Session, caller: Caller | None, repo: Repo, commit: Commit | None = None) -> None:
        """Fail closed: withdrawn beats everything; gated needs the licensor, an admin or a live grant."""
        if repo.withdrawn or (commit is not None and commit.withdrawn_reason):
            raise TakenDown("Access to this resource is disabled.",
                            reason=repo.withdrawn_reason or (commit.withdrawn_reason if commit else None))
        if repo.gating == "open":
            return
        if caller is None:
            raise GatedAccess(f"{repo.name} is gated: log in and request access", repo=repo.name)
        if self._is_owner(caller, repo) or caller.admin or self._has_grant(s, repo, caller):
            return
        raise GatedAccess(f"Access to model {repo.name} is restricted. You must have access to it "
                          f"and be authenticated to access it. Request access on the model page.",
                          repo=repo.name)

    def _commit(self, s: Session, repo: Repo, rev: str) -> Commit:
        commit_id = repo.main if rev in ("main", "HEAD") else rev
        commit = s.get(Commit, commit_id) if commit_id and COMMIT_ID.match(commit_id) else None
        if commit is None or commit.repo_id != repo.id:
            raise RevisionNotFound(f"Revision {rev!r} not found in {repo.name}")
        return commit

    def _files(self, s: Session, commit_id: str) -> list[File]:
        return list(s.scalars(select(File).where(File.commit_id == commit_id).order_by(File.path)))

    # ---- read API -------------------------------------------------------------
    def can_download(self, caller: Caller | None, name: str) -> bool:
        with self.store.read() as s:
            repo = self._repo(s, name)
            try:
                self._check_download(s, caller, repo)
            except (GatedAccess, TakenDown, Unauthorized):
                return False
            return True

    def list_repos(self) -> list[dict]:
        with self.store.read() as s:
            rows = s.execute(select(Repo, User.name).join(User, Repo.licensor_id == User.id).order_by(Repo.name))
            return [self._summary(r, licensor) for r, licensor in rows]

    def _summary(self, repo: Repo, licensor: str) -> dict:
        return {"id": repo.name, "licensor": licensor, "gating": repo.gating, "license": repo.license_id,
                "category": (repo.verdict or {}).get("category", "unknown"), "sha": repo.main,
                "disabled": repo.withdrawn, "withdrawn_reason": repo.withdrawn_reason,
                "verdict": repo.verdict, "identification": repo.identification, "override": repo.override,
                "created_at": iso(repo.created_at)}

    def repo(self, name: str) -> dict:
        with self.store.read() as s:
            repo = self._repo(s, name)
            return self._summary(repo, s.get(User, repo.licensor_id).name)

    def model_info(self, caller: Caller | None, name: str, rev: str = "main") -> dict:
        """What HfApi.model_info needs. Metadata of gated repos is public (as on HF);
        their bytes are not."""
        with self.store.read() as s:
            repo = self._repo(s, name)
            licensor = s.get(User, repo.licensor_id).name
            commit = self._commit(s, repo, rev) if (repo.main or rev != "main") else None
            files = self._files(s, commit.id) if commit else []
            gated: Any = False if repo.gating == "open" else repo.gating
            return {
                "_id": f"aperto-{repo.id}", "id": repo.name, "modelId": repo.name, "author": repo.name.split("/")[0],
                "sha": commit.id if commit else None, "private": False, "gated": gated,
                "disabled": repo.withdrawn or bool(commit and commit.withdrawn_reason),
                "downloads": 0, "likes": 0, "tags": [f"license:{repo.license_id}"] if repo.license_id else [],
                "library_name": None, "createdAt": iso(repo.created_at),
                "lastModified": iso(commit.created_at) if commit else iso(repo.created_at),
                "cardData": {"license": repo.license_id or "unknown"},
                "siblings": [{"rfilename": f.path, "size": f.size, "blobId": f.sha256,
                              "lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134}} for f in files],
                "aperto": {"licensor": licensor, "gating": repo.gating,
                           "category": (repo.verdict or {}).get("category", "unknown"),
                           "withdrawn_reason": repo.withdrawn_reason},
            }

    def tree(self, caller: Caller | None, name: str, rev: str, prefix: str = "") -> list[dict]:
        with self.store.read() as s:
            repo = self._repo(s, name)
            commit = self._commit(s, repo, rev)
            entries: list[dict] = []
            dirs: set[str] = set()
            prefix = prefix.strip("/")
            for f in self._files(s, commit.id):
                if prefix and not f.path.startswith(prefix + "/"):
                    continue
                parts = f.path.split("/")
                for i in range(1, len(parts)):
                    dirs.add("/".join(parts[:i]))
                entries.append({"type": "file", "path": f.path, "size": f.size, "oid": f.sha256,
                                "lfs": {"oid": f.sha256, "sha256": f.sha256, "size": f.size, "pointerSize": 134}})
            for d in sorted(dirs):
                if not prefix or d.startswith(prefix + "/"):
                    entries.append({"type": "directory", "path": d, "size": 0, "oid": hashlib.sha1(d.encode()).hexdigest()})
            return sorted(entries, key=lambda e: e["path"])

    def file(self, caller: Caller | None, name: str, rev: str, path: str) -> dict:
        """Authorise one download and locate its blob: commit, size, sha256, blob path."""
        check_path(path)
        with self.store.read() as s:
            repo = self._repo(s, name)
            self._check_download(s, caller, repo)
            commit = self._commit(s, repo, rev)
            self._check_download(s, caller, repo, commit)
            row = s.scalar(select(File).where(File.commit_id == commit.id, File.path == path))
            if row is None:
                raise EntryNotFound(f"{path} not found in {name}@{commit.id}", commit=commit.id)
            return {"commit": commit.id, "path": path, "size": row.size, "sha256": row.sha256,
                    "blob": self.blobs.path(row.sha256)}

    # ---- publish ---------------------------------------------------------------
    def _may_publish(self, s: Session, caller: Caller | None, name: str) -> tuple[Caller, Repo | None]:
        caller = need(caller, "publish")
        check_repo(name)
        repo = s.scalar(select(Repo).where(Repo.name == name))
        if repo is not None:
            if not self._is_owner(caller, repo):
                raise Forbidden(f"only the licensor of {name} may publish to it")
        elif not caller.admin and name.split("/")[0] not in (caller.name, caller.org):
            raise Forbidden(f"{caller.name} may only create repos under {caller.name}/ or {caller.org}/")
        return caller, repo

    def _may_use_blob(self, s: Session, caller: Caller, sha256: str) -> bool:
        """Deduplication must not leak: a stored blob may be reused only by someone who
        uploaded it or may download it from some repo."""
        if self.blobs.proven(caller.user_id, sha256):
            return True
        rows = s.execute(select(Repo, Commit).join(Commit, Commit.repo_id == Repo.id)
                         .join(File, File.commit_id == Commit.id).where(File.sha256 == sha256)).all()
        for repo, commit in rows:
            try:
                self._check_download(s, caller, repo, commit)
                return True
            except (GatedAccess, TakenDown, Unauthorized):
                continue
        return False

    def upload_status(self, caller: Caller | None, name: str, sha256: str) -> dict:
        check_sha256(sha256)
        with self.store.read() as s:
            caller, _ = self._may_publish(s, caller, name)
            if self.blobs.has(sha256) and self._may_use_blob(s, caller, sha256):
                return {"sha256": sha256, "received": -1, "complete": True}
        have = self.blobs.received(caller.user_id, sha256)
        return {"sha256": sha256, "received": have, "complete": have < 0}

    def upload_writer(self, caller: Caller | None, name: str, sha256: str, size: int, offset: int):
        """Authorise an upload and open it; None when the blob is already stored."""
        check_sha256(sha256)
        with self.store.read() as s:
            caller, _ = self._may_publish(s, caller, name)
            if self.blobs.has(sha256) and self._may_use_blob(s, caller, sha256):
                return None
        return self.blobs.writer(caller.user_id, sha256, size, offset)

    def upload_done(self, caller: Caller, sha256: str, size: int, received: int) -> dict:
        """After the writer is closed: verify and store the blob once every byte is in."""
        if received == size:
            self.blobs.finish(caller.user_id, sha256, size)
            return {"sha256": sha256, "received": received, "complete": True}
        return {"sha256": sha256, "received": received, "complete": False}

    def upload(self, caller: Caller | None, name: str, sha256: str, size: int, offset: int,
               chunks: Iterable[bytes]) -> dict:
        """Append bytes to an upload; once all ``size`` bytes are in, verify and store the blob."""
        out = self.upload_writer(caller, name, sha256, size, offset)
        if out is None:
            return {"sha256": sha256, "received": size, "complete": True}
        try:
            for chunk in chunks:
                out.write(chunk)
        finally:
            received = out.close()
        return self.upload_done(caller, sha256, size, received)

    def commit(self, caller: Caller | None, name: str, files: list[dict], message: str = "",
               gating: str | None = None, parent: str | None = None, replace: bool = False) -> dict:
        """Create a commit from uploaded blobs; the first commit creates the repo.
        ``files``: [{"path", "sha256", "size"}] (merged onto the parent unless ``replace``);
        an entry with ``"delete": true`` removes a path."""
        if gating is not None and gating not in GATING:
            raise BadInput(f"gating must be one of {GATING}")
        if not isinstance(files, list) or not files:
            raise BadInput("a commit lists at least one file")
        with self._write() as s:
            caller, repo = self._may_publish(s, caller, name)
            if repo is None:
                repo = Repo(name=name, licensor_id=caller.user_id, gating="auto", withdrawn=False,
                            created_at=utcnow())
                s.add(repo)
                s.flush()
            if parent is not None and parent != repo.main:
                raise Conflict(f"main moved on: it is {repo.main}, not {parent}", main=repo.main)
            tree = {} if replace or not repo.main else {f.path: (f.sha256, f.size) for f in self._files(s, repo.main)}
            for entry in files:
                path = check_path(entry.get("path", ""))
                if entry.get("delete"):
                    tree.pop(path, None)
                    continue
                sha, size = check_sha256(entry.get("sha256", "")), entry.get("size")
                blob = self.blobs.path(sha)
                if not blob.is_file() or not self._may_use_blob(s, caller, sha):
                    raise Conflict(f"{path}: its bytes ({sha[:12]}...) were not uploaded", path=path)
                if not isinstance(size, int) or blob.stat().st_size != size:
                    raise BadInput(f"{path}: size {size} does not match the uploaded {blob.stat().st_size}")
                tree[path] = (sha, size)
            if not tree:
                raise BadInput("a commit cannot leave the repo empty")
            now = utcnow()
            body = {"repo": name, "parent": repo.main, "files": sorted(tree.items()), "message": message,
                    "author": caller.name, "at": iso(now)}
            commit_id = hashlib.sha1(canonical(body).encode()).hexdigest()
            s.add(Commit(id=commit_id, repo_id=repo.id, parent=repo.main, message=message,
                         author_id=caller.user_id, created_at=now))
            s.flush()
            for path, (sha, size) in sorted(tree.items()):
                s.add(File(commit_id=commit_id, path=path, size=size, sha256=sha))
            before = {"main": repo.main, "license": repo.license_id, "gating": repo.gating}
            candidates = {p: self.blobs.path(sha) for p, (sha, _) in tree.items()
                          if p in licensing.licence_candidates(list(tree))}
            license_id, identification = licensing.identify(candidates)
            repo.license_id, repo.identification = license_id, identification
            repo.verdict = licensing.verdict(license_id)
            automatic = "open" if repo.verdict.get("category") == "open-source" else "auto"
            if gating is not None:
                repo.override = {"gating": gating, "automatic": automatic, "by": caller.name, "at": iso(now)}
                self._audit(s, caller.name, "license.override", f"repo:{name}",
                            {"gating": repo.gating, "automatic": automatic}, repo.override)
            was_new, old_gating = repo.main is None, repo.gating
            repo.gating = repo.override["gating"] if repo.override else automatic
            repo.main = commit_id
            if was_new:  # the licensor may always use their own model
                self._event(s, "grant", name, caller.name, {"by": "publish", "licensor": True})
            if was_new or repo.gating != old_gating:
                self._event(s, "gating", name, None, {"gating": repo.gating})
            after = {"main": commit_id, "license": license_id, "gating": repo.gating,
                     "category": repo.verdict.get("category"), "files": len(tree), "message": message}
            self._audit(s, caller.name, "publish", f"repo:{name}", before, after)
            return {"commit": commit_id, "commitOid": commit_id, "repo": name, "license": license_id,
                    "category": repo.verdict.get("category"), "gating": repo.gating,
                    "identification": identification}

    def set_gating(self, caller: Caller | None, name: str, gating: str) -> dict:
        """The licensor overrides the automatic gating mode (recorded in the audit log)."""
        if gating not in GATING:
            raise BadInput(f"gating must be one of {GATING}")
        with self._write() as s:
            repo = self._repo(s, name)
            caller = self._need_owner(caller, repo)
            before = {"gating": repo.gating, "override": repo.override}
            automatic = "open" if (repo.verdict or {}).get("category") == "open-source" else "auto"
            repo.override = {"gating": gating, "automatic": automatic, "by": caller.name, "at": iso(utcnow())}
            repo.gating = gating
            if before["gating"] != gating:
                self._event(s, "gating", name, None, {"gating": gating})
            self._audit(s, caller.name, "license.override", f"repo:{name}", before, repo.override)
            return {"repo": name, "gating": gating, "override": repo.override}

    def commits(self, name: str) -> list[dict]:
        with self.store.read() as s:
            repo = self._repo(s, name)
            rows = s.execute(select(Commit, User.name).join(User, Commit.author_id == User.id)
                             .where(Commit.repo_id == repo.id).order_by(Commit.created_at.desc()))
            return [{"id": c.id, "parent": c.parent, "message": c.message, "author": a,
                     "created_at": iso(c.created_at), "withdrawn_reason": c.withdrawn_reason} for c, a in rows]

    # ---- takedown ----------------------------------------------------------------
    def withdraw(self, caller: Caller | None, name: str, reason: str, revision: str | None = None) -> dict:
        if not reason or not reason.strip():
            raise BadInput("a takedown needs a reason")
        return self._set_withdrawn(caller, name, reason.strip()[:2000], revision)

    def restore(self, caller: Caller | None, name: str, revision: str | None = None) -> dict:
        return self._set_withdrawn(caller, name, None, revision)

    def _set_withdrawn(self, caller: Caller | None, name: str, reason: str | None, revision: str | None) -> dict:
        with self._write() as s:
            repo = self._repo(s, name)
            caller = self._need_owner(caller, repo)
            if revision:
                commit = self._commit(s, repo, revision)
                before = {"withdrawn_reason": commit.withdrawn_reason}
                commit.withdrawn_reason = reason
                subject = f"repo:{name}@{commit.id}"
            else:
                before = {"withdrawn": repo.withdrawn, "withdrawn_reason": repo.withdrawn_reason}
                repo.withdrawn, repo.withdrawn_reason = reason is not None, reason
                subject = f"repo:{name}"
            kind = "takedown" if reason else "restore"
            data = {"reason": reason, "revision": revision, "by": caller.name}
            # gateways serve whole models: a single withdrawn revision is its own event type,
            # so it is never mistaken for (and never diverges from the snapshot as) a whole takedown
            self._event(s, f"revision-{kind}" if revision else kind, name, None, data)
            self._audit(s, caller.name, kind, subject, before, {"withdrawn_reason": reason, "revision": revision})
            return {"repo": name, "revision": revision, "withdrawn": reason is not None, "reason": reason}

    def blob_path(self, sha256: str) -> Path:
        return self.blobs.path(sha256)
