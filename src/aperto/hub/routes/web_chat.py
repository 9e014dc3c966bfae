"""The chat page and the kill switch.

The browser talks only to the hub. The hub relays the chat to the gateway's
OpenAI-compatible ``/chat/completions`` as the signed-in user, with the token the
session was made from (held in the hub's memory, never in the cookie or the store),
so the gateway enforces that user's own grants.

Kill and resume call ``Hub.kill`` / ``Hub.resume`` (admin or the repo's licensor;
the hub audits both and tells every gateway through its event feed).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse

from aperto import sse
from aperto.errors import BadInput, Forbidden, Unauthorized
from aperto.hub.i18n import N_
from aperto.hub.routes.deps import acting_token, get_hub, repo_name
from aperto.hub.routes.web_base import back, check_csrf, csrf_ok, halted, is_owner, page, web_caller
from aperto.hub.service import Hub

router = APIRouter(include_in_schema=False)
MAX_MESSAGES = 40
MAX_CHARS = 20_000
MAX_TOKENS = 512


def error_event(message: str, code: str = "gateway_error") -> bytes:
    error = json.dumps({"error": {"message": message, "code": code}}, separators=(",", ":"))
    return sse.encode(error) + sse.encode("[DONE]")


def clean_messages(body: Any) -> list[dict[str, str]]:
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages or len(messages) > MAX_MESSAGES:
        raise BadInput(N_("send 1 to %(max)s messages"), values={"max": MAX_MESSAGES})
    out = []
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant") or not isinstance(m.get("content"), str):
            raise BadInput(N_("each message needs a role (user or assistant) and text content"))
        out.append({"role": m["role"], "content": m["content"]})
    if sum(len(m["content"]) for m in out) > MAX_CHARS:
        raise BadInput(N_("the conversation is longer than %(max)s characters"), values={"max": MAX_CHARS})
    return out


@router.get("/models/{org}/{name}/chat", response_class=HTMLResponse)
def chat_page(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    repo_id = repo_name(org, name)
    repo = hub.repos.repo(repo_id)
    me = web_caller(request, hub)
    if me is None:
        return RedirectResponse(f"/login?next=/models/{repo_id}/chat", status_code=303)
    return page(request, "chat.html", hub, repo=repo, owner=is_owner(me, repo), halt=halted(hub, repo_id),
                can_download=hub.repos.can_download(me, repo_id))


async def relay(url: str, token: str, payload: dict[str, Any]) -> AsyncIterator[bytes]:
    """Gateway SSE in, the same events out; failures become one final error event."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    timeout = httpx.Timeout(10.0, read=300.0)
    try:
        async with httpx.AsyncClient(timeout=timeout) as client, \
                client.stream("POST", url, json=payload, headers=headers) as response:
            if response.status_code != 200:  # refused before the first token: a JSON error
                body = (await response.aread()).decode(errors="replace")
                try:
                    err = json.loads(body).get("error") or {}
                except (ValueError, AttributeError):
                    err = {}
                if not isinstance(err, dict):
                    err = {"message": str(err)}
                yield error_event(err.get("message") or f"the gateway answered {response.status_code}",
                                  err.get("code") or "gateway_error")
                return
            async for event in sse.events(response.aiter_lines()):
                yield sse.encode(event.data)
    except httpx.HTTPError as exc:
        yield error_event(f"the gateway cannot be reached ({type(exc).__name__})", "gateway_unreachable")


@router.post("/models/{org}/{name}/chat/stream")
async def chat_stream(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    repo_id = repo_name(org, name)
    hub.repos.repo(repo_id)  # 404 for unknown models
    if web_caller(request, hub) is None:
        raise Unauthorized(N_("sign in to chat"))
    if not csrf_ok(request, request.headers.get("x-csrf-token", "")):
        raise Forbidden(N_("the page is stale or the request came from another site; reload the page"))
    try:
        body = json.loads(await request.body())
    except ValueError as exc:
        raise BadInput(N_("the request body must be JSON")) from exc
    payload = {"model": repo_id, "messages": clean_messages(body), "stream": True, "max_tokens": MAX_TOKENS}
    url = request.app.state.settings.gateway_url.rstrip("/") + "/chat/completions"
    return StreamingResponse(relay(url, acting_token(request), payload), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _answer(request: Request, path: str, msg: str, result: dict[str, Any]) -> Response:
    # the chat page posts these with fetch so a running stream is not interrupted
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({**result, "message": msg})
    return back(path, msg)


def _return_path(form: dict[str, Any], repo_id: str) -> str:
    base = f"/models/{repo_id}"
    return base + "/chat" if form.get("next") == "chat" else base


@router.post("/models/{org}/{name}/kill")
async def kill_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    repo_id = repo_name(org, name)
    reason = str(form.get("reason") or "").strip()
    if not reason:
        raise BadInput(N_("the kill switch needs a reason; it is shown to users and kept in the audit log"))
    result = hub.control.kill(web_caller(request, hub), repo_id, reason[:500])  # admin or licensor, else Forbidden
    return _answer(request, _return_path(form, repo_id), f"Kill switch engaged: {reason[:500]}", result)


@router.post("/models/{org}/{name}/resume")
async def resume_form(request: Request, org: str, name: str, hub: Hub = Depends(get_hub)) -> Response:
    form = await check_csrf(request)
    repo_id = repo_name(org, name)
    result = hub.control.resume(web_caller(request, hub), repo_id)
    return _answer(request, _return_path(form, repo_id), "Resumed: the model is served again.", result)
