"""The event feed gateways subscribe to, the state snapshot, and the kill switch."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, raw_token
from aperto.hub.service import Hub
from aperto.store.models import MAX_SEQ

router = APIRouter(tags=["events"])
POLL_DB_S = 0.5  # other processes (a second hub on PostgreSQL, the CLI) write events too
GONE_CHECK_S = 0.2  # how often a waiting long-poll asks whether its client is still there


async def _wait_for_event(hub: Hub, request: Request, after: int, deadline: float) -> bool:
    """Sleep until this process sees an event after ``after``, re-reading the table now and then.
    False if the client went away first (a stopped gateway must not hold a handler for 30 s)."""
    asked = time.monotonic()
    while hub.core.last_seq <= after and time.monotonic() < deadline and not hub.core.stopping:
        await asyncio.sleep(0.02)
        if time.monotonic() - asked >= GONE_CHECK_S:
            asked = time.monotonic()
            if await request.is_disconnected():
                return False
        if time.monotonic() - hub.core.seq_read_at >= POLL_DB_S:
            await run_in_threadpool(hub.core.refresh_seq, POLL_DB_S)
    return True


@router.get("/api/events")
async def events(request: Request, after: int = Query(0, ge=0, le=MAX_SEQ), wait: float = Query(0, allow_inf_nan=False), hub: Hub = Depends(get_hub)) -> Any:
    """Long-poll: answers at once when there are events after ``after``, else after ``wait`` s (<= 30)."""
    caller = await run_in_threadpool(hub.tokens.authenticate, raw_token(request))
    answer = await run_in_threadpool(hub.control.events, caller, after)
    wait = min(max(wait, 0.0), 30.0)
    if answer["events"] or wait <= 0:
        return answer
    if not await _wait_for_event(hub, request, after, time.monotonic() + wait):
        return Response(status_code=499)  # nobody is listening
    return await run_in_threadpool(hub.control.events, caller, after)


@router.get("/api/events/stream")
async def stream(request: Request, after: int = Query(0, ge=0, le=MAX_SEQ), hub: Hub = Depends(get_hub)) -> StreamingResponse:
    """The same feed as Server-Sent Events, with a comment heartbeat every 5 s."""
    caller = await run_in_threadpool(hub.tokens.authenticate, raw_token(request))
    first = await run_in_threadpool(hub.control.events, caller, after)  # authorises before streaming starts

    async def gen():  # noqa: ANN202
        cursor, answer = after, first
        while True:
            for event in answer["events"]:
                cursor = event["seq"]
                yield f"id: {event['seq']}\ndata: {json.dumps(event)}\n\n"
            before = hub.core.last_seq
            if not await _wait_for_event(hub, request, cursor, time.monotonic() + 5):
                return
            if hub.core.last_seq == before and hub.core.last_seq <= cursor:
                yield ": heartbeat\n\n"
            try:  # a token revoked mid-stream ends the stream
                caller_now = await run_in_threadpool(hub.tokens.authenticate, raw_token(request))
                answer = await run_in_threadpool(hub.control.events, caller_now, cursor)
            except Exception:
                return

    return StreamingResponse(gen(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/api/gateway/state")
def gateway_state(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.control.gateway_state(caller)


@router.post("/api/kill")
def kill(body: dict[str, Any] = Body(default={}), hub: Hub = Depends(get_hub),
         caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.control.kill(caller, (body or {}).get("repo"), str((body or {}).get("reason") or ""))


@router.post("/api/resume")
def resume(body: dict[str, Any] = Body(default={}), hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.control.resume(caller, (body or {}).get("repo"))
