"""File downloads (/resolve, HEAD + GET with Range) and the resumable upload API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, raw_token, repo_name
from aperto.hub.service import Hub

router = APIRouter(tags=["files"])


class BlobResponse(FileResponse):
    chunk_size = 1024 * 1024  # fewer, larger reads than Starlette's 64 KiB default


def _file_headers(info: dict) -> dict[str, str]:
    return {"X-Repo-Commit": info["commit"], "ETag": f'"{info["sha256"]}"', "X-Linked-Etag": f'"{info["sha256"]}"',
            "X-Linked-Size": str(info["size"]), "Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}


@router.head("/{org}/{name}/resolve/{rev}/{path:path}")
def resolve_head(org: str, name: str, rev: str, path: str, request: Request, hub: Hub = Depends(get_hub),
                 caller: Caller | None = Depends(get_caller)) -> Response:
    """The metadata the huggingface_hub client asks for before downloading."""
    return resolve(org, name, rev, path, request, hub, caller)


@router.get("/{org}/{name}/resolve/{rev}/{path:path}")
def resolve(org: str, name: str, rev: str, path: str, request: Request, hub: Hub = Depends(get_hub),
            caller: Caller | None = Depends(get_caller)) -> Response:
    """Authorise, then stream from disk (or hand the bytes to nginx through X-Accel-Redirect)."""
    info = hub.repos.file(caller, repo_name(org, name), rev, path)
    headers = _file_headers(info)
    accel = hub.settings.accel_redirect
    if request.method == "HEAD":
        headers["Content-Length"] = str(info["size"])
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    if accel:
        sha = info["sha256"]
        headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{sha[:2]}/{sha}"
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    return BlobResponse(info["blob"], headers=headers, media_type="application/octet-stream",
                        filename=path.rsplit("/", 1)[-1], content_disposition_type="attachment")


@router.get("/api/models/{org}/{name}/upload/{sha256}")
def upload_status(org: str, name: str, sha256: str, hub: Hub = Depends(get_hub),
                  caller: Caller | None = Depends(get_caller)) -> dict:
    """How many bytes of this upload the hub holds (-1 and complete when the blob is already stored)."""
    return hub.repos.upload_status(caller, repo_name(org, name), sha256)


@router.patch("/api/models/{org}/{name}/upload/{sha256}")
async def upload_resume(org: str, name: str, sha256: str, request: Request, size: int = Query(ge=0, le=2**62),
                 offset: int = Query(0, ge=0, le=2**62),
                        hub: Hub = Depends(get_hub)) -> dict:
    """Resume an upload: send the bytes from ``offset`` (the size GET reported)."""
    return await upload(org, name, sha256, request, size, offset, hub)


@router.post("/api/models/{org}/{name}/upload/{sha256}")
async def upload(org: str, name: str, sha256: str, request: Request, size: int = Query(ge=0, le=2**62),
                 offset: int = Query(0, ge=0, le=2**62),
                 hub: Hub = Depends(get_hub)) -> dict:
    """Stream a file's bytes (POST from 0, PATCH from ``offset``). The blob becomes usable
    only when all ``size`` bytes are in and their sha256 matches."""
    caller = await run_in_threadpool(hub.tokens.authenticate, raw_token(request))
    out = await run_in_threadpool(hub.repos.upload_writer, caller, repo_name(org, name), sha256, size, offset)
    if out is None:
        return {"sha256": sha256, "received": size, "complete": True}
    try:
        async for chunk in request.stream():
            if chunk:
                out.write(chunk)
    finally:
        received = await run_in_threadpool(out.close)
    return await run_in_threadpool(hub.repos.upload_done, caller, sha256, size, received)


@router.post("/api/models/{org}/{name}/commit")
def commit(org: str, name: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
           caller: Caller | None = Depends(get_caller)) -> dict:
    if not isinstance(body, dict):
        raise BadInput("the commit body is a JSON object")
    return hub.repos.commit(caller, repo_name(org, name), body.get("files") or [], str(body.get("message") or ""),
                      gating=body.get("gating"), parent=body.get("parent"), replace=bool(body.get("replace")))
