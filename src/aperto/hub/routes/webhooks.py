"""Webhooks, at Hugging Face's /api/settings/webhooks (so HfApi's webhook methods work), and
the delivery log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends

from aperto.errors import NotFound
from aperto.hub.auth import Caller, need
from aperto.hub.routes.deps import get_caller, get_hub
from aperto.hub.service import Hub

router = APIRouter(tags=["webhooks"])


@router.post("/api/settings/webhooks")
def create(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    need(caller, "read")
    return {"webhook": hub.webhooks.register(caller, body.get("watched"), body.get("url"),
                                             body.get("secret") or "", body.get("events"))}


@router.get("/api/settings/webhooks")
def listed(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.webhooks.listed(caller)


@router.get("/api/settings/webhooks/{webhook_id}")
def get(webhook_id: str, hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return {"webhook": hub.webhooks.get(caller, webhook_id)}


@router.post("/api/settings/webhooks/{webhook_id}/{action}")
def toggle(webhook_id: str, action: str, hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    """HfApi.enable_webhook / disable_webhook."""
    need(caller, "read")
    if action not in ("enable", "disable"):
        raise NotFound(f"no webhook action {action!r}")
    return {"webhook": hub.webhooks.set_disabled(caller, webhook_id, action == "disable")}


@router.delete("/api/settings/webhooks/{webhook_id}")
def delete(webhook_id: str, hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.webhooks.delete(caller, webhook_id)


@router.get("/api/settings/webhooks/{webhook_id}/deliveries")
def deliveries(webhook_id: str, hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> list[dict]:
    return hub.webhooks.deliveries(caller, webhook_id)
