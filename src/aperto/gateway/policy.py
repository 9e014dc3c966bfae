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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aperto.errors import ApertoError, BadInput, GatedAccess, Halted, Stale, TakenDown, Unauthorized

STATE_FILE = "gateway-state.json"


def sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Policy:
    def __init__(self, staleness_limit_s: float, standalone: bool = False) -> None:
        self.limit = staleness_limit_s
        self.standalone = standalone  # a policy file never goes stale
        self.tokens: dict[str, tuple[str, frozenset[str]]] = {}  # sha256 -> (user, scopes)
        self.grants: set[tuple[str, str]] = set()  # (user, repo)
        self.open_repos: set[str] = set()
        self.takedowns: set[str] = set()
        self.kills: dict[str | None, dict[str, Any]] = {}  # repo (None: everything) -> {reason, at}
        self.seq = 0
        self.heard: float | None = None  # time.monotonic() of the last answer from the hub
        self.loaded = False  # a snapshot (or policy file) has been read

    # ---- learning --------------------------------------------------------------------------
    def load(self, snap: dict[str, Any]) -> None:
        """Replace everything with a hub snapshot (or a policy file of the same shape)."""
        try:
            self.tokens = {t["sha256"]: (t.get("user") or "", frozenset(t.get("scopes") or ()))
                           for t in snap.get("tokens", [])}
            self.grants = {(g["user"], g["repo"]) for g in snap.get("grants", [])}
            self.open_repos = set(snap.get("open_repos", []))
            self.takedowns = set(snap.get("takedowns", []))
            self.kills = {k.get("repo"): {"reason": k.get("reason") or "halted", "at": k.get("at") or now_iso()}
                          for k in snap.get("kills", [])}
        except (KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"malformed policy snapshot: {exc!r}") from exc
        self.seq = int(snap.get("seq", 0) or 0)
        self.loaded = True

    def apply(self, event: dict[str, Any]) -> None:
        """One feed event. Unknown types are skipped (newer hubs may add some)."""
        kind, repo, user, data = event.get("type"), event.get("repo"), event.get("user"), event.get("data") or {}
        if kind == "grant":
            self.grants.add((user, repo))
        elif kind == "revoke":
            self.grants.discard((user, repo))
        elif kind == "takedown":
            self.takedowns.add(repo)
        elif kind == "restore":
            self.takedowns.discard(repo)
        elif kind == "kill":
            self.kills[repo] = {"reason": data.get("reason") or "halted", "at": event.get("at") or now_iso()}
        elif kind == "resume":
            self.kills.pop(repo, None)
        elif kind == "token-created":
            self.tokens[data["sha256"]] = (data.get("user") or user or "", frozenset(data.get("scopes") or ()))
        elif kind == "token-revoked":
            self.tokens.pop(data.get("sha256"), None)
        self.seq = max(self.seq, int(event.get("seq", self.seq)))

    # ---- deciding --------------------------------------------------------------------------
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
        holder = self.tokens.get(sha)
        if holder is None:
            return Unauthorized("invalid or revoked token", hint="present a hub token: Authorization: Bearer aperto_...")
        if repo in self.takedowns:
            return TakenDown(f"{repo} has been taken down")
        if repo not in self.open_repos and (holder[0], repo) not in self.grants:
            return GatedAccess(f"no grant for {repo}", hint="request access on the hub")
        return None

    def user(self, sha: str) -> str | None:
        holder = self.tokens.get(sha)
        return holder[0] if holder else None

    def is_admin(self, sha: str) -> bool:
        holder = self.tokens.get(sha)
        return bool(holder and "admin" in holder[1])


# ---- files ---------------------------------------------------------------------------------
def read_policy_file(path: Path) -> dict[str, Any]:
    """A standalone policy: the snapshot's shape, as JSON or TOML."""
    try:
        raw = path.read_bytes()
        return tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
    except (OSError, ValueError) as exc:
        raise BadInput(f"cannot read policy file {path}: {exc}") from exc


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
