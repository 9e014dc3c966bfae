"""What every server-rendered page shares: templates, the signed-in caller, the
CSRF field, labels. Split out of web.py so web_chat.py and web_evals.py can use it."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from aperto.errors import ApertoError, Forbidden
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import raw_token
from aperto.hub.service import Hub

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))

CATEGORY_LABELS = {"open-source": "open source", "open-weights-restricted": "open weights with restrictions",
                   "noncommercial-research": "non-commercial / research only", "closed": "closed",
                   "unknown": "licence unknown"}
GATING_LABELS = {"open": "open to all", "auto": "gated, licence-aware automatic", "manual": "gated, licensor decides"}
OUTCOME_LABELS = {"allowed": "Yes, you may use it.", "allowed_with_obligations": "Yes, with obligations.",
                  "needs_licensor_grant": "Only with the licensor's permission.", "prohibited": "No."}


def csrf_for(token: str | None) -> str:
    return hashlib.sha256(b"aperto-csrf:" + (token or "").encode()).hexdigest()[:32] if token else ""


def web_caller(request: Request, hub: Hub) -> Caller | None:
    """The signed-in user, or None (a stale cookie is treated as signed out on pages)."""
    try:
        return hub.tokens.authenticate(raw_token(request))
    except ApertoError:
        return None


def csrf_ok(request: Request, given: str) -> bool:
    expected = csrf_for(raw_token(request))
    return bool(expected) and hmac.compare_digest(str(given), expected)


async def check_csrf(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    if not csrf_ok(request, str(form.get("csrf", ""))):
        raise Forbidden("the form is stale or came from another site; reload the page and try again")
    return form


def page(request: Request, name: str, hub: Hub, **context: Any) -> HTMLResponse:
    me = web_caller(request, hub)
    return templates.TemplateResponse(request, name, {
        "me": me, "csrf": csrf_for(raw_token(request)) if me else "", "labels": CATEGORY_LABELS,
        "gating_labels": GATING_LABELS, "outcome_labels": OUTCOME_LABELS,
        "flash": request.query_params.get("msg"), **context})


def back(path: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?msg={quote(msg)}", status_code=303)


def is_owner(me: Caller | None, repo: dict[str, Any]) -> bool:
    """Admin, or the repo's licensor with publish scope (what Hub._is_owner checks)."""
    return me is not None and (me.admin or (me.name == repo["licensor"] and me.has("publish")))


def halted(hub: Hub, repo_id: str) -> dict[str, Any] | None:
    """The kill that stops this model (its own, or the one for everything), if any."""
    for kill in hub.control.kills():
        if kill["repo"] in (None, repo_id):
            return kill
    return None
