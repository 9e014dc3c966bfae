"""The usage ledger: gateways report, licensors read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query

from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub
from aperto.hub.service import Hub
from aperto.hub.usage import Usage

router = APIRouter(tags=["usage"])


@router.post("/api/usage")
def report(body: Any = Body(...), hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return Usage(hub.core).report(caller, body)


@router.get("/api/usage")
def read(repo: str | None = Query(None, max_length=300), since: str | None = Query(None, max_length=10),
         hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return {"usage": Usage(hub.core).read(caller, repo, since)}
