"""What every route needs: the Hub and the caller (a bearer token, else a browser session)."""

from __future__ import annotations

import json

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.security import SESSION_COOKIE
from aperto.hub.service import Hub


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


def raw_token(request: Request) -> str | None:
    """The bearer token of an API call; a browser session's cookie is never a token."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return None


def session_id(request: Request) -> str | None:
    return None if raw_token(request) else (request.cookies.get(SESSION_COOKIE) or None)


def get_caller(request: Request) -> Caller | None:
    """None for anonymous; an invalid or revoked token, or an ended session, is refused (401),
    never downgraded. State changes by session were CSRF-checked in routes/security.py."""
    hub = get_hub(request)
    token = raw_token(request)
    return hub.tokens.authenticate(token) if token else hub.sessions.authenticate(session_id(request))


async def get_caller_async(request: Request) -> Caller | None:
    """``get_caller`` for the hot read routes: a cached token is answered on the event loop,
    anything else is read in a worker thread."""
    token = raw_token(request)
    hit = get_hub(request).tokens.cache.peek(token) if token else None
    return hit or await run_in_threadpool(get_caller, request)


def acting_token(request: Request) -> str:
    """The token to act with on the user's behalf (gateway chat, eval runs): the bearer
    token, or the one the session was made from (kept in memory only)."""
    return raw_token(request) or get_hub(request).sessions.token(session_id(request))


def json_object(raw: bytes) -> dict:
    """A request body that must be a JSON object (an empty body is ``{}``)."""
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise BadInput("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadInput("the body is a JSON object")
    return body


def repo_name(org: str, name: str) -> str:
    return f"{org}/{name}"
