"""The read side of the Hugging Face API beyond model_info: list_models with its filters,
trees (recursive or one level, with last commits), paths-info and the model card's metadata.
Metadata of gated repos is public, as on HF; their bytes are not (see gate.py)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aperto.errors import BadInput, EntryNotFound
from aperto.hub import cards, gate_form
from aperto.hub.auth import iso
from aperto.hub.core import Core
from aperto.hub.gate import check_path, find_commit, find_repo
from aperto.hub.i18n import N_
from aperto.store import Session
from aperto.store import repos as rows
from aperto.store.models import Commit, File, Repo

CARD_MAX = 1024 * 1024  # a README larger than this is not read for metadata
SORTS = {"lastModified", "last_modified", "createdAt", "created_at", "id", "downloads", "likes", "trending_score"}


def card_metadata(core: Core, files: list[File]) -> dict[str, Any]:
    for f in files:
        if f.path.lower() == "readme.md" and f.size <= CARD_MAX:
            try:
                return cards.metadata(core.blobs.local(f.sha256).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                return {}
    return {}


def card_answers(card: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The requester's answers to the card's ``extra_gated_fields`` (sent as ``gated_fields``),
    checked by type (hub/gate_form.py), and the card's ``extra_gated_prompt``, to be stored
    with the request."""
    return gate_form.answers(card, fields.get("gated_fields") or {})


def tags_of(repo: Repo, meta: dict[str, Any]) -> list[str]:
    tags = [str(t) for t in meta.get("tags") or [] if isinstance(t, (str, int, float))]
    for key in ("library_name", "pipeline_tag"):
        if isinstance(meta.get(key), str):
            tags.append(meta[key])
    licence = repo.license_id or (meta.get("license") if isinstance(meta.get("license"), str) else None)
    if licence:
        tags.append(f"license:{licence}")
    return list(dict.fromkeys(tags))


class Listing:
    def __init__(self, core: Core) -> None:
        self.core = core

    def summary(self, s: Session, repo: Repo, full: bool, with_card: bool) -> dict[str, Any]:
        commit = rows.commit_by_id(s, commit_id=repo.main) if repo.main else None
        files = rows.files(s, commit_id=repo.main) if repo.main else []
        meta = card_metadata(self.core, files)
        out: dict[str, Any] = {
            "_id": f"aperto-{repo.id}", "id": repo.name, "modelId": repo.name, "author": repo.name.split("/")[0],
            "sha": repo.main, "private": False, "gated": False if repo.gating == "open" else repo.gating,
            "disabled": repo.withdrawn, "downloads": 0, "likes": 0, "tags": tags_of(repo, meta),
            "library_name": meta.get("library_name"), "pipeline_tag": meta.get("pipeline_tag"),
            "createdAt": iso(repo.created_at),
            "lastModified": iso(commit.created_at if commit else repo.created_at),
        }
        if full:
            out["siblings"] = [{"rfilename": f.path, "size": f.size} for f in files]
        if with_card:
            out["cardData"] = {**meta, "license": repo.license_id or meta.get("license") or "unknown"}
        return out

    def list_models(self, search: str | None = None, author: str | None = None, filters: list[str] | None = None,
                    sort: str | None = None, direction: int | None = None, limit: int | None = None,
                    full: bool = False, card: bool = False) -> list[dict]:
        with self.core.store.read() as s:
            items = [self.summary(s, r, full, card) for r in rows.repos(s)]
        if search:
            items = [m for m in items if search.lower() in m["id"].lower()]
        if author:
            items = [m for m in items if m["author"].lower() == author.lower()]
        for tag in filters or []:
            items = [m for m in items if tag in m["tags"] or tag == m["id"] or tag == m.get("library_name")]
        if sort:
            if sort not in SORTS:
                raise BadInput(N_("sort must be one of %(sorts)s"), values={"sorts": str(sorted(SORTS))})
            key = {"last_modified": "lastModified", "created_at": "createdAt"}.get(sort, sort)
            items.sort(key=lambda m: (m.get(key) is None, m.get(key) or 0), reverse=(direction or -1) < 0)
        return items[:limit] if limit else items

    def card_html(self, name: str) -> str | None:
        """The README at main rendered and sanitised for the model page; none once taken down."""
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            files = rows.files(s, commit_id=repo.main) if repo.main and not repo.withdrawn else []
        for f in files:
            if f.path.lower() == "readme.md" and f.size <= CARD_MAX:
                text = self.core.blobs.local(f.sha256).read_text(encoding="utf-8", errors="replace")
                return cards.render(text, name, f.commit_id)
        return None

    # ---- trees ------------------------------------------------------------------------
    def _last_commits(self, s: Session, repo: Repo, head: Commit) -> dict[str, dict]:
        """For each path at ``head``: the newest commit that changed it."""
        last: dict[str, dict] = {}
        seen: dict[str, str] = {}
        for c, _ in reversed(rows.history(s, repo_id=repo.id, head=head.id)):
            info = {"id": c.id, "title": (c.message or "").partition("\n")[0], "date": iso(c.created_at)}
            for f in rows.files(s, commit_id=c.id):
                if seen.get(f.path) != f.sha256:
                    seen[f.path], last[f.path] = f.sha256, info
        return last

    def tree_json(self, name: str, rev: str, prefix: str = "", recursive: bool = False, expand: bool = False) -> bytes:
        """``tree`` as JSON bytes, from the metadata cache (the feed invalidates it)."""
        return self.core.metadata.get(name, ("tree", rev, prefix, recursive, expand), lambda: json.dumps(
            self.tree(name, rev, prefix, recursive, expand), ensure_ascii=False, separators=(",", ":")).encode())

    def tree(self, name: str, rev: str, prefix: str = "", recursive: bool = False, expand: bool = False) -> list[dict]:
        prefix = prefix.strip("/")
        if prefix:
            check_path(prefix)
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            commit = find_commit(s, repo, rev)
            files = rows.files(s, commit_id=commit.id)
            last = self._last_commits(s, repo, commit) if expand else {}
        under = [f for f in files if not prefix or f.path.startswith(prefix + "/")]
        if prefix and not under:
            if any(f.path == prefix for f in files):
                return [self._file(f, last, expand) for f in files if f.path == prefix]
            raise EntryNotFound(N_("%(path)s not found in %(repo)s@%(commit)s"),
                                values={"path": prefix, "repo": name, "commit": commit.id}, commit=commit.id)
        depth = prefix.count("/") + 1 if prefix else 0
        entries: dict[str, dict] = {}
        for f in under:
            parts = f.path.split("/")
            for i in range(depth + 1, len(parts)):
                folder = "/".join(parts[:i])
                if recursive or i == depth + 1:
                    entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0,
                                                "oid": _folder_oid(folder, commit.id)})
            if recursive or len(parts) == depth + 1:
                entries[f.path] = self._file(f, last, expand)
        return sorted(entries.values(), key=lambda e: (e["type"] != "directory", e["path"]))

    @staticmethod
    def _file(f: File, last: dict[str, dict], expand: bool) -> dict:
        entry: dict[str, Any] = {"type": "file", "path": f.path, "size": f.size, "oid": f.sha256,
                                 "lfs": {"oid": f.sha256, "size": f.size, "pointerSize": 134}}
        if expand:
            entry["lastCommit"] = last.get(f.path)
        return entry

    def paths_info_json(self, name: str, rev: str, paths: list[str], expand: bool = False) -> bytes:
        """``paths_info`` as JSON bytes, from the metadata cache (the feed invalidates it)."""
        return self.core.metadata.get(name, ("paths", rev, tuple(paths), expand), lambda: json.dumps(
            self.paths_info(name, rev, paths, expand), ensure_ascii=False, separators=(",", ":")).encode())

    def paths_info(self, name: str, rev: str, paths: list[str], expand: bool = False) -> list[dict]:
        with self.core.store.read() as s:
            repo = find_repo(s, name)
            commit = find_commit(s, repo, rev)
            files = {f.path: f for f in rows.files(s, commit_id=commit.id)}
            last = self._last_commits(s, repo, commit) if expand else {}
        out = []
        for p in paths:
            p = check_path(p.strip("/")) if p.strip("/") else ""
            if p in files:
                out.append(self._file(files[p], last, expand))
            elif not p or any(k.startswith(p + "/") for k in files):
                out.append({"type": "directory", "path": p, "size": 0, "oid": _folder_oid(p, commit.id)})
        return out


def _folder_oid(path: str, commit: str) -> str:
    return hashlib.sha1(f"{commit}:{path}".encode()).hexdigest()
