"""Users and API tokens."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from aperto import events
from aperto.errors import BadInput, Conflict, Forbidden, InvalidToken, NotFound
from aperto.hub.auth import SCOPES, Caller, check_name, iso, need, token_hash, utcnow
from aperto.hub.cache import TokenCache
from aperto.hub.core import Core, audit, emit
from aperto.hub.i18n import N_
from aperto.store import Session
from aperto.store import tokens as rows
from aperto.store.models import Token, User, aware

MAX_DAYS = 3650
EXPIRY_HINT = N_("give a number of days (30 or 30d), a date (2027-01-31, meaning 00:00 UTC that day) or an ISO date-time")  # noqa: E501


def parse_expiry(value: Any, now: datetime | None = None) -> datetime | None:
    """When a token stops working, from a number of days, an ISO date or date-time (naive means UTC);
    None, "" or "never": never. A moment that is not in the future is refused."""
    now = now or utcnow()
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "never")):
        return None
    text = str(value).strip().lower()
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadInput(N_("cannot read the expiry %(value)s"), hint=EXPIRY_HINT, values={"value": repr(value)},
                       field="expires")
    if re.fullmatch(r"-?\d+d?", text):
        days = int(text.rstrip("d"))
        if not 1 <= days <= MAX_DAYS:
            raise BadInput(N_("an expiry of %(days)s days is out of range"), hint=N_("from 1 to %(max)s days"),
                           values={"days": days, "max": MAX_DAYS}, field="expires")
        return now + timedelta(days=days)
    try:
        at = (datetime.combine(date.fromisoformat(text), time(), UTC) if len(text) == 10
              else aware(datetime.fromisoformat(text.upper())))
    except ValueError:
        raise BadInput(N_("cannot read the expiry %(value)s"), hint=EXPIRY_HINT, values={"value": repr(value)},
                       field="expires") from None
    if at <= now:
        raise BadInput(N_("the expiry %(value)s is in the past"), hint=N_("give a later date, or a number of days"),
                       values={"value": str(value)}, field="expires")
    if at > now + timedelta(days=MAX_DAYS):
        raise BadInput(N_("the expiry %(value)s is more than %(max)s days away"), hint=N_("give an earlier date"),
                       values={"value": str(value), "max": MAX_DAYS}, field="expires")
    return at.astimezone(UTC)  # SQLite keeps the wall time and drops the offset: store UTC


def new_token(s: Session, actor: str, user: User, scopes: list[str], label: str,
              expires_at: datetime | None = None) -> str:
    raw = "aperto_" + secrets.token_urlsafe(32)
    sha = token_hash(raw)
    rows.add_token(s, user_id=user.id, sha256=sha, scopes=scopes, label=label, expires_at=expires_at)
    data = {"sha256": sha, "user": user.name, "scopes": sorted(set(scopes))}
    emit(s, events.TokenCreated(user=user.name, data=events.TokenCreatedData(**data, expires_at=expires_at)))
    audit(s, actor, "token.create", f"token:{sha[:12]}", None,
          {**data, "label": label, "expires_at": iso(expires_at)})
    return raw


def caller_of(tok: Token, user: User) -> Caller:
    """The caller a live token stands for (its expiry travels with it, for the token cache)."""
    return Caller(user.id, user.name, user.org, user.is_admin, frozenset(tok.scopes.split()), tok.sha256,
                  expires_at=aware(tok.expires_at) if tok.expires_at else None)


def find_user(s: Session, name: str) -> User:
    user = rows.user_by_name(s, name=name)
    if user is None:
        raise NotFound(N_("no user %(name)s"), values={"name": repr(name)})
    return user


class Tokens:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.cache = TokenCache(core.follower, self._load)  # revocations invalidate it (hub/cache.py)

    def authenticate(self, raw: str | None) -> Caller | None:
        """None for anonymous; InvalidToken for an unknown, revoked or expired token."""
        return self.cache.get(raw) if raw else None

    def _load(self, raw: str) -> Caller:
        with self.core.store.read() as s:
            row = rows.token_with_user(s, sha256=token_hash(raw))
        if row is None or not row[0].live(utcnow()):  # expired is refused exactly like revoked
            raise InvalidToken(N_("Invalid credentials in Authorization header"))
        return caller_of(*row)

    def bootstrap_admin(self, name: str = "admin") -> str | None:
        """On an empty hub, create an administrator and return its token (shown once)."""
        with self.core.write() as s:
            if rows.has_users(s):
                return None
            user = rows.add_user(s, name=name, org=None, is_admin=True)
            return new_token(s, "bootstrap", user, ["admin", "read", "publish"], "bootstrap")

    def operator(self) -> Caller:
        """The local operator (CLI on the hub's own machine, with access to its database)
        acts as the first administrator; the audit log names them ``cli:<admin>``."""
        with self.core.store.read() as s:
            admin = rows.first_admin(s)
        if admin is None:
            raise NotFound(N_("the hub has no administrator yet"), hint=N_("start it once with `aperto hub`"))
        return Caller(admin.id, f"cli:{admin.name}", admin.org, True, frozenset(SCOPES), "")

    def acting_as(self, name: str, scopes: frozenset[str]) -> Caller:
        """A caller for a user in this process (the operator seeding the hub): no token."""
        with self.core.store.read() as s:
            user = find_user(s, name)
        return Caller(user.id, user.name, user.org, user.is_admin, scopes, "")

    def create_user(self, caller: Caller | None, name: str, org: str | None = None, is_admin: bool = False) -> dict:
        caller = need(caller, "admin")
        check_name(name, "user name")
        if org:
            check_name(org, "organisation")
        with self.core.write() as s:
            if rows.user_by_name(s, name=name) is not None:
                raise Conflict(N_("user %(name)s exists"), values={"name": repr(name)})
            rows.add_user(s, name=name, org=org, is_admin=is_admin)
            after = {"name": name, "org": org, "is_admin": is_admin}
            audit(s, caller.name, "user.create", f"user:{name}", None, after)
            return after

    def invite(self, caller: Caller | None, name: str, org: str | None, scopes: list[str], label: str = "",
               expires: Any = None) -> str:
        """An administrator opens an account from the web UI: a new user (never an administrator)
        with one read or read+publish token, shown once. Unlike create_token this is allowed from a
        browser session, so a stolen admin cookie can at most open ordinary accounts, never an admin token."""
        caller = need(caller, "admin")
        if not scopes or not set(scopes) <= {"read", "publish"}:
            raise BadInput(N_("a web invitation gives read, or read and publish; make admin and gateway tokens with `aperto token create`"),  # noqa: E501
                           field="scopes")
        check_name(name, "user name")
        if org:
            check_name(org, "organisation")
        until = parse_expiry(expires)
        with self.core.write() as s:
            if rows.user_by_name(s, name=name) is not None:
                raise Conflict(N_("user %(name)s exists"), hint=N_("choose another name"), values={"name": repr(name)},
                               field="name")
            user = rows.add_user(s, name=name, org=org, is_admin=False)
            audit(s, caller.name, "user.create", f"user:{name}", None, {"name": name, "org": org, "is_admin": False})
            return new_token(s, caller.name, user, sorted(set(scopes) | {"read"}), label or "web invitation", until)

    def users(self, caller: Caller | None) -> list[dict]:
        need(caller, "admin")
        with self.core.store.read() as s:
            return [{"name": u.name, "org": u.org, "is_admin": u.is_admin, "created_at": iso(u.created_at)}
                    for u in rows.users(s)]

    def create_token(self, caller: Caller | None, user: str, scopes: list[str], label: str = "",
                     expires: Any = None) -> str:
        """Admins make tokens for anyone; a user may make tokens for themselves with
        no more scopes than the token they hold, and expiring no later than it does.
        ``expires``: see parse_expiry; None means until revoked."""
        caller = need(caller, "read") if caller is None or caller.name == user else need(caller, "admin")
        if caller.via_cookie:  # so a stolen browser cookie stays one session, never a lasting token
            raise Forbidden(N_("tokens cannot be made from a browser session"),
                            hint=N_("use `aperto token create`, or POST /api/tokens with Authorization: Bearer <token>"))
        bad = [x for x in scopes if x not in SCOPES]
        if bad or not scopes:
            raise BadInput(N_("unknown scopes %(bad)s; choose from %(scopes)s"),
                           values={"bad": str(bad), "scopes": str(list(SCOPES))})
        if not caller.admin and not set(scopes) <= caller.scopes:
            raise Forbidden(N_("a token cannot grant scopes its maker lacks"))
        until = parse_expiry(expires)
        if not caller.admin and caller.expires_at is not None and (until is None or until > caller.expires_at):
            raise Forbidden(N_("a token cannot outlive the one that makes it (it expires %(expires)s)"),
                            hint=N_("give an earlier expiry"), values={"expires": iso(caller.expires_at)},
                            field="expires")
        with self.core.write() as s:
            target = find_user(s, user)
            if "admin" in scopes and not target.is_admin:
                raise Forbidden(N_("%(user)s is not an administrator"), values={"user": repr(user)})
            return new_token(s, caller.name, target, scopes, label, until)

    def revoke_token(self, caller: Caller | None, token_or_sha: str) -> dict:
        caller = need(caller, "read")
        sha = token_or_sha if re.fullmatch(r"[0-9a-f]{64}", token_or_sha) else token_hash(token_or_sha)
        with self.core.write() as s:
            row = rows.token_with_user(s, sha256=sha)
            # someone else's token is "not found" to a non-admin, so tokens cannot be probed
            if row is None or (not caller.admin and row[1].id != caller.user_id):
                raise NotFound(N_("no such token"))
            tok, user = row
            if tok.revoked_at is None:
                tok.revoked_at = utcnow()
                emit(s, events.TokenRevoked(user=user.name, data=events.TokenRevokedData(sha256=sha)))
                audit(s, caller.name, "token.revoke", f"token:{sha[:12]}", {"revoked": False},
                      {"revoked": True, "user": user.name})
            return {"sha256": sha, "user": user.name, "revoked_at": iso(tok.revoked_at)}

    def list_tokens(self, caller: Caller | None) -> list[dict]:
        caller = need(caller, "read")
        with self.core.store.read() as s:
            found = rows.tokens(s, user_id=None if caller.admin else caller.user_id)
            now = utcnow()
            return [{"sha256": t.sha256, "user": u.name, "scopes": t.scopes.split(), "label": t.label,
                     "created_at": iso(t.created_at), "revoked_at": iso(t.revoked_at),
                     "expires_at": iso(t.expires_at),
                     "expired": t.revoked_at is None and not t.live(now)} for t, u in found]

    def whoami(self, caller: Caller | None) -> dict:
        caller = need(caller, "read") if caller is None else caller
        orgs = [{"name": caller.org, "type": "org"}] if caller.org else []
        role = "write" if caller.has("publish") else "read"
        return {"type": "user", "id": str(caller.user_id), "name": caller.name, "fullname": caller.name,
                "isAdmin": caller.is_admin, "orgs": orgs,
                "auth": {"type": "access_token",
                         "accessToken": {"displayName": "aperto", "role": role, "scopes": sorted(caller.scopes)}}}
