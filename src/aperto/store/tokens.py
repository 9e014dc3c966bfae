"""Users, API tokens, browser sessions and invitations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from aperto.store.models import Invite, Token, User, WebSession, utcnow


def user_by_name(s: Session, *, name: str) -> User | None:
    return s.scalar(select(User).where(User.name == name))


def user_by_id(s: Session, *, user_id: int) -> User | None:
    return s.get(User, user_id)


def has_users(s: Session) -> bool:
    return s.scalar(select(User.id).limit(1)) is not None


def first_admin(s: Session) -> User | None:
    return s.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))


def users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.name)))


def add_user(s: Session, *, name: str, org: str | None, is_admin: bool) -> User:
    user = User(name=name, org=org, is_admin=is_admin, created_at=utcnow())
    s.add(user)
    s.flush()
    return user


def add_token(s: Session, *, user_id: int, sha256: str, scopes: list[str], label: str,
              expires_at: datetime | None = None) -> Token:
    token = Token(user_id=user_id, sha256=sha256, scopes=" ".join(sorted(set(scopes))), label=label,
                  created_at=utcnow(), expires_at=expires_at)
    s.add(token)
    return token


def token_with_user(s: Session, *, sha256: str) -> tuple[Token, User] | None:
    row = s.execute(select(Token, User).join(User, Token.user_id == User.id).where(Token.sha256 == sha256)).first()
    return (row[0], row[1]) if row else None


def tokens(s: Session, *, user_id: int | None = None) -> list[tuple[Token, User]]:
    q = select(Token, User).join(User, Token.user_id == User.id).order_by(Token.id)
    if user_id is not None:
        q = q.where(Token.user_id == user_id)
    return [(t, u) for t, u in s.execute(q)]


def live_tokens(s: Session, *, now: datetime) -> list[tuple[str, str, str, datetime | None]]:
    """(sha256, user name, scopes, expiry) of every token neither revoked nor expired at ``now``."""
    q = (select(Token.sha256, User.name, Token.scopes, Token.expires_at).join(User, Token.user_id == User.id)
         .where(Token.revoked_at.is_(None), or_(Token.expires_at.is_(None), Token.expires_at > now))
         .order_by(Token.id))
    return [(h, u, sc, ex) for h, u, sc, ex in s.execute(q)]


def add_session(s: Session, *, sha256: str, user_id: int, scopes: str, expires_at: datetime) -> WebSession:
    row = WebSession(sha256=sha256, user_id=user_id, scopes=scopes, created_at=utcnow(), expires_at=expires_at)
    s.add(row)
    return row


def session_with_user(s: Session, *, sha256: str) -> tuple[WebSession, User] | None:
    row = s.execute(select(WebSession, User).join(User, WebSession.user_id == User.id)
                    .where(WebSession.sha256 == sha256)).first()
    return (row[0], row[1]) if row else None


def live_sessions(s: Session, *, user_id: int) -> list[WebSession]:
    return list(s.scalars(select(WebSession).where(WebSession.user_id == user_id,
                                                   WebSession.revoked_at.is_(None))))


def add_invite(s: Session, *, sha256: str, role: str, org: str | None, created_by: str,
               expires_at: datetime) -> Invite:
    row = Invite(sha256=sha256, role=role, org=org, created_by=created_by, created_at=utcnow(),
                 expires_at=expires_at)
    s.add(row)
    s.flush()
    return row


def invite_by_sha(s: Session, *, sha256: str) -> Invite | None:
    return s.scalar(select(Invite).where(Invite.sha256 == sha256))


def invite_by_id(s: Session, *, invite_id: int) -> Invite | None:
    return s.get(Invite, invite_id)


def pending_invites(s: Session, *, now: datetime) -> list[Invite]:
    """Invitations that can still be accepted: not used, not revoked, not expired."""
    return list(s.scalars(select(Invite).where(Invite.used_at.is_(None), Invite.revoked_at.is_(None),
                                               Invite.expires_at > now).order_by(Invite.id)))
