"""Management pages: accounts and tokens, the kill switch for everything and the audit log
(administrators); each gated model's requests, grants and access mode (its licensor).

Every page checks who is asking through the services (``need``/``need_owner``), and every
change is a CSRF-checked form, like the rest of the web UI.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from aperto.errors import ApertoError, Forbidden, Unauthorized
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_hub, repo_name
from aperto.hub.routes.web_base import back, check_csrf, halted, page, tr, web_caller
from aperto.hub.service import Hub

router = APIRouter(include_in_schema=False)
AUDIT_FILTERS = ("actor", "action", "subject", "since")
HISTORY_FILTERS = ("user", "status", "kind")


def signed_in(request: Request, hub: Hub) -> Caller:
    me = web_caller(request, hub)
    if me is None:
        raise Unauthorized("sign in to manage the hub")
    return me


def admin_only(request: Request, hub: Hub) -> Caller:
    me = signed_in(request, hub)
    if not me.admin:
        raise Forbidden("only administrators manage accounts, tokens and the audit log",
                        hint="ask an administrator of this hub")
    return me


def admin_view(request: Request, hub: Hub, new_token: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, form: dict[str, Any] | None = None) -> HTMLResponse:
    me = admin_only(request, hub)
    return page(request, "admin.html", hub, status=400 if errors else 200, users=hub.tokens.users(me),
                tokens=hub.tokens.list_tokens(me), kill=next((k for k in hub.control.kills() if k["repo"] is None),
                                                             None),
                new_token=new_token, errors=errors or {}, form=form or {})


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return admin_view(request, hub)


@router.post("/admin/users", response_class=HTMLResponse)
async def invite_form(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    """Open an account; its token is shown on this one answer and never again."""
    form = await check_csrf(request)
    me = admin_only(request, hub)
    name = str(form.get("name", "")).strip()
    scopes = ["read", "publish"] if form.get("publish") else ["read"]
    try:
        token = hub.tokens.invite(me, name, str(form.get("org") or "").strip() or None, scopes)
    except ApertoError as exc:
        field = str(exc.details.get("field") or "name")
        return admin_view(request, hub, errors={field: exc.message}, form=form)
    return admin_view(request, hub, new_token={"user": name, "token": token})


@router.post("/admin/tokens/revoke")
async def revoke_token_form(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    result = hub.tokens.revoke_token(admin_only(request, hub), str(form.get("sha256", "")))
    return back("/admin", tr(request)("Token of %(user)s revoked.", user=result["user"]))


@router.post("/admin/kill")
async def kill_all_form(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    _ = tr(request)
    reason = str(form.get("reason") or "").strip()[:500]
    if not reason:
        return admin_view(request, hub, errors={"reason": _("Give a reason: users see it and the audit log keeps it.")})
    hub.control.kill(admin_only(request, hub), None, reason)
    return back("/admin", _("Kill switch engaged for every model: %(reason)s", reason=reason))


@router.post("/admin/resume")
async def resume_all_form(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    await check_csrf(request)
    hub.control.resume(admin_only(request, hub), None)
    return back("/admin", tr(request)("Every model is served again."))


def audit_query(request: Request) -> dict[str, str]:
    return {k: str(request.query_params.get(k) or "")[:200] for k in AUDIT_FILTERS}


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    me = admin_only(request, hub)
    query = audit_query(request)
    rows = hub.audit.search(me, query["actor"], query["action"], query["subject"], query["since"])
    return page(request, "audit.html", hub, rows=rows, query=query, verify=hub.audit.verify_audit())


@router.get("/audit.csv")
def audit_export(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    """The filtered rows as CSV, for a spreadsheet; `aperto audit export` gives the signed leaves."""
    me = admin_only(request, hub)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["seq", "at", "actor", "action", "subject", "before", "after", "hash"])
    query = audit_query(request)
    for a in hub.audit.search(me, query["actor"], query["action"], query["subject"], query["since"], limit=100_000):
        writer.writerow([a["seq"], a["at"], a["actor"], a["action"], a["subject"], a["before"], a["after"], a["hash"]])
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="aperto-audit.csv"'})


@router.get("/models/{org}/{name}/manage", response_class=HTMLResponse)
def manage_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    """The licensor's view of one model: access mode, grants, and every request version."""
    me = signed_in(request, hub)
    repo_id = repo_name(org, name)
    repo = hub.repos.repo(repo_id)
    grants = hub.access.grants(me, repo_id)  # the licensor or an administrator, else Forbidden
    query = {k: str(request.query_params.get(k) or "")[:100] for k in HISTORY_FILTERS}
    history = [v for v in hub.access.history(me, repo_id, query["user"] or None)
               if (not query["status"] or v["status"] == query["status"]) and (not query["kind"] or v["kind"] == query["kind"])]
    hooks = [h for h in hub.webhooks.listed(me) if h["watched"] == [{"type": "model", "name": repo_id}]]
    return page(request, "manage.html", hub, repo=repo, grants=grants, history=history[::-1], query=query,
                halt=halted(hub, repo_id), hooks=hooks)


@router.post("/models/{org}/{name}/gating")
async def gating_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    result = hub.repos.set_gating(signed_in(request, hub), repo_name(org, name), str(form.get("gating", "")))
    return back(f"/models/{org}/{name}/manage", tr(request)("Access mode: %(mode)s", mode=result["gating"]))


@router.post("/models/{org}/{name}/revoke")
async def revoke_grant_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    user = str(form.get("user", ""))
    hub.access.revoke_access(signed_in(request, hub), repo_name(org, name), user, str(form.get("reason") or ""))
    return back(f"/models/{org}/{name}/manage", tr(request)("Access of %(user)s revoked.", user=user))


@router.post("/models/{org}/{name}/webhooks")
async def webhook_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    """Watch this model: the hub posts its access, takedown, kill and commit events to the URL."""
    form = await check_csrf(request)
    repo_id = repo_name(org, name)
    hub.webhooks.register(signed_in(request, hub), [{"type": "model", "name": repo_id}], str(form.get("url", "")),
                          str(form.get("secret") or ""))
    return back(f"/models/{org}/{name}/manage", tr(request)("Webhook added."))


@router.post("/models/{org}/{name}/webhooks/delete")
async def webhook_delete_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    hub.webhooks.delete(signed_in(request, hub), str(form.get("id", "")))
    return back(f"/models/{org}/{name}/manage", tr(request)("Webhook removed."))
