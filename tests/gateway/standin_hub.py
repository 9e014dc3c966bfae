"""A stand-in for the hub's gateway-facing API (docs/contracts.md), small enough to trust:
GET /api/gateway/state, long-poll GET /api/events, POST /api/kill and /api/resume.
Events are built with aperto.events' classes, as the hub builds them.
Test-only controls: POST /test/emit appends an event (a row: type, repo, user, data),
POST /test/emit-raw appends any JSON as it is (unknown or malformed events), GET /test/counts, POST /test/down makes it
answer 503 (an unreachable hub), POST /test/up brings it back."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aperto.events import (
    Event,
    GatingChanged,
    Grant,
    Kill,
    KillData,
    Restore,
    Resume,
    Revoke,
    Takedown,
    TokenCreated,
    TokenRevoked,
    parse_row,
)

GATEWAY_TOKEN = "aperto_gateway-token"


def now() -> str:
    return datetime.now(UTC).isoformat()


def follow(snap: dict[str, Any], event: Event, at: str) -> None:
    """Keep the snapshot in step with the events, as the real hub does."""
    repo = event.repo
    if isinstance(event, Kill | Resume):
        snap["kills"] = [k for k in snap["kills"] if k["repo"] != repo]
        if isinstance(event, Kill):
            snap["kills"].append({"repo": repo, "reason": event.data.reason, "at": at})
    elif isinstance(event, Grant):
        snap["grants"].append({"user": event.user, "repo": repo})
    elif isinstance(event, Revoke):
        snap["grants"] = [g for g in snap["grants"] if (g["user"], g["repo"]) != (event.user, repo)]
    elif isinstance(event, Takedown):
        snap["takedowns"].append(repo)
    elif isinstance(event, Restore):
        snap["takedowns"] = [r for r in snap["takedowns"] if r != repo]
    elif isinstance(event, TokenCreated):
        snap["tokens"].append(event.data.model_dump())
    elif isinstance(event, TokenRevoked):
        snap["tokens"] = [t for t in snap["tokens"] if t["sha256"] != event.data.sha256]
    elif isinstance(event, GatingChanged):
        snap["open_repos"] = [r for r in snap["open_repos"] if r != repo] + ([repo] if event.data.gating == "open"
                                                                             else [])


def create_standin(snapshot: dict[str, Any], admin_token: str) -> FastAPI:
    app = FastAPI()
    state: dict[str, Any] = {"snap": copy.deepcopy(snapshot), "events": [], "down": False, "polls": 0,
                             "snapshots": 0}
    bell = {"ring": asyncio.Event()}  # replaced on every change; waiters hold the old one

    def ring() -> None:
        bell["ring"].set()
        bell["ring"] = asyncio.Event()

    def authorised(request: Request, *tokens: str) -> bool:
        return request.headers.get("authorization", "") in {f"Bearer {t}" for t in tokens}

    def refuse(request: Request) -> JSONResponse | None:
        if state["down"]:
            return JSONResponse({"error": "down"}, status_code=503)
        if not authorised(request, GATEWAY_TOKEN, admin_token):
            return JSONResponse({"error": "unauthorised"}, status_code=401)
        return None

    async def append(event: Event | dict[str, Any]) -> dict[str, Any]:
        """A typed event as the hub sends it, or (test/emit-raw) any dict, to see how gateways cope."""
        seq, at = len(state["events"]) + 1, now()
        if isinstance(event, Event):
            follow(state["snap"], event, at)
            wire = event.wire(seq, at)
        else:
            wire = {**event, "seq": seq, "at": at}
        state["events"].append(wire)
        ring()
        return wire

    @app.get("/api/gateway/state")
    async def gateway_state(request: Request) -> Any:
        if (no := refuse(request)) is not None:
            return no
        state["snapshots"] += 1
        return {**state["snap"], "seq": len(state["events"])}

    @app.get("/test/counts")
    async def counts() -> Any:
        return {"polls": state["polls"], "snapshots": state["snapshots"]}

    @app.get("/api/events")
    async def events(request: Request, after: int = 0, wait: float = 25) -> Any:
        if (no := refuse(request)) is not None:
            return no
        state["polls"] += 1
        deadline = time.monotonic() + min(wait, 30)
        while len(state["events"]) <= after and not state["down"] and time.monotonic() < deadline:
            try:
                await asyncio.wait_for(bell["ring"].wait(), deadline - time.monotonic())
            except TimeoutError:
                break
        if state["down"]:
            return JSONResponse({"error": "down"}, status_code=503)
        return {"events": state["events"][after:], "last_seq": len(state["events"]), "now": now()}

    @app.post("/api/kill")
    async def kill(request: Request) -> Any:
        if not authorised(request, admin_token):
            return JSONResponse({"error": {"code": "forbidden", "message": "admin only"}}, status_code=403)
        body = await request.json()
        return await append(Kill(repo=body.get("repo"), data=KillData(reason=body["reason"], by="admin")))

    @app.post("/api/resume")
    async def resume(request: Request) -> Any:
        if not authorised(request, admin_token):
            return JSONResponse({"error": {"code": "forbidden", "message": "admin only"}}, status_code=403)
        body = await request.json()
        return await append(Resume(repo=body.get("repo")))

    @app.post("/test/emit")
    async def emit(request: Request) -> Any:
        return await append(parse_row(await request.json()))

    @app.post("/test/emit-raw")
    async def emit_raw(request: Request) -> Any:
        return await append(await request.json())

    @app.post("/test/down")
    async def down() -> Any:
        state["down"] = True
        ring()
        return {"down": True}

    @app.post("/test/up")
    async def up() -> Any:
        state["down"] = False
        return {"down": False}

    return app
