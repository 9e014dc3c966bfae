"""The event feed gateways subscribe to, the state snapshot, and the kill switch."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from aperto import sse
from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, raw_token
from aperto.hub.service import Hub
from aperto.store.models import MAX_SEQ

router = APIRouter(tags=["events"])
SSE_HEARTBEAT_S = 5.0


async def _caller(hub: Hub, request: Request) -> Caller | None:
    """The token from the cache (no thread, no query), else from the table."""
    raw = raw_token(request)
    if raw is None:
        return None
    hit = hub.tokens.cache.peek(raw)
    return hit if hit is not None else await run_in_threadpool(hub.tokens.authenticate, raw)


async def _events(hub: Hub, caller: Caller | None, after: int) -> bytes:
    """From the follower's memory in the loop when it covers ``after``, else from the table in a thread."""
    if _in_memory(hub, after):
        return hub.control.events_json(caller, after)
    return await run_in_threadpool(hub.control.events_json, caller, after)


async def _frames(hub: Hub, caller: Caller | None, after: int) -> tuple[bytes, int]:
    if _in_memory(hub, after):
        return hub.control.event_frames(caller, after)
    return await run_in_threadpool(hub.control.event_frames, caller, after)


def _in_memory(hub: Hub, after: int) -> bool:
    follower = hub.core.follower
    return follower.floor <= after <= follower.last_seq and follower.started


async def _gone(request: Request) -> None:
    """Returns when the client disconnects (a stopped gateway must not hold a handler for 30 s)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.get("/api/events")
async def events(request: Request, after: int = Query(0, ge=0, le=MAX_SEQ), wait: float = Query(0, allow_inf_nan=False), hub: Hub = Depends(get_hub)) -> Any:
    """Long-poll: answers at once when there are events after ``after``, else when one arrives or
    after ``wait`` s (<= 30). Waiters sleep until the follower wakes them: no polling per waiter."""
    caller = await _caller(hub, request)
    answer = await _events(hub, caller, after)
    wait = min(max(wait, 0.0), 30.0)
    if not answer.startswith(b'{"events":[]') or wait <= 0:
        return _json(answer)
    if not await hub.core.follower.wait(after, wait, _gone(request)):
        return Response(status_code=499)  # nobody is listening
    return _json(await _events(hub, await _caller(hub, request), after))


def _json(body: bytes) -> Response:
    """The bytes the follower encoded once for every waiter (FastAPI's generic encoder would cost
    each of them several times more: a kill wakes every waiter at once)."""
    return Response(body, media_type="application/json")


def _resume_from(request: Request, after: int) -> int:
    """The SSE standard's reconnection: ``Last-Event-ID`` (the last seq received) wins over ``after``."""
    given = request.headers.get("last-event-id")
    if given is None or not given.strip():
        return after
    if not given.strip().isdigit() or int(given) > MAX_SEQ:
        raise BadInput(f"Last-Event-ID must be an event's seq (a whole number), got {given[:40]!r}")
    return int(given)


@router.get("/api/events/stream")
async def stream(request: Request, after: int = Query(0, ge=0, le=MAX_SEQ),
                 heartbeat: float = Query(SSE_HEARTBEAT_S, ge=1, le=30, allow_inf_nan=False),
                 hub: Hub = Depends(get_hub)) -> StreamingResponse:
    """The same feed as Server-Sent Events, with a comment every ``heartbeat`` s (default 5) when
    nothing happens. Each event is encoded once for every stream it is sent to."""
    after = _resume_from(request, after)
    caller = await _caller(hub, request)
    first = await _frames(hub, caller, after)  # authorises before streaming starts

    async def gen():  # noqa: ANN202
        cursor = after
        frames, last = first
        while True:
            if frames:
                cursor = last
                yield frames
            else:
                if hub.core.stopping:
                    return
                # StreamingResponse itself ends this generator when the client leaves
                await hub.core.follower.wait(cursor, heartbeat)
                if hub.core.last_seq <= cursor:
                    yield sse.comment("heartbeat")
            try:  # a token revoked mid-stream ends the stream
                frames, last = await _frames(hub, await _caller(hub, request), cursor)
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
