"""Users, API tokens and browser sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from aperto.store.models import Token, User, WebSession, utcnow


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


def add_token(s: Session, *, user_id: int, sha256: str, scopes: list[str], label: str) -> Token:
    token = Token(user_id=user_id, sha256=sha256, scopes=" ".join(sorted(set(scopes))), label=label,
                  created_at=utcnow())
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


def live_tokens(s: Session) -> list[tuple[str, str, str]]:
    """(sha256, user name, scopes) of every token not revoked."""
    q = (select(Token.sha256, User.name, Token.scopes).join(User, Token.user_id == User.id)
         .where(Token.revoked_at.is_(None)).order_by(Token.id))
    return [(h, u, sc) for h, u, sc in s.execute(q)]


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
