"""Server-rendered pages: catalogue, model page ("Can I use it?", request access,
files, leaderboard, takedown), licensor queue, audit view, token sign-in.

Forms post with the login cookie (HttpOnly, SameSite=Strict) plus a CSRF field
derived from the token, so another site cannot make a signed-in browser act.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from aperto.errors import ApertoError, BadInput, Forbidden, NotFound
from aperto.hub import licensing
from aperto.hub.base import Caller
from aperto.hub.routes.deps import COOKIE, get_hub, raw_token, repo_name
from aperto.hub.service import Hub

router = APIRouter(include_in_schema=False)
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
        return hub.authenticate(raw_token(request))
    except ApertoError:
        return None


async def check_csrf(request: Request) -> dict[str, Any]:
    form = dict(await request.form())
    expected = csrf_for(raw_token(request))
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")), expected):
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


@router.get("/", response_class=HTMLResponse)
def index(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return page(request, "index.html", hub, repos=hub.list_repos())


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/", hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return page(request, "login.html", hub, next=next if next.startswith("/") else "/", error=None)


@router.post("/login")
async def login(request: Request, hub: Hub = Depends(get_hub)):  # noqa: ANN201
    form = await request.form()
    token = str(form.get("token", "")).strip()
    target = str(form.get("next") or "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"  # no open redirects
    try:
        caller = hub.authenticate(token)
    except ApertoError:
        caller = None
    if caller is None:
        response = page(request, "login.html", hub, next=target, error="That token is not valid.")
        response.status_code = 401
        return response
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        max_age=7 * 24 * 3600)
    return response


@router.post("/logout")
async def logout(request: Request) -> RedirectResponse:
    await check_csrf(request)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/models/{org}/{name}", response_class=HTMLResponse)
def model_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    repo_id = repo_name(org, name)
    me = web_caller(request, hub)
    repo = hub.repo(repo_id)
    info = hub.model_info(me, repo_id)
    repo["sha"] = info["sha"]
    form = dict(request.query_params)
    check = None
    if form.get("check"):
        try:
            from aperto.hub.access import clean_attestation

            attestation = clean_attestation({**form, "accepts_aup": True})
            check = licensing.evaluate(repo["license"], attestation)
        except BadInput as exc:
            check = {"outcome": "error", "reasons": [{"clause": "", "text": exc.message}]}
    mine = None
    if me:
        try:
            mine = hub.my_request(me, repo_id)
        except NotFound:
            mine = None
    owner = me is not None and (me.admin or (me.name == repo["licensor"] and me.has("publish")))
    return page(request, "model.html", hub, repo=repo, files=info["siblings"], form=form, check=check,
                lic=licensing.license_summary(repo["license"]), mine=mine, owner=owner,
                can_download=hub.can_download(me, repo_id), evals=hub.evals(repo_id))


@router.post("/models/{org}/{name}/request")
async def request_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    form.pop("csrf", None)
    result = hub.request_access(web_caller(request, hub), repo_name(org, name), form)
    return back(f"/models/{org}/{name}", f"Request {result['status']}: {result['reason']}")


@router.post("/models/{org}/{name}/handle")
async def handle_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    result = hub.handle_request(web_caller(request, hub), repo_name(org, name), str(form.get("user", "")),
                                str(form.get("status", "")), str(form.get("reason") or "") or None)
    return back("/queue", f"{result['user']}: {result['status']}")


@router.post("/models/{org}/{name}/takedown")
async def takedown_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    hub.withdraw(web_caller(request, hub), repo_name(org, name), str(form.get("reason", "")))
    return back(f"/models/{org}/{name}", "Withdrawn. Future downloads are refused; earlier copies cannot be recalled.")


@router.post("/models/{org}/{name}/restore")
async def restore_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    await check_csrf(request)
    hub.restore(web_caller(request, hub), repo_name(org, name))
    return back(f"/models/{org}/{name}", "Restored.")


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse("/login?next=/queue", status_code=303)
    queues = []
    for repo in hub.list_repos():
        if repo["gating"] != "open" and (me.admin or (repo["licensor"] == me.name and me.has("publish"))):
            queues.append({"repo": repo["id"], "pending": hub.list_requests(me, repo["id"], "pending"),
                           "accepted": hub.list_requests(me, repo["id"], "accepted")})
    return page(request, "queue.html", hub, queues=queues)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse("/login?next=/audit", status_code=303)
    rows = hub.audit_rows(me, 0, 5000)  # admins only (raises Forbidden)
    return page(request, "audit.html", hub, rows=list(reversed(rows))[:500], verify=hub.verify_audit())
