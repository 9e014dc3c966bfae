"""Browser sign-in: a token is exchanged for a server-side session.

The cookie holds only a random session id; the store keeps its sha256, the token's
scopes, an expiry (never later than the token's own) and a revocation time. A stolen cookie is therefore one session
until it expires or is signed out, never the API token. The token given at sign-in
stays in this process's memory only (chat and web-started eval runs act with it), so
after a restart those two ask the user to sign in again.

CSRF: a session's form/header token is derived from its id (``csrf_for``), so the
middleware checks it without the store. Before sign-in, the login form carries a
token signed with the hub's web secret over a nonce kept in a cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import timedelta

from aperto.errors import InvalidToken, Unauthorized
from aperto.hub.auth import Caller, token_hash, utcnow
from aperto.hub.core import Core, audit
from aperto.hub.i18n import N_
from aperto.store import tokens as rows
from aperto.store.models import aware


def csrf_for(session_id: str | None) -> str:
    """The CSRF token of a session; knowing it reveals nothing of the id."""
    if not session_id:
        return ""
    return hmac.new(session_id.encode(), b"aperto-csrf", hashlib.sha256).hexdigest()[:40]


class Sessions:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.settings = core.settings
        self._tokens: dict[str, str] = {}  # session sha256 -> the token it was made from, memory only
        self._key: bytes | None = None

    def start(self, raw_token: str) -> str:
        """A new session id for this token (InvalidToken if it is not a live token)."""
        with self.core.store.read() as s:
            row = rows.token_with_user(s, sha256=token_hash(raw_token)) if raw_token else None
        now = utcnow()
        if row is None or not row[0].live(now):
            raise InvalidToken(N_("that token is not valid"), hint=N_("make one with `aperto token create`"))
        tok, user = row
        session_id = secrets.token_urlsafe(32)
        sha = token_hash(session_id)
        expires = now + timedelta(hours=self.settings.web_session_hours)
        if tok.expires_at is not None:  # a session ends when its token does
            expires = min(expires, aware(tok.expires_at))
        with self.core.write() as s:
            rows.add_session(s, sha256=sha, user_id=user.id, scopes=tok.scopes, expires_at=expires)
            audit(s, user.name, "session.start", f"session:{sha[:12]}", None,
                  {"token": tok.sha256[:12], "scopes": tok.scopes, "expires_at": expires.isoformat()})
        self._tokens[sha] = raw_token
        return session_id

    def authenticate(self, session_id: str | None) -> Caller | None:
        """None without a cookie; InvalidToken for an unknown, ended or expired session, or
        one older than a revocation of any of its user's tokens (its own token included)."""
        if not session_id:
            return None
        sha = token_hash(session_id)
        with self.core.store.read() as s:
            row = rows.session_with_user(s, sha256=sha)
            revoked = [aware(t.revoked_at) for t, _ in rows.tokens(s, user_id=row[1].id)
                       if t.revoked_at is not None] if row else []
        if row is None or row[0].revoked_at is not None or aware(row[0].expires_at) <= utcnow() \
                or any(r >= aware(row[0].created_at) for r in revoked):
            self._tokens.pop(sha, None)
            raise InvalidToken(N_("your sign-in has ended"), hint=N_("sign in again at /login"))
        ses, user = row
        return Caller(user.id, user.name, user.org, user.is_admin, frozenset(ses.scopes.split()), "", via_cookie=True)

    def end(self, session_id: str | None) -> None:
        """Sign out: the session is refused from now on, on every replica."""
        if not session_id:
            return
        sha = token_hash(session_id)
        self._tokens.pop(sha, None)
        with self.core.write() as s:
            row = rows.session_with_user(s, sha256=sha)
            if row is not None and row[0].revoked_at is None:
                row[0].revoked_at = utcnow()
                audit(s, row[1].name, "session.end", f"session:{sha[:12]}", None, {"ended": True})

    def token(self, session_id: str | None) -> str:
        """The token this (already authenticated) session was made from, for acting as the user."""
        raw = self._tokens.get(token_hash(session_id)) if session_id else None
        if raw is None:
            raise Unauthorized(N_("the hub restarted since you signed in"), hint=N_("sign out and sign in again"))
        return raw

    # pre-session CSRF for the login form: a nonce cookie and its signature in the form
    def login_nonce(self) -> str:
        return secrets.token_urlsafe(16)

    def login_csrf(self, nonce: str) -> str:
        return hmac.new(self.key(), b"login:" + nonce.encode(), hashlib.sha256).hexdigest() if nonce else ""

    def login_ok(self, nonce: str, given: str) -> bool:
        return bool(nonce) and hmac.compare_digest(self.login_csrf(nonce).encode(), str(given).encode())

    def key(self) -> bytes:
        """Settings.web_secret, else a random key kept (0600) in the data folder, made on first use."""
        if self._key is None:
            if self.settings.web_secret:
                self._key = self.settings.web_secret.encode()
            else:
                path = self.settings.state_dir("web") / "secret"
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    pass  # made earlier, or by another worker just now
                else:
                    with os.fdopen(fd, "w") as f:
                        f.write(secrets.token_hex(32))
                self._key = path.read_text().strip().encode()
        return self._key
