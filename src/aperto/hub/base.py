"""The hub's foundation: callers and tokens, users, the audit chain, events.

Everything the HTTP routers and the CLI do goes through ``Hub`` (service.py),
which mixes this base with the repo, access and control parts.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.config import Settings
from aperto.errors import BadInput, Conflict, Forbidden, NotFound, Unauthorized
from aperto.store import BlobStore, Store
from aperto.store.models import Audit, Event, Token, User

SCOPES = ("read", "publish", "admin", "gateway")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")
GENESIS = "0" * 64


# HF-flavoured errors: the exception handler turns them into X-Error-Code headers.
class RepoNotFound(NotFound):
    code = "repo_not_found"


class RevisionNotFound(NotFound):
    code = "revision_not_found"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class InvalidToken(Unauthorized):
    code = "invalid_token"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_name(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise BadInput(f"invalid {what}: {name!r}", hint="letters, digits, '-', '_' and '.', at most 96")
    return name


@dataclass(frozen=True)
class Caller:
    user_id: int
    name: str
    org: str | None
    is_admin: bool
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_sha256: str = ""

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def admin(self) -> bool:
        return self.is_admin and "admin" in self.scopes


def need(caller: Caller | None, scope: str) -> Caller:
    """Fail closed: no caller is 401, a caller without the scope is 403."""
    if caller is None:
        raise Unauthorized("this needs a token", hint="pass Authorization: Bearer <token>")
    if not caller.has(scope):
        raise Forbidden(f"this token lacks the {scope!r} scope")
    if scope == "admin" and not caller.is_admin:
        raise Forbidden("this needs an administrator")
    return caller


class HubBase:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.open(settings)
        self.blobs = BlobStore(settings.data_dir, settings.max_upload_bytes)
        self.last_seq = self._read_last_seq()
        self._seq_read_at = time.monotonic()
        self.stopping = False  # set on shutdown: open long-polls answer now instead of holding it up

    def stop_waiting(self) -> None:
        self.stopping = True

    def close(self) -> None:
        self.store.close()

    # ---- callers and tokens -------------------------------------------------
    def authenticate(self, raw: str | None) -> Caller | None:
        """None for anonymous; InvalidToken for an unknown or revoked token."""
        if not raw:
            return None
        with self.store.read() as s:
            row = s.execute(
                select(Token, User).join(User, Token.user_id == User.id).where(Token.sha256 == token_hash(raw))
            ).first()
        if row is None or row[0].revoked_at is not None:
            raise InvalidToken("Invalid credentials in Authorization header")
        tok, user = row
        return Caller(user.id, user.name, user.org, user.is_admin, frozenset(tok.scopes.split()), tok.sha256)

    def _user(self, s: Session, name: str) -> User:
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            raise NotFound(f"no user {name!r}")
        return user

    def bootstrap_admin(self, name: str = "admin") -> str | None:
        """On an empty hub, create an administrator and return its token (shown once)."""
        with self._write() as s:
            if s.scalar(select(User.id).limit(1)) is not None:
                return None
            user = User(name=name, org=None, is_admin=True, created_at=utcnow())
            s.add(user)
            s.flush()
            return self._new_token(s, "bootstrap", user, ["admin", "read", "publish"], "bootstrap")

    def create_user(self, caller: Caller | None, name: str, org: str | None = None, is_admin: bool = False) -> dict:
        need(caller, "admin")
        check_name(name, "user name")
        if org:
            check_name(org, "organisation")
        with self._write() as s:
            if s.scalar(select(User.id).where(User.name == name)) is not None:
                raise Conflict(f"user {name!r} exists")
            user = User(name=name, org=org, is_admin=is_admin, created_at=utcnow())
            s.add(user)
            s.flush()
            after = {"name": name, "org": org, "is_admin": is_admin}
            self._audit(s, caller.name, "user.create", f"user:{name}", None, after)
            return after

    def create_token(self, caller: Caller | None, user: str, scopes: list[str], label: str = "") -> str:
        """Admins make tokens for anyone; a user may make tokens for themselves with
        no more scopes than the token they hold."""
        caller = need(caller, "read") if caller is None or caller.name == user else need(caller, "admin")
        bad = [x for x in scopes if x not in SCOPES]
        if bad or not scopes:
            raise BadInput(f"unknown scopes {bad}; choose from {list(SCOPES)}")
        if not caller.admin and not set(scopes) <= caller.scopes:
            raise Forbidden("a token cannot grant scopes its maker lacks")
        with self._write() as s:
            target = self._user(s, user)
            if "admin" in scopes and not target.is_admin:
                raise Forbidden(f"{user!r} is not an administrator")
            return self._new_token(s, caller.name, target, scopes, label)

    def _new_token(self, s: Session, actor: str, user: User, scopes: list[str], label: str) -> str:
        raw = "aperto_" + secrets.token_urlsafe(32)
        sha = token_hash(raw)
        s.add(Token(user_id=user.id, sha256=sha, scopes=" ".join(sorted(set(scopes))), label=label,
                    created_at=utcnow()))
        data = {"sha256": sha, "user": user.name, "scopes": sorted(set(scopes))}
        self._event(s, "token-created", None, user.name, data)
        self._audit(s, actor, "token.create", f"token:{sha[:12]}", None, {**data, "label": label})
        return raw

    def revoke_token(self, caller: Caller | None, token_or_sha: str) -> dict:
        caller = need(caller, "read")
        sha = token_or_sha if re.fullmatch(r"[0-9a-f]{64}", token_or_sha) else token_hash(token_or_sha)
        with self._write() as s:
            row = s.execute(select(Token, User).join(User, Token.user_id == User.id)
                            .where(Token.sha256 == sha)).first()
            # someone else's token is "not found" to a non-admin, so tokens cannot be probed
            if row is None or (not caller.admin and row[1].id != caller.user_id):
                raise NotFound("no such token")
            tok, user = row
            if tok.revoked_at is None:
                tok.revoked_at = utcnow()
                self._event(s, "token-revoked", None, user.name, {"sha256": sha})
                self._audit(s, caller.name, "token.revoke", f"token:{sha[:12]}", {"revoked": False},
                            {"revoked": True, "user": user.name})
            return {"sha256": sha, "user": user.name, "revoked_at": iso(tok.revoked_at)}

    def list_tokens(self, caller: Caller | None) -> list[dict]:
        caller = need(caller, "read")
        with self.store.read() as s:
            q = select(Token, User).join(User, Token.user_id == User.id).order_by(Token.id)
            if not caller.admin:
                q = q.where(Token.user_id == caller.user_id)
            return [{"sha256": t.sha256, "user": u.name, "scopes": t.scopes.split(), "label": t.label,
                     "created_at": iso(t.created_at), "revoked_at": iso(t.revoked_at)} for t, u in s.execute(q)]

    def whoami(self, caller: Caller | None) -> dict:
        caller = need(caller, "read") if caller is None else caller
        orgs = [{"name": caller.org, "type": "org"}] if caller.org else []
        role = "write" if caller.has("publish") else "read"
        return {"type": "user", "id": str(caller.user_id), "name": caller.name, "fullname": caller.name,
                "isAdmin": caller.is_admin, "orgs": orgs,
                "auth": {"type": "access_token",
                         "accessToken": {"displayName": "aperto", "role": role, "scopes": sorted(caller.scopes)}}}

    # ---- audit and events ----------------------------------------------------
    def _audit(self, s: Session, actor: str, action: str, subject: str, before: Any, after: Any) -> None:
        """Append one row to the hash chain. Runs inside Store.write(), which
        serialises writers, so reading the tail and appending cannot interleave."""
        last = s.scalars(select(Audit).order_by(Audit.seq.desc()).limit(1)).first()
        row = {"seq": (last.seq + 1) if last else 1, "actor": actor, "action": action, "subject": subject,
               "before": canonical(before), "after": canonical(after), "at": iso(utcnow()),
               "prev_hash": last.hash if last else GENESIS}
        s.add(Audit(**row, hash=audit_hash(row)))

    def _event(self, s: Session, type_: str, repo: str | None, user: str | None, data: dict) -> None:
        s.add(Event(type=type_, repo=repo, user=user, data=data, at=utcnow()))
        s.flush()
        s.info["events"] = True

    @contextmanager
    def _write(self) -> Iterator[Session]:
        events = False
        with self.store.write() as s:
            yield s
            events = bool(s.info.get("events"))
        if events:  # wake long-polls in this process; other processes poll the table
            self.refresh_seq()

    def _read_last_seq(self) -> int:
        with self.store.read() as s:
            return s.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0

    def refresh_seq(self, max_age: float = 0.0) -> int:
        """Re-read the newest event number; with ``max_age``, at most that often, so that
        many waiting long-polls cost one query per interval, not one each."""
        now = time.monotonic()
        if max_age and now - self._seq_read_at < max_age:
            return self.last_seq
        self._seq_read_at = now
        self.last_seq = max(self.last_seq, self._read_last_seq())
        return self.last_seq


def audit_hash(row: dict[str, Any]) -> str:
    fields = ("seq", "actor", "action", "subject", "before", "after", "at", "prev_hash")
    return hashlib.sha256(canonical({k: row[k] for k in fields}).encode()).hexdigest()


def operator_caller(hub: HubBase) -> Caller:
    """The local operator (CLI on the hub's own machine, with access to its database)
    acts as the first administrator; the audit log names them ``cli:<admin>``."""
    with hub.store.read() as s:
        admin = s.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))
    if admin is None:
        raise NotFound("the hub has no administrator yet", hint="start it once with `aperto hub`")
    return Caller(admin.id, f"cli:{admin.name}", admin.org, True, frozenset(SCOPES), "")
