"""Server-rendered pages: catalogue, model page ("Can I use it?", request access,
files, leaderboard, takedown), licensor queue, audit view, token sign-in.

Signing in exchanges a token for a session (hub/sessions.py); forms carry the session's
CSRF field and routes/security.py refuses cookie-authenticated changes without it.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

import babel
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from aperto.errors import ApertoError, BadInput, NotFound
from aperto.hub import gate_form, i18n, licensing
from aperto.hub.access import clean_attestation
from aperto.hub.i18n import N_
from aperto.hub.routes import web_admin, web_chat, web_evals, web_format
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
    language,
    page,
    tr,
    web_caller,
)
from aperto.hub.seed import CATALOGUE_USER
from aperto.hub.service import Hub
from aperto.policy.profile import ISO_3166_ALPHA2

router = APIRouter(include_in_schema=False)
router.include_router(web_chat.router)
router.include_router(web_evals.router)
router.include_router(web_admin.router)


def is_hosted(repo: dict[str, Any]) -> bool:
    """Whether this hub holds the model: a repo committed here is hosted, whatever its files are
    called; a catalogue entry (listed by the catalogue account) only describes a model held elsewhere."""
    return bool(repo["sha"]) and repo["licensor"] != CATALOGUE_USER


def access_label(repo: dict[str, Any]) -> str:
    """How to get the model: the gating of a hosted repo, or that it is not here to get."""
    if is_hosted(repo):
        return GATING_LABELS[repo["gating"]]
    return N_("closed, not hosted") if repo["category"] == "closed" else N_("not hosted here")


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


@lru_cache(maxsize=1)
def families() -> dict[str, str]:
    """Model id (lower case) -> family, from the catalogue (static data, read once)."""
    try:
        from aperto import catalog

        return {f.id.lower(): f.family for f in catalog.all()}
    except Exception:  # the hub works without the catalogue
        return {}


SORTS = {"name": lambda r: r["id"].casefold(), "newest": lambda r: r.get("created_at") or "",
         "licence": lambda r: ((r["license"] or "~").casefold(), r["id"].casefold())}


def catalogue_rows(repos: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """The catalogue, searched (name, licence, licensor), filtered and sorted; names sort case-blind."""
    fam = families()
    rows = []
    q = query.get("q", "").strip().casefold()
    for r in repos:
        hosted = is_hosted(r)
        row = {**r, "hosted": hosted, "family": fam.get(r["id"].lower()) or r["id"].split("/")[0],
               "osi": bool((r["verdict"] or {}).get("open_source"))}
        if q and q not in f'{r["id"]} {r["license"] or ""} {r["licensor"]} {row["family"]}'.casefold():
            continue
        if query.get("category") and r["category"] != query["category"]:
            continue
        if query.get("osi") and row["osi"] != (query["osi"] == "yes"):
            continue
        if query.get("gated") and (r["gating"] != "open") != (query["gated"] == "gated"):
            continue
        if query.get("hosted") and hosted != (query["hosted"] == "hosted"):
            continue
        if query.get("family") and row["family"] != query["family"]:
            continue
        rows.append(row)
    order = query.get("sort") or "name"
    if order not in SORTS:
        order = "name"
    return sorted(rows, key=SORTS[order], reverse=order == "newest")


@router.get("/", response_class=HTMLResponse)
def index(request: Request, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    _ = tr(request)
    repos = hub.repos.list_repos()
    query = {k: str(v)[:200] for k, v in request.query_params.items()}
    rows = [{**r, "access": _(access_label(r))} for r in catalogue_rows(repos, query)]
    fam = sorted({r["family"] for r in catalogue_rows(repos, {})}, key=str.casefold)
    return page(request, "index.html", hub, repos=rows, total=len(repos), query=query,
                family_options=[(f, f) for f in fam],
                all_repos=repos)


@router.get("/lang/{code}")
def switch_language(code: str, next: str = "/") -> RedirectResponse:
    """Remember the chosen language in a cookie (a preference: it signs nobody in)."""
    if code not in i18n.LANGUAGES:
        raise NotFound(N_("no language %(code)s"), hint=N_("choose one of %(languages)s"),
                       values={"code": repr(code), "languages": ", ".join(i18n.LANGUAGES)})
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(i18n.LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return response


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
        stale = N_("The sign-in form was stale or came from another site; it has been renewed, please sign in again.")
        return login_page(request, hub, target, tr(request)(stale), 403)
    try:
        session = hub.sessions.start(str(form.get("token", "")).strip())
    except ApertoError:
        return login_page(request, hub, target, tr(request)("That token is not valid."), 401)
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


@lru_cache(maxsize=16)
def country_choices(lang: str) -> list[tuple[str, str]]:
    """(ISO code, name in the page's language) for a card's country question, by name."""
    names = babel.Locale.parse(lang).territories
    return sorted(((c, names.get(c, c)) for c in ISO_3166_ALPHA2), key=lambda pair: pair[1].casefold())


def yesno(value: bool | None) -> str:
    return {True: N_("yes"), False: N_("no"), None: N_("unknown")}[value]


def model_view(request: Request, hub: Hub, repo_id: str, req_form: dict[str, Any] | None = None,
               req_errors: dict[str, str] | None = None) -> HTMLResponse:
    """The model page; a request form with errors is shown again with them beside its fields."""
    me = web_caller(request, hub)
    _ = tr(request)
    repo = hub.repos.repo(repo_id)
    info = hub.repos.model_info(me, repo_id)
    repo["sha"] = info["sha"]
    form = dict(request.query_params)
    check: dict[str, Any] | None = None
    check_errors: dict[str, str] = {}
    if form.get("check"):
        fields, check_errors = web_format.profile_form(form, _)
        if not check_errors:
            try:
                _stored, profile = clean_attestation({**fields, "accepts_aup": True})
                profile = replace(profile, accepts_aup=form.get("aup") != "no")
                check = licensing.evaluate(repo["license"], profile)
            except BadInput as exc:
                check_errors = {str(exc.details.get("field") or "org"): web_format.error_said(exc, language(request))[0]}
    asked = gate_form.questions(info["cardData"])
    gate = {"prompt": gate_form.prompt(info["cardData"]), "questions": asked}
    mine = None
    if me:
        try:
            # the caller's own request only, with their answers to the card's questions
            mine = web_format.with_answers(hub.access.my_request(me, repo_id), asked, language(request))
        except NotFound:
            mine = None
    hosted = is_hosted(repo)
    evals = [{**e, "interval": web_format.score_interval(e)} for e in web_evals.measured(hub.evals.evals(repo_id))]
    facts = catalogue_facts(repo_id)
    settings = request.app.state.settings
    status = 400 if req_errors else 200
    return page(request, "model.html", hub, status=status, repo=repo, files=info["siblings"], form=form, check=check,
                gate=gate, countries=country_choices(language(request)) if gate["questions"] else [],
                check_errors=check_errors, req_form=req_form or {}, req_errors=req_errors or {},
                lic=licensing.license_summary(repo["license"]), mine=mine, owner=is_owner(me, repo),
                access=_(access_label(repo)), can_download=hub.repos.can_download(me, repo_id), evals=evals,
                hosted=hosted, facts=facts, card=hub.listing.card_html(repo_id),
                osaid=web_format.osaid_summary(repo_id, repo["license"]),
                yesno=lambda v: _(yesno(v)), terms_count=len(hub.repos.terms_texts(repo_id)) if hosted else 0,
                base_url=str(request.base_url).rstrip("/"), gateway_url=settings.gateway_url,
                halt=halted(hub, repo_id), runs=web_evals.runs_for(request, repo_id),
                chart=web_evals.model_chart(repo_id, evals, facts, _))


@router.get("/models/{org}/{name}", response_class=HTMLResponse)
def model_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    return model_view(request, hub, repo_name(org, name))


@router.get("/models/{org}/{name}/terms", response_class=HTMLResponse)
def terms_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> HTMLResponse:
    """The licence and use policy as published in the repo, readable before accepting them
    (the files themselves are gated with the weights)."""
    repo_id = repo_name(org, name)
    repo = hub.repos.repo(repo_id)
    texts = hub.repos.terms_texts(repo_id)
    if not texts:
        raise NotFound(N_("%(repo)s has no licence file to show"), hint=N_("the model page summarises its licence"),
                       values={"repo": repo_id})
    return page(request, "terms.html", hub, repo=repo, texts=texts,
                lic=licensing.license_summary(repo["license"]))


@router.post("/models/{org}/{name}/request")
async def request_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    form.pop("csrf", None)
    repo_id = repo_name(org, name)
    fields, errors = web_format.profile_form(form, tr(request))
    if not form.get("accepts_aup"):
        errors["accepts_aup"] = tr(request)("Tick the box to accept the licence and its acceptable-use policy.")
    fields["gated_fields"] = {}
    for i, question in enumerate(gate_form.questions(hub.repos.model_info(None, repo_id)["cardData"])):
        value, problem = gate_form.answer(question, form.get(f"gated-{i}"))
        if problem is None:
            fields["gated_fields"][question.label] = value
        else:
            # the card's label stays in its own words, marked so (the sentence around it is translated)
            label = Markup('<span translate="no">%s</span>') % repr(question.label)
            errors[f"gated-{i}"] = Markup.escape(tr(request)(problem.msgid)) % {"label": label}
    if errors:
        return model_view(request, hub, repo_id, req_form=form, req_errors=errors)
    result = hub.access.request_access(web_caller(request, hub), repo_id, fields)
    _ = tr(request)
    reason = web_format.request_reason(result, language(request))
    return back(f"/models/{org}/{name}", _("Request %(status)s: %(reason)s", status=_(result["status"]),
                                           reason=reason.striptags()))


@router.post("/models/{org}/{name}/handle")
async def handle_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    result = hub.access.handle_request(web_caller(request, hub), repo_name(org, name), str(form.get("user", "")),
                                str(form.get("status", "")), str(form.get("reason") or "") or None)
    _ = tr(request)
    return back(str(form.get("back") or "/queue") if str(form.get("back") or "").startswith("/models/") else "/queue",
                _("%(user)s: %(status)s", user=result["user"], status=_(result["status"])))


@router.post("/models/{org}/{name}/takedown")
async def takedown_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    form = await check_csrf(request)
    hub.repos.withdraw(web_caller(request, hub), repo_name(org, name), str(form.get("reason", "")))
    return back(f"/models/{org}/{name}",
                tr(request)("Withdrawn. Future downloads are refused; earlier copies cannot be recalled."))


@router.post("/models/{org}/{name}/restore")
async def restore_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> RedirectResponse:
    await check_csrf(request)
    hub.repos.restore(web_caller(request, hub), repo_name(org, name))
    return back(f"/models/{org}/{name}", tr(request)("Restored."))


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request, hub: Hub = Depends(get_hub)) -> Response:
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse("/login?next=/queue", status_code=303)
    queues, lang = [], language(request)
    for repo in hub.repos.list_repos():
        if repo["gating"] != "open" and (me.admin or (repo["licensor"] == me.name and me.has("publish"))):
            asked = gate_form.questions(hub.repos.model_info(me, repo["id"])["cardData"])
            # list_requests checks again that the caller is the licensor or an administrator
            pending = [web_format.with_answers(r, asked, lang) for r in hub.access.list_requests(me, repo["id"], "pending")]
            queues.append({"repo": repo["id"], "pending": pending,
                           "accepted": hub.access.list_requests(me, repo["id"], "accepted")})
    return page(request, "queue.html", hub, queues=queues)
