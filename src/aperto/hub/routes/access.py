"""Access requests (requester side) and the licensor's queue, shaped like HF's
user-access-request API so HfApi's list/accept/reject/grant methods work."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field

from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, repo_name
from aperto.hub.service import Hub

router = APIRouter(tags=["access"])


class HandleIn(BaseModel):
    user: str = Field(max_length=96)
    status: Literal["pending", "accepted", "rejected", "reset"]
    rejectionReason: str | None = Field(None, max_length=2000)  # noqa: N815 - HF's field name


class UserIn(BaseModel):
    user: str = Field(max_length=96)


class RevokeIn(UserIn):
    reason: str = Field("", max_length=2000)


@router.post("/api/models/{org}/{name}/access-request")
def request_access(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                   caller: Caller | None = Depends(get_caller)) -> dict:
    """Attestation in, decision out: accepted (with obligations), pending, or rejected with the clause.
    The attestation is validated once, by the policy's Profile."""
    return hub.access.request_access(caller, repo_name(org, name), body)


@router.get("/api/models/{org}/{name}/access-request")
def my_request(org: str, name: str, hub: Hub = Depends(get_hub),
               caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.access.my_request(caller, repo_name(org, name))


@router.get("/api/models/{org}/{name}/access-request/history")
def history(org: str, name: str, user: str | None = Query(None, max_length=96), hub: Hub = Depends(get_hub),
            caller: Caller | None = Depends(get_caller)) -> list[dict]:
    """Every submission and decision with its time: a requester sees their own, the licensor everyone's."""
    return hub.access.history(caller, repo_name(org, name), user)


@router.get("/api/models/{org}/{name}/user-access-request/{status}")
def list_requests(org: str, name: str, status: str, hub: Hub = Depends(get_hub),
                  caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.access.list_requests(caller, repo_name(org, name), status)


@router.post("/api/models/{org}/{name}/user-access-request/handle")
def handle_request(org: str, name: str, body: HandleIn, hub: Hub = Depends(get_hub),
                   caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.access.handle_request(caller, repo_name(org, name), body.user, body.status, body.rejectionReason)


@router.post("/api/models/{org}/{name}/user-access-request/grant")
def grant(org: str, name: str, body: UserIn, hub: Hub = Depends(get_hub),
          caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.access.grant_access(caller, repo_name(org, name), body.user)


@router.post("/api/models/{org}/{name}/user-access-request/revoke")
def revoke(org: str, name: str, body: RevokeIn, hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.access.revoke_access(caller, repo_name(org, name), body.user, body.reason)


@router.get("/api/models/{org}/{name}/grants")
def grants(org: str, name: str, hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.access.grants(caller, repo_name(org, name))
