"""Repositories: metadata, files, uploads, commits, gating mode, takedown."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aperto import events
from aperto.errors import BadInput, Conflict, EntryNotFound, Forbidden, RevisionNotFound
from aperto.hub import licensing
from aperto.hub.auth import Caller, canonical, iso, need, utcnow
from aperto.hub.core import Core, audit, emit
from aperto.hub.gate import (
    check_download,
    check_file,
    check_path,
    check_repo,
    find_commit,
    find_repo,
    is_owner,
    may_read,
    need_owner,
)
from aperto.hub.i18n import N_
from aperto.hub.listing import card_metadata, tags_of
from aperto.store import Session
from aperto.store import repos as rows
from aperto.store.blobs import BlobWriter, check_sha256
from aperto.store.models import Ref, Repo

GATING = ("open", "auto", "manual")


TERMS_TEXT = re.compile(r"^(use_policy|acceptable_use_policy|aup|notice)(\.[a-z]+)?$", re.IGNORECASE)


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON, as a cached answer is sent."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def automatic_gating(repo: Repo) -> str:
    return "open" if (repo.verdict or {}).get("category") == "open-source" else "auto"


def branch_ref(s: Session, repo: Repo, branch: str) -> Ref:
    """A branch other than main, which commits may go to."""
    ref = rows.ref(s, repo_id=repo.id, kind="branch", name=branch)
    if ref is None:
        if rows.ref(s, repo_id=repo.id, kind="tag", name=branch) is not None:
            raise BadInput(f"{branch!r} is a tag; commits go to a branch", hint="create a branch (HfApi.create_branch)")
        raise RevisionNotFound(f"Revision {branch!r} not found in {repo.name}: commits go to main or a branch",
                               hint="create the branch first (HfApi.create_branch)")
    return ref


class Repos:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.blobs = core.blobs

    # ---- read API -------------------------------------------------------------
    def can_download(self, caller: Caller | None, name: str) -> bool:
        with self.core.store.read() as s:
            return may_read(s, caller, find_repo(s, name))

    def list_repos(self) -> list[dict]:
        with self.core.store.read() as s:
            return [self._summary(r, licensor) for r, licensor in rows.repos_with_licensor(s)]

    def _summary(self, repo: Repo, licensor: str) -> dict:
        return {"id": repo.name, "licensor": licensor, "gating": repo.gating, "license": repo.license_id,
                "category": (repo.verdict or {}).get("category", "unknown"), "sha": repo.main,
                "disabled": repo.withdrawn, "withdrawn_reason": repo.withdrawn_reason,
                "verdict": repo.verdict, "identification": repo.identification, "override": repo.override,
                "created_at": iso(repo.created_at)}

    def repo(self, name: str) -> dict:
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            return self._summary(repo, rows.licensor_name(s, repo=repo))

    def model_info(self, caller: Caller | None, name: str, rev: str = "main") -> dict:
        """What HfApi.model_info needs. Metadata of gated repos is public (as on HF);
        their bytes are not."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            licensor = rows.licensor_name(s, repo=repo)
            commit = find_commit(s, repo, rev) if (repo.main or rev != "main") else None
            files = rows.files(s, commit_id=commit.id) if commit else []
            meta = card_metadata(self.core, files)
            gated: Any = False if repo.gating == "open" else repo.gating
            return {
                "_id": f"aperto-{repo.id}", "id": repo.name, "modelId": repo.name, "author": repo.name.split("/")[0],
                "sha": commit.id if commit else None, "private": False, "gated": gated,
                "disabled": repo.withdrawn or bool(commit and commit.withdrawn_reason),
                "downloads": 0, "likes": 0, "tags": tags_of(repo, meta),
                "library_name": meta.get("library_name"), "pipeline_tag": meta.get("pipeline_tag"),
                "createdAt": iso(repo.created_at),
                "lastModified": iso(commit.created_at) if commit else iso(repo.created_at),
                "cardData": {**meta, "license": repo.license_id or meta.get("license") or "unknown"},
                "siblings": [{"rfilename": f.path, "size": f.size, "blobId": f.sha256,
                              "lfs": {"sha256": f.sha256, "size": f.size, "pointerSize": 134}} for f in files],
                "aperto": {"licensor": licensor, "gating": repo.gating,
                           "category": (repo.verdict or {}).get("category", "unknown"),
                           "withdrawn_reason": repo.withdrawn_reason,
                           "licence_status": (repo.identification or {}).get("status")},
            }

    def model_info_json(self, name: str, rev: str = "main", cached_only: bool = False) -> bytes | None:
        """model_info as JSON bytes, from the metadata cache (the feed invalidates it); with
        ``cached_only``, None unless cached (no query: safe on the event loop)."""
        return self.core.metadata.get(name, ("info", rev), None if cached_only else
                                      lambda: json_bytes(self.model_info(None, name, rev)))

    def file(self, caller: Caller | None, name: str, rev: str, path: str, cached_only: bool = False) -> dict | None:
        """Authorise one download and locate its blob: commit, size, sha256, blob path. An answer is
        cached per (who, rev, path): who is everything the gate looks at (anonymous, or user, admin
        and publish scope); any event about the repo forgets it, a grant or revocation included."""
        who = None if caller is None else (caller.user_id, caller.admin, caller.has("publish"))
        return self.core.metadata.get(name, ("file", who, rev, path),
                                      None if cached_only else lambda: self._file(caller, name, rev, path))

    def _file(self, caller: Caller | None, name: str, rev: str, path: str) -> dict:
        check_path(path)
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            check_download(s, caller, repo, path=path)
            commit = find_commit(s, repo, rev)
            check_download(s, caller, repo, commit, path)
            row = rows.file(s, commit_id=commit.id, path=path)
            if row is None:
                raise EntryNotFound(f"{path} not found in {name}@{commit.id}", commit=commit.id)
            check_file(s, row)
            return {"commit": commit.id, "path": path, "size": row.size, "sha256": row.sha256,
                    "blob": self.blobs.path(row.sha256)}

    # ---- publish ---------------------------------------------------------------
    def _may_publish(self, s: Session, caller: Caller | None, name: str) -> tuple[Caller, Repo | None]:
        caller = need(caller, "publish")
        check_repo(name)
        repo = rows.repo_by_name(s, name=name)
        if repo is not None:
            if not is_owner(caller, repo):
                raise Forbidden(N_("only the licensor of %(repo)s may publish to it"), values={"repo": name})
        elif not caller.admin and name.split("/")[0] not in (caller.name, caller.org):
            raise Forbidden(f"{caller.name} may only create repos under {caller.name}/ or {caller.org}/")
        return caller, repo

    def _origin(self, s: Session, caller: Caller, sha256: str) -> str | None:
        """How this caller may put a stored blob in a commit: "upload" when they sent the bytes
        themselves, "reference" when they can already read a repo that holds them, else None.
        Knowing a sha256 is not owning the bytes: it is public metadata of gated repos."""
        if self.blobs.proven(caller.user_id, sha256):
            return "upload"
        for repo, commit, file in rows.holders_of_blob(s, sha256=sha256):
            if may_read(s, caller, repo, commit):
                try:
                    check_file(s, file)
                except Forbidden:
                    continue
                return "reference"
        return None

    def upload_status(self, caller: Caller | None, name: str, sha256: str) -> dict:
        check_sha256(sha256)
        with self.core.store.read() as s:
            caller, _ = self._may_publish(s, caller, name)
            if self.blobs.has(sha256) and self._origin(s, caller, sha256):
                return {"sha256": sha256, "received": -1, "complete": True}
        have = self.blobs.received(caller.user_id, sha256)
        return {"sha256": sha256, "received": have, "complete": have < 0}

    def upload_writer(self, caller: Caller | None, name: str, sha256: str, size: int,
                      offset: int) -> BlobWriter | None:
        """Authorise an upload and open it; None when the blob is already stored."""
        check_sha256(sha256)
        with self.core.store.read() as s:
            caller, _ = self._may_publish(s, caller, name)
            if self.blobs.has(sha256) and self._origin(s, caller, sha256):
                return None
        return self.blobs.writer(caller.user_id, sha256, size, offset)

    def upload_done(self, caller: Caller | None, sha256: str, size: int, received: int) -> dict:
        """After the writer is closed: verify and store the blob once every byte is in."""
        caller = need(caller, "publish")
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
        assert caller is not None  # upload_writer refused anonymous callers
        return self.upload_done(caller, sha256, size, received)

    def commit(self, caller: Caller | None, name: str, files: list[dict], message: str = "",
               gating: str | None = None, parent: str | None = None, replace: bool = False,
               branch: str = "main") -> dict:
        """Create a commit from uploaded blobs; the first commit creates the repo.
        ``files``: [{"path", "sha256", "size"}] (merged onto the parent unless ``replace``);
        an entry with ``"delete": true`` removes a path. A commit to another ``branch`` (made
        with create_branch) moves only that branch: the repo's licence and gating follow main."""
        if gating is not None and gating not in GATING:
            raise BadInput(N_("gating must be one of %(modes)s"), values={"modes": str(GATING)})
        if not isinstance(files, list) or not files:
            raise BadInput("a commit lists at least one file")
        with self.core.write() as s:
            caller, repo = self._may_publish(s, caller, name)
            if repo is None:
                repo = rows.add_repo(s, name=name, licensor_id=caller.user_id)
            ref = None if branch == "main" else branch_ref(s, repo, branch)
            head = repo.main if ref is None else ref.commit_id
            if parent is not None and parent != head:
                raise Conflict(f"{branch} moved on: it is {head}, not {parent}", head=head)
            tree: dict[str, tuple[str, int, str]] = {}
            if not replace and head:
                tree = {f.path: (f.sha256, f.size, f.origin) for f in rows.files(s, commit_id=head)}
            for entry in files:
                if not isinstance(entry, dict):
                    raise BadInput("each file of a commit is an object with path, sha256 and size")
                path = check_path(entry.get("path", ""))
                if entry.get("delete"):
                    tree.pop(path, None)
                    continue
                sha, size = check_sha256(entry.get("sha256", "")), entry.get("size")
                stored = self.blobs.size(sha)
                origin = self._origin(s, caller, sha) if stored is not None else None
                if origin is None:
                    raise Conflict(f"{path}: its bytes ({sha[:12]}...) were not uploaded",
                                   hint="upload the file first; a sha256 alone does not give its bytes", path=path)
                if not isinstance(size, int) or stored != size:
                    raise BadInput(f"{path}: size {size} does not match the uploaded {stored}")
                tree[path] = (sha, size, origin)
            if not tree:
                raise BadInput("a commit cannot leave the repo empty")
            now = utcnow()
            body = {"repo": name, "parent": head, "files": sorted((p, v[:2]) for p, v in tree.items()),
                    "message": message, "author": caller.name, "at": iso(now)}
            commit_id = hashlib.sha1(canonical(body).encode()).hexdigest()
            rows.add_commit(s, commit_id=commit_id, repo_id=repo.id, parent=head, message=message,
                            author_id=caller.user_id, at=now, tree=tree)
            candidates = {p: self.blobs.local(v[0]) for p, v in tree.items()
                          if p in licensing.licence_candidates(list(tree))}
            license_id, identification = licensing.identify(candidates)
            if ref is not None:
                ref.commit_id = commit_id
                emit(s, events.RepoUpdated(repo=name, data=events.RepoUpdatedData(revision=commit_id, ref=branch,
                                                                                   by=caller.name)))
                audit(s, caller.name, "publish", f"repo:{name}", {branch: head},
                      {branch: commit_id, "license": license_id, "files": len(tree), "message": message})
                return {"commit": commit_id, "commitOid": commit_id, "repo": name, "branch": branch,
                        "license": license_id, "category": licensing.verdict(license_id).get("category"),
                        "gating": repo.gating, "identification": identification}
            before = {"main": repo.main, "license": repo.license_id, "gating": repo.gating}
            repo.license_id, repo.identification = license_id, identification
            repo.verdict = licensing.verdict(license_id)
            automatic = automatic_gating(repo)
            if gating is not None:
                repo.override = {"gating": gating, "automatic": automatic, "by": caller.name, "at": iso(now)}
                audit(s, caller.name, "license.override", f"repo:{name}",
                      {"gating": repo.gating, "automatic": automatic}, repo.override)
            was_new, old_gating = repo.main is None, repo.gating
            repo.gating = repo.override["gating"] if repo.override else automatic
            repo.main = commit_id
            if was_new:  # the licensor may always use their own model
                emit(s, events.Grant(repo=name, user=caller.name, data=events.GrantData(by="publish", licensor=True)))
            if was_new or repo.gating != old_gating:
                emit(s, events.GatingChanged(repo=name, data=events.GatingData(gating=repo.gating)))
            emit(s, events.RepoUpdated(repo=name, data=events.RepoUpdatedData(revision=commit_id, by=caller.name)))
            after = {"main": commit_id, "license": license_id, "gating": repo.gating,
                     "category": repo.verdict.get("category"), "files": len(tree), "message": message}
            audit(s, caller.name, "publish", f"repo:{name}", before, after)
            return {"commit": commit_id, "commitOid": commit_id, "repo": name, "license": license_id,
                    "category": repo.verdict.get("category"), "gating": repo.gating,
                    "identification": identification}

    def set_gating(self, caller: Caller | None, name: str, gating: str) -> dict:
        """The licensor overrides the automatic gating mode (recorded in the audit log)."""
        if gating not in GATING:
            raise BadInput(N_("gating must be one of %(modes)s"), values={"modes": str(GATING)})
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            before = {"gating": repo.gating, "override": repo.override}
            repo.override = {"gating": gating, "automatic": automatic_gating(repo), "by": caller.name,
                             "at": iso(utcnow())}
            repo.gating = gating
            if before["gating"] != gating:
                emit(s, events.GatingChanged(repo=name, data=events.GatingData(gating=gating)))
            audit(s, caller.name, "license.override", f"repo:{name}", before, repo.override)
            return {"repo": name, "gating": gating, "override": repo.override}

    def license_file(self, name: str) -> dict | None:
        """The licence file at main (path and sha256 of its text), which an acceptance records."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            if not repo.main:
                return None
            for f in rows.files(s, commit_id=repo.main):
                if licensing.is_licence_text(f.path):
                    return {"path": f.path, "sha256": f.sha256, "size": f.size}
        return None

    def terms_texts(self, name: str, limit: int = 1_000_000) -> list[dict]:
        """The licence and use-policy documents at main, as text, for reading before accepting:
        they are the terms anyone is asked to accept, so they are shown even on a gated repo."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            found = [(f.path, f.sha256, f.size) for f in rows.files(s, commit_id=repo.main)] if repo.main else []
        out = []
        for path, sha, size in found:
            if "/" in path or not (licensing.is_licence_text(path) or TERMS_TEXT.match(path)) or size > limit:
                continue
            text = self.blobs.local(sha).read_bytes().decode("utf-8", errors="replace")
            out.append({"path": path, "sha256": sha, "text": text})
        return out

    # ---- takedown ----------------------------------------------------------------
    def withdraw(self, caller: Caller | None, name: str, reason: str, revision: str | None = None) -> dict:
        if not isinstance(reason, str) or not reason.strip():
            raise BadInput(N_("a takedown needs a reason"))
        return self._set_withdrawn(caller, name, reason.strip()[:2000], revision)

    def restore(self, caller: Caller | None, name: str, revision: str | None = None) -> dict:
        return self._set_withdrawn(caller, name, None, revision)

    def _set_withdrawn(self, caller: Caller | None, name: str, reason: str | None, revision: str | None) -> dict:
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            if revision:
                commit = find_commit(s, repo, revision)
                before: dict[str, Any] = {"withdrawn_reason": commit.withdrawn_reason}
                commit.withdrawn_reason = reason
                subject = f"repo:{name}@{commit.id}"
            else:
                before = {"withdrawn": repo.withdrawn, "withdrawn_reason": repo.withdrawn_reason}
                repo.withdrawn, repo.withdrawn_reason = reason is not None, reason
                subject = f"repo:{name}"
            kind = "takedown" if reason else "restore"
            # gateways serve whole models: a single withdrawn revision is its own event type,
            # so it is never mistaken for (and never diverges from the snapshot as) a whole takedown
            if revision:
                one = events.RevisionData(reason=reason, revision=revision, by=caller.name)
                emit(s, events.RevisionTakedown(repo=name, data=one) if reason
                     else events.RevisionRestore(repo=name, data=one))
            else:
                whole = events.ReasonData(reason=reason, by=caller.name)
                emit(s, events.Takedown(repo=name, data=whole) if reason else events.Restore(repo=name, data=whole))
            audit(s, caller.name, kind, subject, before, {"withdrawn_reason": reason, "revision": revision})
            return {"repo": name, "revision": revision, "withdrawn": reason is not None, "reason": reason}

    def blob_path(self, sha256: str) -> Path:
        return self.blobs.path(sha256)
