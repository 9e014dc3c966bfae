"""Hugging Face-compatible metadata routes (model_info, tree, whoami, settings)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, repo_name
from aperto.hub.service import Hub

router = APIRouter(tags=["huggingface-compatible"])


@router.get("/api/whoami-v2")
def whoami(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.tokens.whoami(caller)


@router.get("/api/models")
def list_models(hub: Hub = Depends(get_hub)) -> list[dict]:
    return [{"id": r["id"], "modelId": r["id"], "sha": r["sha"], "gated": False if r["gating"] == "open" else r["gating"],
             "disabled": r["disabled"], "tags": [f"license:{r['license']}"] if r["license"] else []}
            for r in hub.repos.list_repos()]


@router.get("/api/models/{org}/{name}")
def model_info(org: str, name: str, hub: Hub = Depends(get_hub),
               caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.repos.model_info(caller, repo_name(org, name))


@router.get("/api/models/{org}/{name}/revision/{rev}")
def model_info_revision(org: str, name: str, rev: str, hub: Hub = Depends(get_hub),
                        caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.repos.model_info(caller, repo_name(org, name), rev)


@router.get("/api/models/{org}/{name}/tree/{rev}")
def tree(org: str, name: str, rev: str, hub: Hub = Depends(get_hub),
         caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.repos.tree(caller, repo_name(org, name), rev)


@router.get("/api/models/{org}/{name}/tree/{rev}/{path:path}")
def tree_path(org: str, name: str, rev: str, path: str, hub: Hub = Depends(get_hub),
              caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.repos.tree(caller, repo_name(org, name), rev, path)


@router.put("/api/models/{org}/{name}/settings")
def update_settings(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                    caller: Caller | None = Depends(get_caller)) -> dict:
    """HfApi.update_repo_settings(gated=False|"auto"|"manual") and our own {"gating": ...}."""
    gated = body.get("gating", body.get("gated"))
    if gated is False:
        gated = "open"
    if gated not in ("open", "auto", "manual"):
        raise BadInput("gated must be false, 'auto' or 'manual'")
    return hub.repos.set_gating(caller, repo_name(org, name), gated)


@router.get("/api/models/{org}/{name}/commits/{rev}")
def commits(org: str, name: str, rev: str, hub: Hub = Depends(get_hub)) -> list[dict]:
    return hub.repos.commits(repo_name(org, name))
