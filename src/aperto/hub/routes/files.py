"""File downloads (/resolve, HEAD + GET with Range) and the resumable upload API.

A whole-file GET of a blob not verified since its bytes last changed is hashed while it streams,
and its last chunk is sent only once the sha256 matches: on a mismatch the connection closes short
of Content-Length, so no client takes the bytes for a complete file. Ranges, X-Accel-Redirect and
blobs verified in full since their last change (``BlobStore.known_good``: size, mtime, ctime and
inode as recorded then) are served without a second hash; the background scrub re-hashes them all.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from aperto.errors import BadInput
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_caller_async, get_hub, raw_token, repo_name
from aperto.hub.service import Hub
from aperto.store.blobs import DamagedBlob

if TYPE_CHECKING:
    from aperto.store.s3 import S3BlobStore

router = APIRouter(tags=["files"])


CHUNK = 1024 * 1024  # fewer, larger reads than Starlette's 64 KiB default


class BlobResponse(FileResponse):
    chunk_size = CHUNK


class VerifiedBlobResponse(Response):
    """The whole blob, hashed on the way; the last chunk waits for the verdict."""

    def __init__(self, hub: Hub, path: Path, sha256: str, size: int, headers: dict[str, str], filename: str):
        quoted = quote(filename)  # as Starlette's FileResponse: non-ASCII or quotes go in filename*
        disposition = (f'attachment; filename="{filename}"' if quoted == filename
                       else f"attachment; filename*=utf-8''{quoted}")
        super().__init__(status_code=200, headers={**headers, "Content-Length": str(size),
                                                   "Content-Disposition": disposition},
                         media_type="application/octet-stream")
        self.hub, self.path, self.sha256, self.size = hub, path, sha256, size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            f = await anyio.to_thread.run_sync(open, self.path, "rb")
        except FileNotFoundError:  # quarantined since it was authorised: refuse as HEAD would
            raise DamagedBlob("the stored bytes of this file were quarantined", sha256=self.sha256) from None
        digest = hashlib.sha256()
        st = os.fstat(f.fileno())

        def read(n: int) -> bytes:  # in a worker thread: hashlib releases the GIL
            block = f.read(n)
            digest.update(block)
            return block

        loop = asyncio.get_running_loop()
        got, block, upcoming = 0, b"", None
        try:
            await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
            upcoming = loop.run_in_executor(None, read, min(CHUNK, self.size))
            while True:
                block = await upcoming
                got += len(block)
                if not block or got >= self.size:  # the last chunk (or the file ended early): verdict first
                    break
                # read and hash the next chunk while this one goes out
                upcoming = loop.run_in_executor(None, read, min(CHUNK, self.size - got))
                await send({"type": "http.response.body", "body": block, "more_body": True})
        except OSError:  # the client went away
            return
        finally:
            if upcoming is not None:
                await asyncio.gather(upcoming, return_exceptions=True)
            f.close()
        if got != self.size or digest.hexdigest() != self.sha256:
            found = digest.hexdigest() if got == self.size else f"only {got} of {self.size} bytes"
            await run_in_threadpool(self.hub.integrity.quarantine, self.sha256, found, "download")
            return  # without the last chunk: the server closes the connection short of Content-Length
        await send({"type": "http.response.body", "body": block, "more_body": False})
        await run_in_threadpool(self.hub.blobs.mark_verified, self.sha256, st)


def file_headers(info: dict) -> dict[str, str]:
    return {"X-Repo-Commit": info["commit"], "ETag": f'"{info["sha256"]}"', "X-Linked-Etag": f'"{info["sha256"]}"',
            "X-Linked-Size": str(info["size"]), "Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}


def redirect(hub: Hub, info: dict, path: str, headers: dict[str, str]) -> Response:
    """Blobs on S3: the object is checked (a 503 naming the endpoint when S3 does not answer), then
    302 to a presigned GET that expires after APERTO_BLOB_URL_TTL_S."""
    blobs = cast("S3BlobStore", hub.blobs)
    blobs.check(info["sha256"], info["size"])
    headers["Location"] = blobs.download_url(info["sha256"], path.rsplit("/", 1)[-1])
    return Response(status_code=302, headers=headers)


@router.head("/{org}/{name}/resolve/{rev}/{path:path}")
async def resolve_head(org: str, name: str, rev: str, path: str, hub: Hub = Depends(get_hub),
                       caller: Caller | None = Depends(get_caller_async)) -> Response:
    """The metadata the huggingface_hub client asks for before downloading: a cached authorisation
    is answered from the event loop, a miss reads the store in a worker thread."""
    repo = repo_name(org, name)
    info = (hub.repos.file(caller, repo, rev, path, cached_only=True)
            or await run_in_threadpool(hub.repos.file, caller, repo, rev, path))
    assert info is not None  # loaded, not only cached
    headers = file_headers(info)
    if hub.blobs.remote:  # S3: a HEAD answers the redirect too; clients read X-Linked-Size and Location
        return await run_in_threadpool(redirect, hub, info, path, headers)
    hub.integrity.servable(info["sha256"], info["size"])
    headers["Content-Length"] = str(info["size"])
    return Response(status_code=200, headers=headers, media_type="application/octet-stream")


@router.get("/{org}/{name}/resolve/{rev}/{path:path}")
def resolve(org: str, name: str, rev: str, path: str, request: Request, hub: Hub = Depends(get_hub),
            caller: Caller | None = Depends(get_caller)) -> Response:
    """Authorise, then stream from disk (or hand the bytes to nginx through X-Accel-Redirect)."""
    info = hub.repos.file(caller, repo_name(org, name), rev, path)
    assert info is not None  # loaded, not only cached
    headers = file_headers(info)
    if hub.blobs.remote:
        return redirect(hub, info, path, headers)
    accel = hub.settings.accel_redirect
    sha, size, filename = info["sha256"], info["size"], path.rsplit("/", 1)[-1]
    if accel:
        hub.integrity.ensure_verified(sha, size)
        headers["X-Accel-Redirect"] = f"{accel.rstrip('/')}/{sha[:2]}/{sha}"
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    blob = hub.integrity.servable(sha, size)
    if "range" in request.headers or hub.blobs.known_good(sha):
        # a range can't be hashed on the way; a blob hashed in full since its bytes last changed
        # (size, mtime, ctime and inode all as recorded then) needs no second hash: as for nginx
        return BlobResponse(hub.integrity.ensure_verified(sha, size), headers=headers,
                            media_type="application/octet-stream", filename=filename,
                            content_disposition_type="attachment")
    return VerifiedBlobResponse(hub, blob, sha, size, headers, filename)


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
