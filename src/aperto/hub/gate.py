"""The gate: who may read a repo's bytes, and who acts for its licensor. Every
service asks here, so the rule lives in one place and fails closed."""

from __future__ import annotations

import re

from aperto.errors import (
    BadInput,
    Forbidden,
    GatedAccess,
    RepoNotFound,
    RevisionNotFound,
    TakenDown,
    Unauthorized,
)
from aperto.hub.auth import Caller, check_name, need
from aperto.hub.i18n import N_
from aperto.store import Session
from aperto.store import access as access_rows
from aperto.store import repos as repo_rows
from aperto.store.models import Commit, File, Repo

COMMIT_ID = re.compile(r"^[0-9a-f]{40}$")
TERMS = re.compile(r"^(licen[cs]e|copying|notice|use_policy|acceptable_use_policy)(\.(md|txt))?$", re.IGNORECASE)


def check_repo(name: str) -> str:
    if not isinstance(name, str) or name.count("/") != 1:
        raise BadInput(N_("invalid repo name %(name)s"), hint=N_("use ORG/NAME"), values={"name": repr(name)})
    org, model = name.split("/")
    check_name(org, "organisation")
    check_name(model, "model name")
    return name


def check_path(path: str) -> str:
    """A repo file path: relative, no '..', '.', empty or backslash segments."""
    if (not isinstance(path, str) or not path or len(path) > 1000 or path.startswith("/")
            or "\\" in path or "\x00" in path or any(ord(c) < 32 for c in path)):
        raise BadInput(N_("invalid file path %(path)s"), values={"path": repr(path)})
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise BadInput(N_("invalid file path %(path)s"), hint=N_("no '..', '.' or empty segments"),
                       values={"path": repr(path)})
    return path


def find_repo(s: Session, name: str) -> Repo:
    check_repo(name)
    repo = repo_rows.repo_by_name(s, name=name)
    if repo is None:
        raise RepoNotFound(N_("Repository %(repo)s not found"), values={"repo": name})
    return repo


def find_commit(s: Session, repo: Repo, rev: str) -> Commit:
    commit_id = repo.main if rev in ("main", "HEAD") else rev
    if commit_id and not COMMIT_ID.match(commit_id):  # another branch, or a tag
        ref = (repo_rows.ref(s, repo_id=repo.id, kind="branch", name=rev)
               or repo_rows.ref(s, repo_id=repo.id, kind="tag", name=rev))
        commit_id = ref.commit_id if ref else None
    commit = repo_rows.commit_by_id(s, commit_id=commit_id) if commit_id and COMMIT_ID.match(commit_id) else None
    if commit is None or commit.repo_id != repo.id:
        raise RevisionNotFound(N_("Revision %(rev)s not found in %(repo)s"), values={"rev": repr(rev), "repo": repo.name})
    return commit


def is_owner(caller: Caller | None, repo: Repo) -> bool:
    return caller is not None and (caller.admin or (caller.user_id == repo.licensor_id and caller.has("publish")))


def need_owner(caller: Caller | None, repo: Repo) -> Caller:
    caller = need(caller, "read")
    if not is_owner(caller, repo):
        raise Forbidden(N_("only the licensor of %(repo)s or an administrator may do this"), values={"repo": repo.name})
    return caller


def has_grant(s: Session, repo: Repo, caller: Caller) -> bool:
    return bool(access_rows.live_grants(s, repo_id=repo.id, user_id=caller.user_id))


def is_terms(path: str | None) -> bool:
    """The licence, notice and use policy at the top of a repo: what one must read before
    accepting, so anyone may read them even on a gated repo (never a taken-down one). The card
    (README) stays gated, as on Hugging Face; its rendered text is on the model page."""
    return bool(path and TERMS.match(path))


def check_download(s: Session, caller: Caller | None, repo: Repo, commit: Commit | None = None,
                   path: str | None = None) -> None:
    """Fail closed: withdrawn beats everything; gated needs the licensor, an admin or a live grant."""
    if repo.withdrawn or (commit is not None and commit.withdrawn_reason):
        raise TakenDown(N_("Access to this resource is disabled."),
                        reason=repo.withdrawn_reason or (commit.withdrawn_reason if commit else None))
    if repo.gating == "open" or is_terms(path):
        return
    if caller is None:
        raise GatedAccess(N_("%(repo)s is gated: log in and request access"), values={"repo": repo.name},
                          repo=repo.name)
    if is_owner(caller, repo) or has_grant(s, repo, caller):
        return
    raise GatedAccess(N_("Access to model %(repo)s is restricted. You must have access to it and be authenticated to access it. Request access on the model page."),  # noqa: E501
                      values={"repo": repo.name}, repo=repo.name)


def check_file(s: Session, file: File) -> None:
    """Bytes a commit got by reference (not by upload) follow their source: once they are
    withdrawn anywhere, no repo that merely referenced them serves them."""
    if file.origin != "upload" and repo_rows.blob_withdrawn(s, sha256=file.sha256):
        raise TakenDown(N_("Access to this resource is disabled."), reason="these bytes were taken down at their source")


def may_read(s: Session, caller: Caller | None, repo: Repo, commit: Commit | None = None) -> bool:
    try:
        check_download(s, caller, repo, commit)
    except (GatedAccess, TakenDown, Unauthorized):
        return False
    return True
