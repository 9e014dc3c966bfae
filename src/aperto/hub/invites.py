"""Invitation links: an administrator makes a one-time link with a role, an optional organisation
and an expiry; whoever opens it in time picks a user name and gets an account and a token.

The link holds a random code; the store keeps only its sha256, so a copy of the database cannot
be turned into working links. Who may invite whom (docs/security.md): an administrator's browser
session invites readers and publishers; an administrator's bearer token may also invite another
administrator, so a stolen cookie can never mint an admin account.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from aperto.errors import BadInput, Conflict, Forbidden, NotFound
from aperto.hub.auth import Caller, check_name, iso, need, token_hash, utcnow
from aperto.hub.core import Core, audit
from aperto.hub.i18n import N_
from aperto.hub.tokens import new_token
from aperto.store import tokens as rows
from aperto.store.models import Invite, aware

# role -> the scopes of the token the new account gets
ROLES: dict[str, list[str]] = {"reader": ["read"], "publisher": ["publish", "read"],
                               "admin": ["admin", "publish", "read"]}
MAX_DAYS = 30
ASK_AGAIN = N_("ask whoever invited you for a new link")
CHECK_LINK = N_("check the link, or ask whoever invited you for a new link")
# why a link no longer opens an account, by its state
CLOSED = {"used": N_("this invitation has already been used"), "revoked": N_("this invitation was withdrawn"),
          "expired": N_("this invitation expired on %(expired)s")}


def state(row: Invite, now: datetime) -> str:
    """open, used, revoked or expired."""
    if row.used_at is not None:
        return "used"
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if aware(row.expires_at) <= now else "open"


def shown(row: Invite, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "role": row.role, "org": row.org, "created_by": row.created_by,
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at), "used_by": row.used_by,
            "state": state(row, now)}


def days_of(value: Any) -> int:
    try:
        days = int(value) if not isinstance(value, bool | float) else -1
    except (TypeError, ValueError):
        raise BadInput(N_("the invitation's lifetime %(value)s is not a number of days"), hint=N_("from 1 to %(max)s"),
                       values={"value": repr(value), "max": MAX_DAYS}, field="days") from None
    if not 1 <= days <= MAX_DAYS:
        raise BadInput(N_("an invitation lasts from 1 to %(max)s days, not %(value)s"),
                       values={"value": repr(value), "max": MAX_DAYS}, field="days")
    return days


class Invites:
    def __init__(self, core: Core) -> None:
        self.core = core

    def create(self, caller: Caller | None, role: str, org: str | None = None, days: Any = 7) -> dict[str, Any]:
        """A new link's code (shown once, in this answer only) and what it grants."""
        caller = need(caller, "admin")
        if role not in ROLES:
            raise BadInput(N_("unknown role %(role)s"), hint=N_("choose from %(roles)s"),
                           values={"role": repr(role), "roles": ", ".join(ROLES)}, field="role")
        if role == "admin" and caller.via_cookie:
            raise Forbidden(N_("an administrator's invitation cannot be made from a browser session"),
                            hint=N_("POST /api/invites with Authorization: Bearer <admin token>"), field="role")
        if org:
            check_name(org, "organisation")
        expires = utcnow() + timedelta(days=days_of(days))
        code = secrets.token_urlsafe(24)
        with self.core.write() as s:
            row = rows.add_invite(s, sha256=token_hash(code), role=role, org=org or None, created_by=caller.name,
                                  expires_at=expires)
            after = {"role": role, "org": org or None, "expires_at": iso(expires)}
            audit(s, caller.name, "invite.create", f"invite:{row.id}", None, after)
            return {"id": row.id, "code": code, "path": f"/invite/{code}", **after}

    def pending(self, caller: Caller | None) -> list[dict[str, Any]]:
        need(caller, "admin")
        now = utcnow()
        with self.core.store.read() as s:
            return [shown(r, now) for r in rows.pending_invites(s, now=now)]

    def revoke(self, caller: Caller | None, invite_id: Any) -> dict[str, Any]:
        caller = need(caller, "admin")
        try:
            number = int(invite_id)
        except (TypeError, ValueError):
            raise NotFound(N_("no invitation %(id)s"), values={"id": repr(invite_id)}) from None
        now = utcnow()
        with self.core.write() as s:
            row = rows.invite_by_id(s, invite_id=number) if 0 < number < 2**31 else None
            if row is None:
                raise NotFound(N_("no invitation %(id)s"), values={"id": repr(invite_id)})
            if state(row, now) == "open":
                row.revoked_at = now
                audit(s, caller.name, "invite.revoke", f"invite:{row.id}", {"state": "open"}, {"state": "revoked"})
            return shown(row, now)

    def look(self, code: str) -> dict[str, Any]:
        """What a link offers, for its page; NotFound for a code that was never issued."""
        with self.core.store.read() as s:
            row = rows.invite_by_sha(s, sha256=token_hash(code)) if code else None
        if row is None:
            raise NotFound(N_("this invitation link is not known here"), hint=CHECK_LINK)
        return shown(row, utcnow())

    def accept(self, code: str, name: str) -> dict[str, Any]:
        """Open the account: the user, and its token (shown once). Every refusal says why."""
        check_name(name, "user name")
        now = utcnow()
        with self.core.write() as s:  # one writer at a time: a link cannot be used twice
            row = rows.invite_by_sha(s, sha256=token_hash(code)) if code else None
            if row is None:
                raise NotFound(N_("this invitation link is not known here"), hint=CHECK_LINK)
            closed = state(row, now)
            if closed != "open":
                raise Conflict(CLOSED[closed], hint=ASK_AGAIN, values={"expired": iso(row.expires_at)}, state=closed)
            if rows.user_by_name(s, name=name) is not None:
                raise Conflict(N_("user %(name)s exists"), hint=N_("choose another name"), values={"name": repr(name)},
                               field="name")
            user = rows.add_user(s, name=name, org=row.org, is_admin=row.role == "admin")
            row.used_at, row.used_by = now, name
            audit(s, name, "invite.accept", f"invite:{row.id}", {"state": "open"},
                  {"state": "used", "user": name, "role": row.role, "invited_by": row.created_by})
            audit(s, name, "user.create", f"user:{name}", None,
                  {"name": name, "org": row.org, "is_admin": row.role == "admin", "invite": row.id})
            token = new_token(s, name, user, ROLES[row.role], "invitation")
            return {"user": name, "org": row.org, "role": row.role, "scopes": sorted(ROLES[row.role]),
                    "token": token}
