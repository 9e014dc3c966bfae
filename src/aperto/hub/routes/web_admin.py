"""Management pages: accounts, tokens and invitation links, the kill switch for everything and the
audit log (administrators); each gated model's requests, grants and access mode (its licensor);
and the page where an invitation link is accepted.

Every page checks who is asking through the services (``need``/``need_owner``), and every
change is a CSRF-checked form, like the rest of the web UI.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from aperto.errors import ApertoError, BadInput, Conflict, Forbidden, NotFound, Unauthorized
from aperto.hub import gate_form
from aperto.hub.auth import Caller
from aperto.hub.i18n import N_
from aperto.hub.routes import web_format
from aperto.hub.routes.deps import get_hub, repo_name, session_id
from aperto.hub.routes.security import SESSION_COOKIE, same_origin
from aperto.hub.routes.web_base import back, check_csrf, halted, language, page, tr, web_caller
from aperto.hub.service import Hub
from aperto.hub.sessions import csrf_for

router = APIRouter(include_in_schema=False)
INVITE_COOKIE = "aperto_invite"  # the pre-session CSRF nonce of the invitation form
STALE_FORM = N_("The form was stale or came from another site; it has been renewed, please send it again.")
BAD_NAME = N_("Use letters, digits, '-', '_' and '.' (at most 96), starting with a letter or digit.")
AUDIT_FILTERS = ("actor", "action", "subject", "since")
HISTORY_FILTERS = ("user", "status", "kind")


def signed_in(request: Request, hub: Hub) -> Caller:
    me = web_caller(request, hub)
    if me is None:
        raise Unauthorized(N_("sign in to manage the hub"))
    return me


def admin_only(request: Request, hub: Hub) -> Caller:
    me = signed_in(request, hub)
    if not me.admin:
        raise Forbidden(N_("only administrators manage accounts, tokens and the audit log"),
                        hint=N_("ask an administrator of this hub"))
    return me


def admin_view(request: Request, hub: Hub, new_token: dict[str, str] | None = None,
               errors: dict[str, str] | None = None, form: dict[str, Any] | None = None,
               new_invite: dict[str, Any] | None = None) -> HTMLResponse:
    me = admin_only(request, hub)
    return page(request, "admin.html", hub, status=400 if errors else 200, users=hub.tokens.users(me),
                tokens=hub.tokens.list_tokens(me), kill=next((k for k in hub.control.kills() if k["repo"] is None),
                                                             None),
                invites=hub.invites.pending(me), new_token=new_token, new_invite=new_invite, errors=errors or {},
                form=form or {})


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
        token = hub.tokens.invite(me, name, str(form.get("org") or "").strip() or None, scopes,
                                  expires=str(form.get("expires") or ""))
    except ApertoError as exc:
        field = str(exc.details.get("field") or "name")
        return admin_view(request, hub, errors={field: exc.message}, form=form)
    return admin_view(request, hub, new_token={"user": name, "token": token})


@router.post("/admin/invites", response_class=HTMLResponse)
async def invite_link_form(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    """A one-time invitation link, shown on this answer only (the hub keeps its hash)."""
    form = await check_csrf(request)
    me = admin_only(request, hub)
    org = str(form.get("org") or "").strip()
    again = {"role": str(form.get("role") or ""), "inv_org": org, "days": str(form.get("days") or "")}
    try:
        made = hub.invites.create(me, again["role"] or "reader", org or None, again["days"] or 7)
    except ApertoError as exc:
        return admin_view(request, hub, errors={"invite": exc.one_line()}, form=again)
    url = str(request.base_url).rstrip("/") + made["path"]
    return admin_view(request, hub, new_invite={"url": url, "expires_at": made["expires_at"]})


@router.post("/admin/invites/revoke")
async def revoke_invite_form(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    hub.invites.revoke(admin_only(request, hub), str(form.get("id", "")))
    return back("/admin", tr(request)("Invitation withdrawn: its link no longer works."))


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
    asked = gate_form.questions(hub.repos.model_info(me, repo_id)["cardData"])
    history = [web_format.with_answers(v, asked, language(request)) for v in hub.access.history(me, repo_id, query["user"] or None)
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


def invite_page(request: Request, hub: Hub, code: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The invitation's page: its form while it is open, else why it cannot be used."""
    try:
        invite: dict[str, Any] | None = hub.invites.look(code)
    except NotFound:
        invite, status = None, 404
    if invite is not None and invite["state"] != "open" and "accepted" not in context:
        status = 410
    nonce = hub.sessions.login_nonce()
    # a visitor who is signed in sends their session's CSRF token too (the middleware asks for it)
    response = page(request, "invite.html", hub, status=status, invite=invite, code=code,
                    invite_csrf=hub.sessions.login_csrf(nonce), session_csrf=csrf_for(session_id(request)),
                    **{"errors": {}, "form": {}, **context})
    response.set_cookie(INVITE_COOKIE, nonce, httponly=True, samesite="strict", path="/invite",
                        secure=request.url.scheme == "https", max_age=3600)
    return response


@router.get("/invite/{code}", response_class=HTMLResponse)
def invitation_page(request: Request, code: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return invite_page(request, hub, code[:200])


@router.post("/invite/{code}", response_class=HTMLResponse)
async def accept_invite_form(request: Request, code: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    """Open the account, sign the newcomer in, and show their token once."""
    form = dict(await request.form())
    code = code[:200]
    _ = tr(request)
    name = str(form.get("name") or "").strip()
    if not same_origin(request) or not hub.sessions.login_ok(request.cookies.get(INVITE_COOKIE, ""),
                                                            str(form.get("invite_csrf", ""))):
        return invite_page(request, hub, code, 403, form={"name": name},
                           errors={"form": _(STALE_FORM)})
    try:
        opened = hub.invites.accept(code, name)
    except Conflict as exc:
        if exc.details.get("field") == "name":
            return invite_page(request, hub, code, 409, form={"name": name},
                               errors={"name": _("That name is taken: choose another.")})
        return invite_page(request, hub, code)  # used, withdrawn or expired meanwhile: the page says which
    except BadInput:
        return invite_page(request, hub, code, 400, form={"name": name},
                           errors={"name": _(BAD_NAME)})
    except NotFound:
        return invite_page(request, hub, code)
    hub.sessions.end(session_id(request))  # whoever was signed in here is signed out first
    session = hub.sessions.start(opened["token"])
    me = hub.sessions.authenticate(session)
    response = invite_page(request, hub, code, accepted=opened, me=me, csrf=csrf_for(session))
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=int(hub.settings.web_session_hours * 3600))
    response.delete_cookie(INVITE_COOKIE, path="/invite")
    return response
