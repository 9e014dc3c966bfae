"""Access requests (requester side) and the licensor's queue, shaped like HF's
user-access-request API so HfApi's list/accept/reject/grant methods work."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, repo_name
from aperto.hub.service import Hub

router = APIRouter(tags=["access"])


@router.post("/api/models/{org}/{name}/access-request")
def request_access(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                   caller: Caller | None = Depends(get_caller)) -> dict:
    """Attestation in, decision out: accepted (with obligations), pending, or rejected with the clause."""
    return hub.access.request_access(caller, repo_name(org, name), body)


@router.get("/api/models/{org}/{name}/access-request")
def my_request(org: str, name: str, hub: Hub = Depends(get_hub),
               caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.access.my_request(caller, repo_name(org, name))


@router.get("/api/models/{org}/{name}/user-access-request/{status}")
def list_requests(org: str, name: str, status: str, hub: Hub = Depends(get_hub),
                  caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.access.list_requests(caller, repo_name(org, name), status)


@router.post("/api/models/{org}/{name}/user-access-request/handle")
def handle_request(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                   caller: Caller | None = Depends(get_caller)) -> dict:
    user, status = body.get("user"), body.get("status")
    if not isinstance(user, str) or not isinstance(status, str):
        raise BadInput("handle needs user and status")
    return hub.access.handle_request(caller, repo_name(org, name), user, status, body.get("rejectionReason"))


@router.post("/api/models/{org}/{name}/user-access-request/grant")
def grant(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
          caller: Caller | None = Depends(get_caller)) -> dict:
    user = body.get("user")
    if not isinstance(user, str):
        raise BadInput("grant needs user")
    return hub.access.grant_access(caller, repo_name(org, name), user)


@router.post("/api/models/{org}/{name}/user-access-request/revoke")
def revoke(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    user = body.get("user")
    if not isinstance(user, str):
        raise BadInput("revoke needs user")
    return hub.access.revoke_access(caller, repo_name(org, name), user, str(body.get("reason") or ""))


@router.get("/api/models/{org}/{name}/grants")
def grants(org: str, name: str, hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.access.grants(caller, repo_name(org, name))
