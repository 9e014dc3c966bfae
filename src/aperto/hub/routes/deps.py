"""What every route needs: the Hub and the caller (bearer token or login cookie)."""

from __future__ import annotations

from fastapi import Request

from aperto.hub.auth import Caller
from aperto.hub.service import Hub

COOKIE = "aperto_token"


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


def raw_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(COOKIE) or None


def get_caller(request: Request) -> Caller | None:
    """None for anonymous; an invalid or revoked token is refused (401), never downgraded."""
    return get_hub(request).tokens.authenticate(raw_token(request))


def repo_name(org: str, name: str) -> str:
    return f"{org}/{name}"
