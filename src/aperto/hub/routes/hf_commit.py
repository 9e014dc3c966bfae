"""How huggingface_hub publishes: preupload, the Git LFS batch endpoint, the signed LFS
upload URL (a PUT that carries no token), the Xet write token and CAS, the NDJSON commit."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from aperto.errors import BadInput, NotFound
from aperto.hub.auth import Caller
from aperto.hub.routes.deps import get_caller, get_hub, json_object, raw_token, repo_name
from aperto.hub.service import Hub
from aperto.hub.xet_format import XORB_MAX

router = APIRouter(tags=["huggingface-compatible publishing"])
RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.post("/api/models/{org}/{name}/preupload/{rev}")
async def preupload(org: str, name: str, rev: str, request: Request, hub: Hub = Depends(get_hub),
                    caller: Caller | None = Depends(get_caller)) -> dict:
    body = json_object(await request.body())
    return await run_in_threadpool(hub.publish.preupload, caller, repo_name(org, name), rev, body.get("files"))


@router.post("/{org}/{name}.git/info/lfs/objects/batch")
async def lfs_batch(org: str, name: str, request: Request, hub: Hub = Depends(get_hub),
                    caller: Caller | None = Depends(get_caller)) -> dict:
    body = json_object(await request.body())
    return await run_in_threadpool(hub.publish.lfs_batch, caller, repo_name(org, name), body, base_url(request))


@router.put("/api/models/{org}/{name}/upload/{sha256}")
async def lfs_upload(org: str, name: str, sha256: str, request: Request, size: int = Query(ge=0, le=2**62),
                     expires: int = Query(...), token: str = Query(...), sig: str = Query(...),
                     hub: Hub = Depends(get_hub)) -> dict:
    """The LFS basic transfer's PUT. The URL authorises itself. A retried PUT after a broken
    one skips the bytes already held (the sha256 check at the end catches any difference);
    ``Content-Range: bytes a-b/n`` resumes at ``a``."""
    repo = repo_name(org, name)
    caller = await run_in_threadpool(hub.publish.upload_caller, repo, sha256, size, expires, token, sig)
    status = await run_in_threadpool(hub.repos.upload_status, caller, repo, sha256)
    if status["complete"]:
        return {"sha256": sha256, "received": size, "complete": True}
    have, start = status["received"], 0
    match = RANGE.match(request.headers.get("content-range", ""))
    if match:
        start = int(match.group(1))
        if int(match.group(3)) != size or start > have:
            raise BadInput(f"Content-Range does not fit: the hub holds {have} of {size} bytes", received=have)
    out = await run_in_threadpool(hub.repos.upload_writer, caller, repo, sha256, size, have)
    if out is None:
        return {"sha256": sha256, "received": size, "complete": True}
    skip = have - start
    try:
        async for chunk in request.stream():
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
            if chunk:
                out.write(chunk)
    finally:
        received = await run_in_threadpool(out.close)
    if received != size:
        raise BadInput(f"size mismatch: {received} of the declared {size} bytes arrived",
                       hint="PUT the rest again; the hub keeps what it has", received=received)
    return await run_in_threadpool(hub.repos.upload_done, caller, sha256, size, received)


@router.post("/api/models/{org}/{name}/commit/{rev}")
async def commit(org: str, name: str, rev: str, request: Request, hub: Hub = Depends(get_hub),
                 caller: Caller | None = Depends(get_caller)) -> dict:
    """HfApi.create_commit's NDJSON body: a header line, then one line per operation."""
    if request.query_params.get("create_pr"):
        raise BadInput("pull requests are not supported on this hub")
    draft = await run_in_threadpool(hub.publish.start_commit, caller, repo_name(org, name), rev)
    line_max = hub.publish.inline_max * 4 // 3 + 64 * 1024
    parts: list[bytes] = []
    held = 0
    async for chunk in request.stream():  # line by line: memory holds one line, not the body
        while b"\n" in chunk:
            head, chunk = chunk.split(b"\n", 1)
            parts.append(head)
            await run_in_threadpool(hub.publish.add_line, draft, b"".join(parts))
            parts, held = [], 0
        if chunk:
            parts.append(chunk)
            held += len(chunk)
        if held > line_max:
            raise BadInput(f"a commit payload line is longer than {line_max} bytes",
                           hint="files that large go through the LFS batch endpoint")
    await run_in_threadpool(hub.publish.add_line, draft, b"".join(parts))
    return await run_in_threadpool(hub.publish.finish_commit, draft, base_url(request))


@router.get("/api/models/{org}/{name}/xet-write-token/{rev}")
def xet_write_token(org: str, name: str, rev: str, request: Request, hub: Hub = Depends(get_hub),
                    caller: Caller | None = Depends(get_caller)) -> dict:
    """hf_xet asks here before it uploads, and again before the token runs out."""
    publisher = hub.publish.may_upload(caller, repo_name(org, name), rev)
    return hub.publish.xet.write_token(publisher, repo_name(org, name), base_url(request))


@router.get("/api/models/{org}/{name}/xet-read-token/{rev}")
def xet_read_token(org: str, name: str, rev: str) -> dict:
    raise NotFound("downloads from this hub are plain HTTP, not Xet",
                   hint="download through /resolve (the client does when no Xet header is sent)")


# ---- the Xet CAS (uploads only; see hub/xet.py). Its bearer token is the Xet token. ------
@router.post("/xet/v1/xorbs/default/{sha256}")
async def xet_xorb(sha256: str, request: Request, hub: Hub = Depends(get_hub)) -> dict:
    body = bytearray()
    async for chunk in request.stream():  # bounded: past the limit it is refused, not buffered
        body += chunk
        if len(body) > XORB_MAX:
            raise BadInput(f"a xorb is at most {XORB_MAX} bytes")
    return await run_in_threadpool(hub.publish.xet.put_xorb, raw_token(request), sha256, bytes(body))


@router.post("/xet/v1/shards")
async def xet_shard(request: Request, hub: Hub = Depends(get_hub)) -> dict:
    return await run_in_threadpool(hub.publish.xet.put_shard, raw_token(request), await request.body())


@router.get("/xet/v1/chunks/default/{sha256}")
@router.get("/xet/v1/chunks/default-merkledb/{sha256}")
def xet_chunk(sha256: str, request: Request, hub: Hub = Depends(get_hub)) -> None:
    hub.publish.xet.chunk(raw_token(request))
