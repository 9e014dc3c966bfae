"""Who may use what, held in memory: tokens (sha256 only), grants, open repos,
takedowns and kills, as learned from the hub's snapshot and event feed (or read
from a standalone policy file). Deciding a request is a few dict lookups.

Kills also live in a local state file so a gateway that restarts while the
switch is engaged comes up halted, before it has heard from anyone."""

from __future__ import annotations

import hashlib
import json
import os
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aperto.errors import ApertoError, BadInput, GatedAccess, Halted, Stale, TakenDown, Unauthorized
from aperto.events import (
    Event,
    GatingChanged,
    Grant,
    Kill,
    RepoUpdated,
    Restore,
    Resume,
    RevisionRestore,
    RevisionTakedown,
    Revoke,
    Snapshot,
    Takedown,
    TokenCreated,
    TokenRevoked,
    parse_snapshot,
)

STATE_FILE = "gateway-state.json"


class InvalidApiKey(Unauthorized):
    code = "invalid_api_key"  # OpenAI's name


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Policy:
    def __init__(self, staleness_limit_s: float, standalone: bool = False) -> None:
        self.limit = staleness_limit_s
        self.standalone = standalone  # a policy file never goes stale
        self.tokens: dict[str, tuple[str, frozenset[str]]] = {}  # sha256 -> (user, scopes)
        self.expiry: dict[str, float] = {}  # sha256 -> when the token stops working, epoch s (absent: never)
        self.clock: Callable[[], float] = time.time  # a float compare per request, not a datetime
        self.grants: set[tuple[str, str]] = set()  # (user, repo)
        self.open_repos: set[str] = set()
        self.takedowns: set[str] = set()
        self.kills: dict[str | None, dict[str, Any]] = {}  # repo (None: everything) -> {reason, at}
        self.seq = 0
        self.heard: float | None = None  # time.monotonic() of the last answer from the hub
        self.loaded = False  # a snapshot (or policy file) has been read
        self.distrusted: dict[str | None, str] = {}  # repo (None: everything) -> why, until the next snapshot
        self.want_snapshot = False  # the feed should fetch a fresh snapshot now

    # ---- learning --------------------------------------------------------------------------
    def load(self, snap: Snapshot) -> None:
        """Replace everything with a hub snapshot (or a policy file of the same shape)."""
        self.tokens = {t.sha256: (t.user, frozenset(t.scopes)) for t in snap.tokens}
        self.expiry = {t.sha256: t.expires_at.timestamp() for t in snap.tokens if t.expires_at is not None}
        self.grants = {(g.user, g.repo) for g in snap.grants}
        self.open_repos = set(snap.open_repos)
        self.takedowns = set(snap.takedowns)
        self.kills = {k.repo: {"reason": k.reason or "halted", "at": k.at or now_iso()} for k in snap.kills}
        self.distrusted = {}
        self.seq = snap.seq
        self.loaded = True

    def apply(self, event: Event) -> None:
        """One feed event, through the handler for its type. An event it cannot apply (a type it does
        not know, or a handler that fails) makes it distrust the repo concerned until the next snapshot."""
        handler = HANDLERS.get(event.type)
        try:
            if handler is None:
                raise BadInput(f"unknown event type {event.type!r}")
            handler(self, event)
        except Exception as exc:  # noqa: BLE001 - whatever went wrong, this repo's state is now unknown
            self.distrust(event.repo, f"event {event.seq} ({event.type}) could not be applied: {exc}")
        if event.seq is not None:
            self.seq = max(self.seq, event.seq)

    def distrust(self, repo: Any, why: str) -> None:
        """Stop serving ``repo`` (anything but a repo name: everything) until a fresh snapshot."""
        self.distrusted[repo if isinstance(repo, str) and repo else None] = why
        self.want_snapshot = True

    # ---- deciding --------------------------------------------------------------------------
    def holder(self, sha: str) -> tuple[str, frozenset[str]] | None:
        """(user, scopes) of a live token; an expired one is refused like a revoked one, with no event needed."""
        until = self.expiry.get(sha)
        if until is not None and until <= self.clock():
            return None
        return self.tokens.get(sha)

    def kill_for(self, repo: str) -> dict[str, Any] | None:
        return self.kills.get(None) or self.kills.get(repo)

    def stale(self) -> str | None:
        """Why the policy can no longer be trusted, or None."""
        if self.standalone:
            return None
        if self.heard is None:
            return "no policy from the hub yet"
        quiet = time.monotonic() - self.heard
        if quiet > self.limit:
            return f"no word from the hub for {quiet:.0f} s (limit {self.limit:g} s); refusing to serve"
        return None

    def denial(self, sha: str, repo: str) -> ApertoError | None:
        """Why this token may not use this model now, or None. Checked per request and on every change."""
        kill = self.kill_for(repo)
        if kill:
            return Halted(kill["reason"], repo=repo)
        stale = self.stale()
        if stale:
            return Stale(stale, hint="check the gateway's link to the hub (GET /readyz)")
        doubt = self.distrusted.get(None) or self.distrusted.get(repo)
        if doubt:
            return Stale(f"the policy for {repo} is uncertain: {doubt}; refusing to serve it until a fresh "
                         "snapshot from the hub", hint="it asks for one at once; GET /readyz shows 'distrusted'")
        holder = self.holder(sha)
        if holder is None:
            return InvalidApiKey("invalid, expired or revoked token", hint="present a hub token: Authorization: Bearer aperto_...")
        if repo in self.takedowns:
            return TakenDown(f"{repo} has been taken down")
        if repo not in self.open_repos and (holder[0], repo) not in self.grants:
            return GatedAccess(f"no grant for {repo}", hint="request access on the hub")
        return None

    def may_use(self, sha: str, repo: str) -> bool:
        """Whether this token holds access to the repo at all (kills and staleness aside)."""
        holder = self.holder(sha)
        return (holder is not None and repo not in self.takedowns and repo not in self.distrusted
                and None not in self.distrusted and (repo in self.open_repos or (holder[0], repo) in self.grants))

    def user(self, sha: str) -> str | None:
        holder = self.holder(sha)
        return holder[0] if holder else None

    def is_admin(self, sha: str) -> bool:
        holder = self.holder(sha)
        return bool(holder and "admin" in holder[1])


# ---- one handler per event type (tests check every type in EVENT_TYPES has one) --------------
def _grant(policy: Policy, event: Grant) -> None:
    policy.grants.add((event.user, event.repo))


def _revoke(policy: Policy, event: Revoke) -> None:
    policy.grants.discard((event.user, event.repo))


def _takedown(policy: Policy, event: Takedown) -> None:
    policy.takedowns.add(event.repo)


def _restore(policy: Policy, event: Restore) -> None:
    policy.takedowns.discard(event.repo)


def _kill(policy: Policy, event: Kill) -> None:
    policy.kills[event.repo] = {"reason": event.data.reason, "at": event.at or now_iso()}


def _resume(policy: Policy, event: Resume) -> None:
    policy.kills.pop(event.repo, None)


def _token_created(policy: Policy, event: TokenCreated) -> None:
    policy.tokens[event.data.sha256] = (event.data.user, frozenset(event.data.scopes))
    if event.data.expires_at is not None:
        policy.expiry[event.data.sha256] = event.data.expires_at.timestamp()


def _token_revoked(policy: Policy, event: TokenRevoked) -> None:
    policy.tokens.pop(event.data.sha256, None)
    policy.expiry.pop(event.data.sha256, None)


def _gating(policy: Policy, event: GatingChanged) -> None:
    # auto and manual need a grant from now on; open lets any valid token in
    if event.data.gating == "open":
        policy.open_repos.add(event.repo)
    else:
        policy.open_repos.discard(event.repo)


def _revision(policy: Policy, event: RevisionTakedown | RevisionRestore) -> None:
    """The gateway serves whole models, not revisions: nothing to change (the repo stays available)."""


def _repo_updated(policy: Policy, event: RepoUpdated) -> None:
    """New files or refs: the hub's metadata, not what a gateway enforces. Nothing to change."""


HANDLERS: dict[str, Callable[[Policy, Any], None]] = {
    "grant": _grant, "revoke": _revoke, "takedown": _takedown, "restore": _restore, "kill": _kill,
    "resume": _resume, "token-created": _token_created, "token-revoked": _token_revoked, "gating": _gating,
    "revision-takedown": _revision, "revision-restore": _revision, "repo-updated": _repo_updated,
}


# ---- files ---------------------------------------------------------------------------------
def read_policy_file(path: Path) -> Snapshot:
    """A standalone policy: the snapshot's shape, as JSON or TOML."""
    try:
        raw = path.read_bytes()
        doc = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read policy file {path}: {exc}") from exc
    try:
        return parse_snapshot(doc)
    except BadInput as exc:
        raise BadInput(f"policy file {path}: {exc.message}", hint=exc.hint) from exc


def kills_to_list(kills: dict[str | None, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"repo": repo, **info} for repo, info in kills.items()]


def load_state(path: Path) -> dict[str | None, dict[str, Any]]:
    """Kills saved by an earlier run. A broken file halts everything: fail closed."""
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
        return {k.get("repo"): {"reason": k["reason"], "at": k.get("at")} for k in data.get("kills", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {None: {"reason": f"unreadable kill-state file {path}; fix or delete it", "at": now_iso()}}


def save_state(path: Path, kills: dict[str | None, dict[str, Any]], seq: int) -> None:
    """Atomic: write a temp file, fsync it, rename over the old one, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    body = json.dumps({"kills": kills_to_list(kills), "seq": seq, "saved_at": now_iso()}, indent=1)
    with open(tmp, "w") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
