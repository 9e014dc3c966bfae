"""Publishing the way huggingface_hub publishes: repos created, moved and deleted; the
preupload / Git LFS batch / NDJSON commit sequence; branches and tags.

Every commit still goes through ``Repos.commit`` (licence identified, gating set, audited,
events emitted). Large files take Git LFS's ``basic`` transfer: a PUT to an upload URL that
authorises itself (the client sends no token there), signed with the hub's key for one
token, one sha256 and one size. A client with hf_xet sends "lfs" files through Xet instead
(hub/xet.py); both end as the caller's verified upload, which the commit names by sha256.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aperto import events
from aperto.errors import (
    BadInput,
    Conflict,
    EntryNotFound,
    Forbidden,
    RepoNotFound,
    RevisionNotFound,
    Unauthorized,
)
from aperto.hub.auth import Caller, check_name, iso, utcnow
from aperto.hub.core import Core, audit, emit
from aperto.hub.gate import check_path, check_repo, find_commit, find_repo, need_owner
from aperto.hub.repos import Repos, branch_ref
from aperto.hub.tokens import caller_of
from aperto.hub.xet import Xet
from aperto.store import access as access_rows
from aperto.store import repos as rows
from aperto.store import tokens as token_rows
from aperto.store.blobs import check_sha256

# files up to this size go inline in the commit ("regular"); larger ones through Git LFS, or
# through Xet when the client has hf_xet (hub/xet.py)
INLINE_MAX = 10 * 1024 * 1024
UPLOAD_TTL = 3600  # seconds an LFS upload URL stays valid


@dataclass
class Draft:
    caller: Caller
    name: str
    branch: str
    header: dict | None = None
    ops: list[tuple[str, dict]] = field(default_factory=list)
    added: set[str] = field(default_factory=set)
    lines: int = 0


class Publish:
    def __init__(self, core: Core, repos: Repos, key: Callable[[], bytes]) -> None:
        self.core, self.repos, self.key = core, repos, key
        self.inline_max = INLINE_MAX
        self.xet = Xet(repos, key, self.token_caller)

    # ---- repos -------------------------------------------------------------------
    def create_repo(self, caller: Caller | None, name: str, private: Any = None) -> dict:
        if private not in (None, False, "public"):
            raise BadInput("private repos are not supported: gate the repo instead",
                           hint="publish it public and set gating to 'manual'")
        with self.core.write() as s:
            caller, repo = self.repos._may_publish(s, caller, name)
            if repo is not None:
                raise Conflict(f"You already created this model repo: {name}", repo=name)
            was_deleted = rows.was_deleted(s, name=name)
            repo = rows.add_repo(s, name=name, licensor_id=caller.user_id)
            if was_deleted:  # gateways saw the old one taken down with its deletion
                emit(s, events.Restore(repo=name, data=events.ReasonData(by=caller.name)))
            audit(s, caller.name, "repo.create", f"repo:{name}", None, {"licensor": caller.name})
        return {"name": name, "id": f"aperto-{repo.id}"}

    def delete_repo(self, caller: Caller | None, name: str) -> dict:
        """The repo disappears from every listing and lookup; its rows stay (access history,
        audit, possession of its bytes), and gateways see it taken down."""
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            before = {"main": repo.main, "withdrawn": repo.withdrawn}
            repo.withdrawn, repo.withdrawn_reason = True, "repository deleted"
            tomb = rows.tombstone(s, repo=repo)
            emit(s, events.Takedown(repo=name, data=events.ReasonData(reason="repository deleted", by=caller.name)))
            audit(s, caller.name, "repo.delete", f"repo:{name}", before, {"kept_as": tomb})
        return {"deleted": name}

    def move_repo(self, caller: Caller | None, src: str, dst: str) -> dict:
        check_repo(dst)
        with self.core.write() as s:
            repo = find_repo(s, src)
            caller = need_owner(caller, repo)
            if not caller.admin and dst.split("/")[0] not in (caller.name, caller.org):
                raise Forbidden(f"{caller.name} may only move repos under {caller.name}/ or {caller.org}/")
            if rows.repo_by_name(s, name=dst) is not None:
                raise Conflict(f"{dst} already exists", repo=dst)
            rows.rename_repo(s, repo=repo, name=dst)
            # gateways know models by name: the old name goes, the new one arrives with its grants
            emit(s, events.Takedown(repo=src, data=events.ReasonData(reason=f"moved to {dst}", by=caller.name)))
            emit(s, events.GatingChanged(repo=dst, data=events.GatingData(gating=repo.gating)))  # type: ignore[arg-type]
            emit(s, events.Grant(repo=dst, user=rows.licensor_name(s, repo=repo),
                                 data=events.GrantData(by="publish", licensor=True)))
            for user in sorted({u for g, u in access_rows.grants_of_repo(s, repo_id=repo.id) if g.revoked_at is None}):
                emit(s, events.Grant(repo=dst, user=user, data=events.GrantData(by=caller.name)))
            audit(s, caller.name, "repo.move", f"repo:{dst}", {"name": src}, {"name": dst})
        return {"from": src, "to": dst}

    # ---- uploads -------------------------------------------------------------------
    def _publisher(self, caller: Caller | None, name: str) -> Caller:
        with self.core.store.read() as s:
            caller, repo = self.repos._may_publish(s, caller, name)
        if repo is None:
            raise RepoNotFound(f"Repository {name} not found", hint="create it first (HfApi.create_repo)")
        return caller

    def may_upload(self, caller: Caller | None, name: str, revision: str) -> Caller:
        """The caller, if they may upload to this repo at this revision."""
        caller = self._publisher(caller, name)
        self._branch(name, revision)
        return caller

    def preupload(self, caller: Caller | None, name: str, revision: str, files: Any) -> dict:
        self.may_upload(caller, name, revision)
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise BadInput("preupload takes {'files': [{'path', 'size', 'sample'}]}")
        out = []
        for f in files:
            path, size = check_path(f.get("path", "")), f.get("size")
            if not isinstance(size, int) or size < 0:
                raise BadInput(f"{path}: size must be a non-negative integer")
            mode = "regular" if size <= self.inline_max else "lfs"
            out.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": None})
        return {"files": out, "commitOid": None}

    def lfs_batch(self, caller: Caller | None, name: str, body: Any, base: str) -> dict:
        """Git LFS batch API, upload only, basic transfer only. A blob the caller already may
        use comes back without actions (nothing to send: uploads resume file by file)."""
        caller = self._publisher(caller, name)
        if not isinstance(body, dict) or body.get("operation") != "upload":
            raise BadInput("only the 'upload' operation is served here; downloads use /resolve")
        if "basic" not in (body.get("transfers") or ["basic"]):
            raise BadInput("this hub offers only the 'basic' LFS transfer")
        objects = body.get("objects")
        if not isinstance(objects, list) or not objects or len(objects) > 1000:
            raise BadInput("objects must list 1 to 1000 {'oid', 'size'}")
        out = []
        for obj in objects:
            oid, size = (obj.get("oid"), obj.get("size")) if isinstance(obj, dict) else (None, None)
            if not isinstance(oid, str) or not isinstance(size, int) or size < 0:
                raise BadInput("each object is {'oid': sha256 hex, 'size': bytes}")
            try:
                check_sha256(oid)
            except BadInput:
                out.append({"oid": str(oid), "size": size, "error": {"code": 422, "message": "oid is not a sha256"}})
                continue
            if size > self.core.blobs.max_size:
                out.append({"oid": oid, "size": size,
                            "error": {"code": 422, "message": f"larger than {self.core.blobs.max_size} bytes"}})
                continue
            status = self.repos.upload_status(caller, name, oid)
            entry: dict[str, Any] = {"oid": oid, "size": size, "authenticated": True}
            if not status["complete"]:
                entry["actions"] = {"upload": {"href": self.upload_href(base, caller, name, oid, size),
                                               "expires_in": UPLOAD_TTL}}
            out.append(entry)
        return {"transfer": "basic", "objects": out, "hash_algo": "sha256"}

    def _signature(self, token_sha: str, name: str, oid: str, size: int, expires: int) -> str:
        msg = f"lfs-upload:{token_sha}:{name}:{oid}:{size}:{expires}".encode()
        return hmac.new(self.key(), msg, hashlib.sha256).hexdigest()

    def upload_href(self, base: str, caller: Caller, name: str, oid: str, size: int) -> str:
        if not caller.token_sha256:
            raise Unauthorized("LFS uploads need a bearer token", hint="pass Authorization: Bearer <token>")
        expires = int(time.time()) + UPLOAD_TTL
        sig = self._signature(caller.token_sha256, name, oid, size, expires)
        return (f"{base.rstrip('/')}/api/models/{name}/upload/{oid}?size={size}&expires={expires}"
                f"&token={caller.token_sha256}&sig={sig}")

    def upload_caller(self, name: str, oid: str, size: int, expires: int, token_sha: str, sig: str) -> Caller:
        """Who a signed upload URL acts for: the token it was made for, if still live."""
        good = self._signature(token_sha, name, oid, size, expires)
        if not hmac.compare_digest(good.encode(), sig.encode()) or expires < time.time():
            raise Unauthorized("this upload URL is invalid or expired", hint="ask the LFS batch endpoint again")
        return self.token_caller(token_sha)

    def token_caller(self, token_sha: str) -> Caller:
        """Who a signed URL or Xet token made for this token acts for, while the token lives."""
        with self.core.store.read() as s:
            row = token_rows.token_with_user(s, sha256=token_sha)
        if row is None or not row[0].live(utcnow()):
            raise Unauthorized("the token this upload was authorised with was revoked or has expired")
        return caller_of(*row)

    # ---- commits ---------------------------------------------------------------------
    def _branch(self, name: str, revision: str) -> tuple[str, str | None]:
        """(branch, its head) a commit to ``revision`` goes to: main, or a branch made with create_branch."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            if revision in ("main", "HEAD"):
                return "main", repo.main
            return revision, branch_ref(s, repo, revision).commit_id

    def start_commit(self, caller: Caller | None, name: str, revision: str) -> Draft:
        """The NDJSON commit arrives line by line (``add_line``), so an inline file is held in
        memory only while it is decoded and stored as this caller's upload (content-addressed,
        referenced by nothing until the commit). ``finish_commit`` checks the whole and hands it
        to ``Repos.commit``, which writes it in one transaction or not at all."""
        caller = self._publisher(caller, name)
        return Draft(caller, name, self._branch(name, revision)[0])

    def add_line(self, draft: Draft, raw: bytes) -> None:
        draft.lines += 1
        if not raw.strip():
            return
        n = draft.lines
        try:
            item = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise BadInput(f"commit payload line {n} is not JSON", hint="send NDJSON: one object a line") from None
        if not isinstance(item, dict) or not isinstance(item.get("value"), dict):
            raise BadInput(f"commit payload line {n} is not {{'key': ..., 'value': {{...}}}}")
        key, value = item.get("key"), item["value"]
        if key == "header":
            if draft.header is not None or draft.ops:
                raise BadInput("the commit payload has one header, on its first line")
            draft.header = value
            return
        if draft.header is None:
            raise BadInput("the commit payload starts with a header line")
        if key not in ("file", "lfsFile", "deletedFile", "deletedFolder"):
            raise BadInput(f"commit payload line {n}: unknown key {key!r}")
        raw_path = value.get("path", "")
        path = check_path(raw_path.strip("/") if key == "deletedFolder" and isinstance(raw_path, str) else raw_path)
        if key in ("file", "lfsFile"):
            if path in draft.added:
                raise BadInput(f"{path} is added twice in one commit")
            draft.added.add(path)
        if key == "file":
            data = self._inline(path, value)
            sha = hashlib.sha256(data).hexdigest()
            have = self.repos.upload_status(draft.caller, draft.name, sha)["received"]
            if have >= 0:  # not stored yet; an earlier, broken upload of the same bytes is completed
                self.repos.upload(draft.caller, draft.name, sha, len(data), have, [data[have:]])
            draft.ops.append((key, {"path": path, "sha256": sha, "size": len(data)}))
        elif key == "lfsFile":
            draft.ops.append((key, self._lfs_entry(path, value)))
        else:
            draft.ops.append((key, {"path": path}))

    def finish_commit(self, draft: Draft, base: str) -> dict:
        if draft.header is None:
            raise BadInput("the commit payload starts with a header line")
        if not draft.ops:
            raise BadInput("a commit lists at least one operation")
        header, name, branch = draft.header, draft.name, draft.branch
        head = self._branch(name, branch)[1]
        with self.core.store.read() as s:
            current = {f.path for f in rows.files(s, commit_id=head)} if head else set()
        parent = header.get("parentCommit")
        if parent is not None and parent != head:
            raise Conflict(f"{branch} moved on: it is {head}, not {parent}", head=head)
        entries: list[dict] = []
        for key, value in draft.ops:
            path = value["path"]
            if key == "deletedFile":
                if path not in current:
                    raise EntryNotFound(f"{path} does not exist in {name}@{branch}", commit=head)
                entries.append({"path": path, "delete": True})
            elif key == "deletedFolder":
                gone = sorted(p for p in current if p.startswith(path + "/"))
                if not gone:
                    raise EntryNotFound(f"folder {path} does not exist in {name}@{branch}", commit=head)
                entries.extend({"path": p, "delete": True} for p in gone)
            else:
                entries.append(value)
        message = str(header.get("summary") or "").strip() or "Upload with huggingface_hub"
        if header.get("description"):
            message = f"{message}\n\n{header['description']}"
        # additions merge onto whatever the branch is now (as on HF); deletions were checked against
        # the tree read above, so the branch must not have moved under them
        deletes = any(key in ("deletedFile", "deletedFolder") for key, _ in draft.ops)
        result = self.repos.commit(draft.caller, name, entries, message[:10000], parent=head if deletes else None,
                                   branch=branch)
        return {**result, "commitUrl": f"{base.rstrip('/')}/{name}/commit/{result['commit']}",
                "commitOid": result["commit"], "success": True, "pullRequestUrl": None}

    def _inline(self, path: str, value: dict) -> bytes:
        if value.get("encoding", "base64") != "base64" or not isinstance(value.get("content"), str):
            raise BadInput(f"{path}: inline content must be base64")
        if len(value["content"]) > self.inline_max * 4 // 3 + 8:
            raise BadInput(f"{path}: inline files are at most {self.inline_max} bytes; send it through LFS")
        try:
            return base64.b64decode(value["content"], validate=True)
        except (binascii.Error, ValueError):
            raise BadInput(f"{path}: the content is not valid base64") from None

    def _lfs_entry(self, path: str, value: dict) -> dict:
        if value.get("algo", "sha256") != "sha256":
            raise BadInput(f"{path}: only sha256 LFS oids are accepted")
        oid = value.get("oid")
        if not isinstance(oid, str):
            raise BadInput(f"{path}: lfsFile needs an oid")
        check_sha256(oid)
        stored = self.core.blobs.size(oid)
        if stored is None:
            raise BadInput(f"{path}: no uploaded bytes have the oid {oid[:12]}...",
                           hint="upload through the LFS batch endpoint first")
        size = value.get("size", stored)  # a copy names the oid only
        return {"path": path, "sha256": oid, "size": size}

    # ---- branches and tags ---------------------------------------------------------
    def refs(self, name: str) -> dict:
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            branches = [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.main}] if repo.main else []
            tags: list[dict] = []
            for r in rows.refs(s, repo_id=repo.id):
                item = {"name": r.name, "ref": f"refs/{'heads' if r.kind == 'branch' else 'tags'}/{r.name}",
                        "targetCommit": r.commit_id}
                (branches if r.kind == "branch" else tags).append(item)
        return {"branches": branches, "tags": tags, "converts": [], "pullRequests": []}

    def create_ref(self, caller: Caller | None, name: str, kind: str, ref_name: str, revision: str,
                   message: str = "") -> dict:
        check_ref_name(ref_name)
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            if kind == "branch" and ref_name == "main":
                raise Conflict("main exists already")
            if rows.ref(s, repo_id=repo.id, kind=kind, name=ref_name) is not None:
                raise Conflict(f"{kind} {ref_name} exists already in {name}")
            commit = find_commit(s, repo, revision)
            rows.add_ref(s, repo_id=repo.id, kind=kind, name=ref_name, commit_id=commit.id, message=message[:2000])
            emit(s, events.RepoUpdated(repo=name, data=events.RepoUpdatedData(revision=commit.id, ref=ref_name,
                                                                               by=caller.name)))
            audit(s, caller.name, f"{kind}.create", f"repo:{name}", None, {"name": ref_name, "commit": commit.id})
        return {"name": ref_name, "commit": commit.id}

    def delete_ref(self, caller: Caller | None, name: str, kind: str, ref_name: str) -> dict:
        with self.core.write() as s:
            repo = find_repo(s, name)
            caller = need_owner(caller, repo)
            if kind == "branch" and ref_name == "main":
                raise Forbidden("main cannot be deleted; delete the repo instead")
            row = rows.ref(s, repo_id=repo.id, kind=kind, name=ref_name)
            if row is None:
                raise RevisionNotFound(f"{kind} {ref_name!r} not found in {name}")
            audit(s, caller.name, f"{kind}.delete", f"repo:{name}", {"name": ref_name, "commit": row.commit_id}, None)
            rows.delete_ref(s, row=row)
            emit(s, events.RepoUpdated(repo=name, data=events.RepoUpdatedData(ref=ref_name, by=caller.name)))
        return {"deleted": ref_name}

    # ---- history ----------------------------------------------------------------------
    def commits(self, name: str, revision: str) -> list[dict]:
        """HfApi.list_repo_commits' shape: id, authors, date, title, message."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            head = find_commit(s, repo, revision)
            out = []
            for c, author in rows.history(s, repo_id=repo.id, head=head.id):
                title, _, rest = (c.message or "").partition("\n")
                out.append({"id": c.id, "authors": [{"user": author}], "date": iso(c.created_at),
                            "title": title, "message": rest.strip(), "parents": [c.parent] if c.parent else []})
        return out


def check_ref_name(ref: str) -> str:
    if not isinstance(ref, str) or len(ref) > 200:
        raise BadInput(f"invalid branch or tag name {ref!r}")
    for part in ref.split("/"):
        check_name(part, "branch or tag name")
    return ref
