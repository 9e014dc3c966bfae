"""A stand-in for the hub's gateway-facing API (docs/contracts.md), small enough to trust:
GET /api/gateway/state, long-poll GET /api/events, POST /api/kill and /api/resume.
Test-only controls: POST /test/emit appends an event, POST /test/down makes it
answer 503 (an unreachable hub), POST /test/up brings it back."""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

GATEWAY_TOKEN = "aperto_gateway-token"


def now() -> str:
    return datetime.now(UTC).isoformat()


def follow(snap: dict[str, Any], event: dict[str, Any]) -> None:
    """Keep the snapshot in step with the events, as the real hub does."""
    kind, repo, user, data = event["type"], event["repo"], event["user"], event["data"]
    if kind in ("kill", "resume"):
        snap["kills"] = [k for k in snap["kills"] if k["repo"] != repo]
        if kind == "kill":
            snap["kills"].append({"repo": repo, "reason": data.get("reason", ""), "at": event["at"]})
    elif kind == "grant":
        snap["grants"].append({"user": user, "repo": repo})
    elif kind == "revoke":
        snap["grants"] = [g for g in snap["grants"] if (g["user"], g["repo"]) != (user, repo)]
    elif kind == "takedown":
        snap["takedowns"].append(repo)
    elif kind == "restore":
        snap["takedowns"] = [r for r in snap["takedowns"] if r != repo]
    elif kind == "token-created":
        snap["tokens"].append({"sha256": data["sha256"], "user": data.get("user"), "scopes": data.get("scopes", [])})
    elif kind == "token-revoked":
        snap["tokens"] = [t for t in snap["tokens"] if t["sha256"] != data["sha256"]]


def create_standin(snapshot: dict[str, Any], admin_token: str) -> FastAPI:
    app = FastAPI()
    state: dict[str, Any] = {"snap": copy.deepcopy(snapshot), "events": [], "down": False, "polls": 0}
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

    async def append(event: dict[str, Any]) -> dict[str, Any]:
        event = {"repo": None, "user": None, "data": {}, **event, "seq": len(state["events"]) + 1, "at": now()}
        state["events"].append(event)
        follow(state["snap"], event)
        ring()
        return event

    @app.get("/api/gateway/state")
    async def gateway_state(request: Request) -> Any:
        return refuse(request) or {**state["snap"], "seq": len(state["events"])}

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
        return await append({"type": "kill", "repo": body.get("repo"), "data": {"reason": body["reason"]}})

    @app.post("/api/resume")
    async def resume(request: Request) -> Any:
        if not authorised(request, admin_token):
            return JSONResponse({"error": {"code": "forbidden", "message": "admin only"}}, status_code=403)
        body = await request.json()
        return await append({"type": "resume", "repo": body.get("repo")})

    @app.post("/test/emit")
    async def emit(request: Request) -> Any:
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
