"""Server-rendered pages: catalogue, model page ("Can I use it?", request access,
files, leaderboard, takedown), licensor queue, audit view, token sign-in.

Signing in exchanges a token for a session (hub/sessions.py); forms carry the session's
CSRF field and routes/security.py refuses cookie-authenticated changes without it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from aperto.errors import ApertoError, BadInput, NotFound
from aperto.hub import licensing
from aperto.hub.access import clean_attestation
from aperto.hub.routes import web_chat, web_evals
from aperto.hub.routes.deps import get_hub, repo_name, session_id
from aperto.hub.routes.security import LOGIN_COOKIE, SESSION_COOKIE, same_origin
from aperto.hub.routes.web_base import (  # noqa: F401 - re-exported for older imports
    CATEGORY_LABELS,
    GATING_LABELS,
    OUTCOME_LABELS,
    back,
    check_csrf,
    halted,
    is_owner,
    page,
    web_caller,
)
from aperto.hub.seed import CATALOGUE_USER
from aperto.hub.service import Hub

router = APIRouter(include_in_schema=False)
router.include_router(web_chat.router)
router.include_router(web_evals.router)


def is_hosted(repo: dict[str, Any]) -> bool:
    """Whether this hub holds the model: a repo committed here is hosted, whatever its files are
    called; a catalogue entry (listed by the catalogue account) only describes a model held elsewhere."""
    return bool(repo["sha"]) and repo["licensor"] != CATALOGUE_USER


def access_label(repo: dict[str, Any]) -> str:
    """How to get the model: the gating of a hosted repo, or that it is not here to get."""
    if is_hosted(repo):
        return GATING_LABELS[repo["gating"]]
    return "closed, not hosted" if repo["category"] == "closed" else "not hosted here"


def catalogue_facts(repo_id: str) -> dict[str, Any] | None:
    """What the catalogue knows about this model (published scores with sources), if anything."""
    try:
        from aperto import catalog

        facts = catalog.find(repo_id)
    except Exception:  # the hub works without the catalogue
        return None
    if facts is None:
        return None
    return {"name": facts.name, "developer": facts.developer, "release_date": facts.release_date,
            "note": facts.note, "scores": [s.to_dict() for s in facts.scores]}


@router.get("/", response_class=HTMLResponse)
def index(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    repos = [{**r, "access": access_label(r)} for r in hub.repos.list_repos()]
    return page(request, "index.html", hub, repos=repos)


def safe_next(target: str) -> str:
    """Only a path on this hub: no open redirects (``//host`` and ``/\\host`` leave it)."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def login_page(request: Request, hub: Hub, target: str, error: str | None, status: int = 200) -> HTMLResponse:
    """The sign-in form with a fresh pre-session CSRF token: a nonce cookie and its signature."""
    nonce = hub.sessions.login_nonce()
    response = page(request, "login.html", hub, next=safe_next(target), error=error,
                    login_csrf=hub.sessions.login_csrf(nonce))
    response.status_code = status
    response.set_cookie(LOGIN_COOKIE, nonce, httponly=True, samesite="strict", path="/login",
                        secure=request.url.scheme == "https", max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return login_page(request, hub, next, None)


@router.post("/login")
async def login(request: Request, hub: Hub = Depends(get_hub)):  # noqa: ANN201
    """Exchange a token for a session: the cookie gets a random session id, never the token."""
    form = await request.form()
    target = safe_next(str(form.get("next") or "/"))
    if not same_origin(request) or not hub.sessions.login_ok(request.cookies.get(LOGIN_COOKIE, ""),
                                                            str(form.get("csrf", ""))):
        return login_page(request, hub, target, "The sign-in form was stale or came from another site; "
                                                "it has been renewed, please sign in again.", 403)
    try:
        session = hub.sessions.start(str(form.get("token", "")).strip())
    except ApertoError:
        return login_page(request, hub, target, "That token is not valid.", 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https",
                        max_age=int(hub.settings.web_session_hours * 3600))
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    await check_csrf(request)
    hub.sessions.end(session_id(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/models/{org}/{name}", response_class=HTMLResponse)
def model_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    repo_id = repo_name(org, name)
    me = web_caller(request, hub)
    repo = hub.repos.repo(repo_id)
    info = hub.repos.model_info(me, repo_id)
    repo["sha"] = info["sha"]
    form = dict(request.query_params)
    check = None
    if form.get("check"):
        try:
            _, profile = clean_attestation({**form, "accepts_aup": True})
            check = licensing.evaluate(repo["license"], profile)
        except BadInput as exc:
            check = {"outcome": "error", "reasons": [{"clause": "", "text": exc.message}]}
    mine = None
    if me:
        try:
            mine = hub.access.my_request(me, repo_id)
        except NotFound:
            mine = None
    files = info["siblings"]
    hosted = is_hosted(repo)
    evals = web_evals.measured(hub.evals.evals(repo_id))
    facts = catalogue_facts(repo_id)
    return page(request, "model.html", hub, repo=repo, files=files, form=form, check=check,
                lic=licensing.license_summary(repo["license"]), mine=mine, owner=is_owner(me, repo),
                access=access_label(repo), can_download=hub.repos.can_download(me, repo_id), evals=evals,
                hosted=hosted, facts=facts, card=hub.listing.card_html(repo_id),
                halt=halted(hub, repo_id), runs=web_evals.runs_for(request, repo_id),
                chart=web_evals.model_chart(repo_id, evals, facts))


@router.post("/models/{org}/{name}/request")
async def request_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    form.pop("csrf", None)
    result = hub.access.request_access(web_caller(request, hub), repo_name(org, name), form)
    return back(f"/models/{org}/{name}", f"Request {result['status']}: {result['reason']}")


@router.post("/models/{org}/{name}/handle")
async def handle_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    result = hub.access.handle_request(web_caller(request, hub), repo_name(org, name), str(form.get("user", "")),
                                str(form.get("status", "")), str(form.get("reason") or "") or None)
    return back("/queue", f"{result['user']}: {result['status']}")


@router.post("/models/{org}/{name}/takedown")
async def takedown_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    hub.repos.withdraw(web_caller(request, hub), repo_name(org, name), str(form.get("reason", "")))
    return back(f"/models/{org}/{name}", "Withdrawn. Future downloads are refused; earlier copies cannot be recalled.")


@router.post("/models/{org}/{name}/restore")
async def restore_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    await check_csrf(request)
    hub.repos.restore(web_caller(request, hub), repo_name(org, name))
    return back(f"/models/{org}/{name}", "Restored.")


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse("/login?next=/queue", status_code=303)
    queues = []
    for repo in hub.repos.list_repos():
        if repo["gating"] != "open" and (me.admin or (repo["licensor"] == me.name and me.has("publish"))):
            queues.append({"repo": repo["id"], "pending": hub.access.list_requests(me, repo["id"], "pending"),
                           "accepted": hub.access.list_requests(me, repo["id"], "accepted")})
    return page(request, "queue.html", hub, queues=queues)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse("/login?next=/audit", status_code=303)
    rows = hub.audit.audit_rows(me, 0, 5000)  # admins only (raises Forbidden)
    return page(request, "audit.html", hub, rows=list(reversed(rows))[:500], verify=hub.audit.verify_audit())
