"""What every server-rendered page shares: templates, the signed-in caller, the
CSRF field, labels. Split out of web.py so web_chat.py and web_evals.py can use it."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from aperto.errors import ApertoError, Forbidden
from aperto.hub import i18n
from aperto.hub.auth import Caller
from aperto.hub.i18n import N_
from aperto.hub.routes import web_format
from aperto.hub.routes.deps import get_caller, raw_token, session_id
from aperto.hub.service import Hub
from aperto.hub.sessions import csrf_for


def http_url(value: Any) -> str:
    """The URL if it is http(s) with a host, else "": data (eval rows, the catalogue) never
    becomes a javascript: or data: link."""
    text = str(value or "").strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return ""
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else ""


# autoescape on for every template whatever its name; links from data go through http_url
templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"), autoescape=True))
templates.env.filters["http_url"] = http_url
templates.env.filters["filesize"] = web_format.filesize
templates.env.filters["readable"] = web_format.readable
templates.env.filters["explained"] = web_format.explained_filter
templates.env.filters["request_reason"] = web_format.request_reason_filter
templates.env.filters["count"] = web_format.count_filter
templates.env.filters["declared"] = web_format.declared
templates.env.filters["error_said"] = web_format.error_filter

CATEGORY_LABELS = {"open-source": N_("open source"), "open-weights-restricted": N_("open weights with restrictions"),
                   "noncommercial-research": N_("non-commercial / research only"), "closed": N_("closed"),
                   "unknown": N_("licence unknown")}
GATING_LABELS = {"open": N_("open to all"), "auto": N_("gated, licence-aware automatic"), "manual": N_("gated, licensor decides")}
OUTCOME_LABELS = {"allowed": N_("Yes, you may use it."), "allowed_with_obligations": N_("Yes, with obligations."),
                  "needs_licensor_grant": N_("Only with the licensor's permission."), "prohibited": N_("No.")}


def web_caller(request: Request, hub: Hub) -> Caller | None:
    """The signed-in user, or None (an ended session is treated as signed out on pages)."""
    try:
        return get_caller(request)
    except ApertoError:
        return None


def csrf_ok(request: Request, given: str) -> bool:
    """Checked again here although routes/security.py already refused a bad one: a route
    must not depend on the middleware being installed."""
    if raw_token(request):
        return True  # a bearer token cannot be sent by another site's page
    expected = csrf_for(session_id(request))
    return bool(expected) and hmac.compare_digest(str(given).encode(), expected.encode())


async def check_csrf(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    if not csrf_ok(request, request.headers.get("x-csrf-token") or str(form.get("csrf", ""))):
        raise Forbidden(N_("the form is stale or came from another site; reload the page and try again"))
    return form


def language(request: Request) -> str:
    return i18n.negotiate(request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language"))


def tr(request: Request):  # noqa: ANN201 - a gettext callable
    return i18n.translator(language(request))


def is_licensor(hub: Hub, me: Caller | None, repos: list[dict[str, Any]] | None = None) -> bool:
    """Whether the licensor queue means anything to this user: admins, and licensors of a gated model."""
    if me is None:
        return False
    if me.admin:
        return True
    if not me.has("publish"):
        return False
    return any(r["licensor"] == me.name and r["gating"] != "open" for r in (repos or hub.repos.list_repos()))


def page(request: Request, name: str, hub: Hub, status: int = 200, **context: Any) -> HTMLResponse:
    me = web_caller(request, hub)
    lang = language(request)
    _ = i18n.translator(lang)
    labels = {k: _(v) for k, v in CATEGORY_LABELS.items()}
    return templates.TemplateResponse(request, name, {
        "me": me, "csrf": csrf_for(session_id(request)) if me else "", "labels": labels,
        "gating_labels": {k: _(v) for k, v in GATING_LABELS.items()},
        "outcome_labels": {k: _(v) for k, v in OUTCOME_LABELS.items()},
        "licensor": is_licensor(hub, me, context.get("all_repos")), "lang": lang, "languages": i18n.LANGUAGES,
        "kind_labels": web_format.KIND_LABELS, "result_labels": web_format.RESULT_LABELS,
        "osd_names": web_format.OSD_NAMES, "_": _, "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        "flash": request.query_params.get("msg"), **context}, status_code=status)


def back(path: str, msg: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?msg={quote(msg)}", status_code=303)


def error_page(request: Request, hub: Hub, exc: ApertoError) -> HTMLResponse:
    """A refusal as a page for people (the API keeps its JSON): what happened and what to do."""
    return page(request, "error.html", hub, status=exc.http_status, error=exc)


def wants_html(request: Request) -> bool:
    """A browser navigating (not the API, not a script asking for JSON or a file client)."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")


def is_owner(me: Caller | None, repo: dict[str, Any]) -> bool:
    """Admin, or the repo's licensor with publish scope (what Hub._is_owner checks)."""
    return me is not None and (me.admin or (me.name == repo["licensor"] and me.has("publish")))


def halted(hub: Hub, repo_id: str) -> dict[str, Any] | None:
    """The kill that stops this model (its own, or the one for everything), if any."""
    for kill in hub.control.kills():
        if kill["repo"] in (None, repo_id):
            return kill
    return None
