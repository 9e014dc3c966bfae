"""Takedown, users, tokens, invitations, audit, evaluation results."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Body, Depends, Path, Query
from fastapi.responses import PlainTextResponse

from aperto.errors import BadInput
from aperto.hub.auth import Caller, iso
from aperto.hub.routes.deps import get_caller, get_hub, repo_name
from aperto.hub.service import Hub
from aperto.hub.tokens import parse_expiry
from aperto.store.models import MAX_SEQ

router = APIRouter(tags=["admin"])


@router.post("/api/models/{org}/{name}/takedown")
def takedown(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
             caller: Caller | None = Depends(get_caller)) -> dict:
    """Withdraw a model (or one revision). Stops future downloads only: copies already
    downloaded cannot be recalled."""
    return hub.repos.withdraw(caller, repo_name(org, name), str(body.get("reason") or ""), body.get("revision"))


@router.post("/api/models/{org}/{name}/restore")
def restore(org: str, name: str, body: dict[str, Any] = Body(default={}), hub: Hub = Depends(get_hub),
            caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.repos.restore(caller, repo_name(org, name), (body or {}).get("revision"))


@router.post("/api/users")
def create_user(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.tokens.create_user(caller, str(body.get("name") or ""), body.get("org"), bool(body.get("is_admin")))


@router.post("/api/tokens")
def create_token(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                 caller: Caller | None = Depends(get_caller)) -> dict:
    """The token is shown in this answer only; the hub keeps its sha256. Optional expiry:
    ``expires_in_days`` (a number) or ``expires_at`` (an ISO date or date-time); without either the
    token works until revoked."""
    scopes = body.get("scopes") or ["read"]
    if not isinstance(scopes, list):
        raise BadInput("scopes is a list")
    days, at = body.get("expires_in_days"), body.get("expires_at")
    if days is not None and at is not None:
        raise BadInput("give expires_in_days or expires_at, not both", hint="drop one of them", field="expires")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise BadInput(f"expires_in_days is a whole number of days, such as 30, not {days!r}",
                       hint='send {"expires_in_days": 30}, or a date as expires_at', field="expires")
    if at is not None and not isinstance(at, str):
        raise BadInput(f"expires_at is a date or date-time, such as 2027-01-31, not {at!r}",
                       hint='send {"expires_at": "2027-01-31"}, or a number as expires_in_days', field="expires")
    until = iso(parse_expiry(days if days is not None else at))
    user = str(body.get("user") or (caller.name if caller else ""))
    token = hub.tokens.create_token(caller, user, scopes, str(body.get("label") or ""), until)
    return {"token": token, "user": user, "scopes": scopes, "expires_at": until}


@router.get("/api/tokens")
def list_tokens(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.tokens.list_tokens(caller)


@router.delete("/api/tokens/{sha256}")
def revoke_token(sha256: str, hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.tokens.revoke_token(caller, sha256)


@router.post("/api/invites")
def create_invite(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                  caller: Caller | None = Depends(get_caller)) -> dict:
    """A one-time link (``path``; the code is in this answer only): role reader, publisher or admin
    (admin only with a bearer token), optional org, ``days`` it stays open (1 to 30, default 7)."""
    return hub.invites.create(caller, str(body.get("role") or "reader"), body.get("org") or None,
                              body.get("days", 7))


@router.get("/api/invites")
def list_invites(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> list[dict]:
    """Invitations still open (not used, withdrawn or expired)."""
    return hub.invites.pending(caller)


@router.delete("/api/invites/{invite_id}")
def revoke_invite(invite_id: str, hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.invites.revoke(caller, invite_id)


@router.post("/api/invites/accept")
def accept_invite(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub)) -> dict:
    """The code is the credential: no token needed. Answers the new account's token, once."""
    return hub.invites.accept(str(body.get("code") or ""), str(body.get("name") or ""))


@router.get("/api/audit")
def audit(after: int = Query(0, ge=0, le=MAX_SEQ), limit: int = Query(1000, ge=1, le=5000), hub: Hub = Depends(get_hub),
          caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.audit.audit_rows(caller, after, min(max(limit, 1), 5000))


@router.get("/api/audit/verify")
def audit_verify(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    from aperto.hub.auth import need

    need(caller, "admin")
    return hub.audit.verify_audit()


@router.get("/api/audit/checkpoint", response_class=PlainTextResponse)
def audit_checkpoint(hub: Hub = Depends(get_hub)) -> PlainTextResponse:
    """Public: the newest signed checkpoint (a C2SP signed note). Keep copies elsewhere; a later
    'aperto audit verify --checkpoint FILE' shows whether the log still holds what it vouched for."""
    return PlainTextResponse(hub.audit.latest_checkpoint(), media_type="text/plain; charset=utf-8")


@router.get("/api/audit/key")
def audit_key(hub: Hub = Depends(get_hub)) -> dict:
    """Public: the verifier key for the checkpoints (C2SP vkey), and its parts."""
    key = hub.audit.key
    return {"vkey": key.vkey, "name": key.name, "key_id": key.key_id.hex(), "algorithm": "ed25519",
            "public_key": base64.b64encode(key.public).decode()}


@router.post("/api/models/{org}/{name}/evals")
def add_eval(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
             caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.evals.add_eval(caller, repo_name(org, name), body)


@router.delete("/api/models/{org}/{name}/evals/{eval_id}")
def delete_eval(org: str, name: str, eval_id: int = Path(ge=1, le=MAX_SEQ), hub: Hub = Depends(get_hub),
                caller: Caller | None = Depends(get_caller)) -> dict:
    """The publisher or an admin removes a result (for example one that no longer validates)."""
    return hub.evals.delete_eval(caller, repo_name(org, name), eval_id)


@router.get("/api/models/{org}/{name}/evals")
def list_evals(org: str, name: str, hub: Hub = Depends(get_hub)) -> list[dict]:
    return hub.evals.evals(repo_name(org, name))


@router.get("/api/leaderboard/{benchmark}")
def leaderboard(benchmark: str, hub: Hub = Depends(get_hub)) -> list[dict]:
    return hub.evals.leaderboard(benchmark)
