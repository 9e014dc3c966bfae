"""Who is calling and what they may do: the ``Caller``, scope checks, and the small
helpers every service shares (names, hashes, times)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from aperto.errors import BadInput, Forbidden, Unauthorized
from aperto.hub.i18n import N_

SCOPES = ("read", "publish", "admin", "gateway")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}$")


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


# one template per kind of name, so that the pages can say the kind in their language too
NameKind = Literal["name", "user name", "organisation", "model name", "branch or tag name"]
INVALID_NAME: dict[NameKind, str] = {"name": N_("invalid name: %(name)s"), "user name": N_("invalid user name: %(name)s"),
                "organisation": N_("invalid organisation: %(name)s"), "model name": N_("invalid model name: %(name)s"),
                "branch or tag name": N_("invalid branch or tag name: %(name)s")}


def check_name(name: str, what: NameKind = "name") -> str:
    if not isinstance(name, str) or not NAME.match(name) or ".." in name:
        raise BadInput(INVALID_NAME[what], values={"name": repr(name)},
                       hint=N_("letters, digits, '-', '_' and '.', at most 96"))
    return name


@dataclass(frozen=True)
class Caller:
    user_id: int
    name: str
    org: str | None
    is_admin: bool
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_sha256: str = ""
    via_cookie: bool = False  # signed in through a browser session rather than a bearer token
    expires_at: datetime | None = None  # the token's expiry (aware UTC); None: until revoked

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def has(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes

    @property
    def admin(self) -> bool:
        return self.is_admin and "admin" in self.scopes


def need(caller: Caller | None, scope: str) -> Caller:
    """Fail closed: no caller is 401, a caller without the scope is 403."""
    if caller is None:
        raise Unauthorized(N_("this needs a token"), hint=N_("pass Authorization: Bearer <token>"))
    if not caller.has(scope):
        raise Forbidden(N_("this token lacks the %(scope)s scope"), hint=N_("create a token with the %(name)s scope"),
                        values={"scope": repr(scope), "name": scope})
    if scope == "admin" and not caller.is_admin:
        raise Forbidden(N_("this needs an administrator"))
    return caller
