"""Hugging Face-compatible metadata routes: whoami, list_models, model_info, trees,
paths-info, refs, commits, settings, repos (create, delete, move), branches and tags."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from aperto.errors import BadInput, Conflict
from aperto.hub import cards
from aperto.hub.app import error_response
from aperto.hub.auth import Caller, need
from aperto.hub.routes.deps import get_caller, get_caller_async, get_hub, json_object, repo_name
from aperto.hub.service import Hub

router = APIRouter(tags=["huggingface-compatible"])


@router.get("/api/whoami-v2")
def whoami(hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.tokens.whoami(caller)


@router.get("/api/models")
def list_models(request: Request, search: str | None = None, author: str | None = None,
                sort: str | None = None, direction: int | None = None,
                limit: int | None = Query(None, ge=1, le=10000), full: bool = False,
                card_data: bool = Query(False, alias="cardData"), hub: Hub = Depends(get_hub)) -> list[dict]:
    """HfApi.list_models: search (substring of the id), author, filter (tags such as
    ``license:llama3.1``, repeatable), sort, direction, limit, full, cardData."""
    filters = request.query_params.getlist("filter")
    return hub.listing.list_models(search, author, filters, sort, direction, limit, full, card_data)


async def json_answer(cached: bytes | None, load: Callable[[], bytes | None]) -> Response:
    """A cached answer straight from the event loop; a miss reads the store in a worker thread."""
    return Response(cached or await run_in_threadpool(load), media_type="application/json")


@router.get("/api/models/{org}/{name}")
async def model_info(org: str, name: str, hub: Hub = Depends(get_hub),
                     caller: Caller | None = Depends(get_caller_async)) -> Response:
    repo = repo_name(org, name)
    return await json_answer(hub.repos.model_info_json(repo, cached_only=True), lambda: hub.repos.model_info_json(repo))


@router.get("/api/models/{org}/{name}/revision/{rev}")
async def model_info_revision(org: str, name: str, rev: str, hub: Hub = Depends(get_hub),
                              caller: Caller | None = Depends(get_caller_async)) -> Response:
    repo = repo_name(org, name)
    return await json_answer(hub.repos.model_info_json(repo, rev, cached_only=True),
                             lambda: hub.repos.model_info_json(repo, rev))


@router.get("/api/models/{org}/{name}/tree/{rev}")
def tree(org: str, name: str, rev: str, recursive: bool = False, expand: bool = False,
         hub: Hub = Depends(get_hub)) -> Response:
    return Response(hub.listing.tree_json(repo_name(org, name), rev, "", recursive, expand),
                    media_type="application/json")


@router.get("/api/models/{org}/{name}/tree/{rev}/{path:path}")
def tree_path(org: str, name: str, rev: str, path: str, recursive: bool = False, expand: bool = False,
              hub: Hub = Depends(get_hub)) -> Response:
    return Response(hub.listing.tree_json(repo_name(org, name), rev, path, recursive, expand),
                    media_type="application/json")


@router.post("/api/models/{org}/{name}/paths-info/{rev}")
async def paths_info(org: str, name: str, rev: str, request: Request, hub: Hub = Depends(get_hub)) -> Response:
    """The client sends a form (``paths`` repeated, ``expand``); JSON is accepted too."""
    raw = await request.body()
    if "json" in request.headers.get("content-type", ""):
        body = json_object(raw)
        paths, expand = body.get("paths"), bool(body.get("expand"))
    else:
        form = parse_qs(raw.decode("utf-8", "replace"))
        paths, expand = form.get("paths", []), form.get("expand", ["false"])[0].lower() == "true"
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths) or len(paths) > 1000:
        raise BadInput("paths is a list of at most 1000 file paths")
    repo = repo_name(org, name)
    return await json_answer(None, lambda: hub.listing.paths_info_json(repo, rev, paths, expand))


@router.get("/api/models/{org}/{name}/refs")
def refs(org: str, name: str, hub: Hub = Depends(get_hub)) -> dict:
    return hub.publish.refs(repo_name(org, name))


@router.get("/api/models/{org}/{name}/commits/{rev}")
def commits(org: str, name: str, rev: str, hub: Hub = Depends(get_hub)) -> list[dict]:
    return hub.publish.commits(repo_name(org, name), rev)


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


# ---- repos ---------------------------------------------------------------------------
def _repo_type(body: dict) -> None:
    if body.get("type", "model") not in ("model", None):
        raise BadInput("this hub hosts models only", hint="leave repo_type as 'model'")


def _full_name(body: dict) -> str:
    org, name = body.get("organization"), body.get("name")
    if not isinstance(name, str):
        raise BadInput("name is required")
    return name if org is None else f"{org}/{name}"


@router.post("/api/repos/create")
def create_repo(request: Request, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                caller: Caller | None = Depends(get_caller)) -> Any:
    need(caller, "read")  # who asks comes before what they sent
    _repo_type(body)
    name = _full_name(body)
    if "/" not in name and caller is not None:
        name = f"{caller.name}/{name}"
    private = body.get("private", body.get("visibility"))
    url = f"{str(request.base_url).rstrip('/')}/{name}"
    try:
        hub.publish.create_repo(caller, name, private)
    except Conflict as exc:  # the client's exist_ok reads the url from the 409 too
        answer = error_response(request, exc)
        return JSONResponse({**json.loads(bytes(answer.body)), "url": url}, status_code=409,
                            headers={k: v for k, v in answer.headers.items() if k.lower().startswith("x-error")})
    return {"url": url, "name": name}


@router.delete("/api/repos/delete")
def delete_repo(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
                caller: Caller | None = Depends(get_caller)) -> dict:
    need(caller, "read")  # who asks comes before what they sent
    _repo_type(body)
    return hub.publish.delete_repo(caller, _full_name(body))


@router.post("/api/repos/move")
def move_repo(body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
              caller: Caller | None = Depends(get_caller)) -> dict:
    need(caller, "read")  # who asks comes before what they sent
    _repo_type(body)
    src, dst = body.get("fromRepo"), body.get("toRepo")
    if not isinstance(src, str) or not isinstance(dst, str):
        raise BadInput("fromRepo and toRepo are required")
    return hub.publish.move_repo(caller, src, dst)


@router.post("/api/validate-yaml")
def validate_yaml(body: dict[str, Any] = Body(...), caller: Caller | None = Depends(get_caller)) -> dict:
    """The client checks a README's metadata before uploading it."""
    need(caller, "read")  # who asks comes before what they sent
    content = body.get("content")
    if not isinstance(content, str):
        raise BadInput("content is the README's text")
    try:
        cards.split(content)
    except Exception as exc:  # noqa: BLE001 - any YAML failure is the user's input, reported as such
        raise BadInput(f"the model card's metadata is not valid YAML: {str(exc)[:300]}") from None
    return {"errors": [], "warnings": []}


# ---- branches and tags -----------------------------------------------------------------
@router.post("/api/models/{org}/{name}/branch/{branch:path}")
def create_branch(org: str, name: str, branch: str, body: dict[str, Any] | None = Body(None),
                  hub: Hub = Depends(get_hub), caller: Caller | None = Depends(get_caller)) -> dict:
    need(caller, "read")  # who asks comes before what they sent
    body = body or {}
    if body.get("emptyCommit"):
        raise BadInput("empty commits are not supported; branch from an existing revision")
    return hub.publish.create_ref(caller, repo_name(org, name), "branch", branch,
                                  str(body.get("startingPoint") or "main"))


@router.delete("/api/models/{org}/{name}/branch/{branch:path}")
def delete_branch(org: str, name: str, branch: str, hub: Hub = Depends(get_hub),
                  caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.publish.delete_ref(caller, repo_name(org, name), "branch", branch)


@router.post("/api/models/{org}/{name}/tag/{rev}")
def create_tag(org: str, name: str, rev: str, body: dict[str, Any] = Body(...), hub: Hub = Depends(get_hub),
               caller: Caller | None = Depends(get_caller)) -> dict:
    need(caller, "read")  # who asks comes before what they sent
    tag = body.get("tag")
    if not isinstance(tag, str):
        raise BadInput("tag is required")
    return hub.publish.create_ref(caller, repo_name(org, name), "tag", tag, rev, str(body.get("message") or ""))


@router.delete("/api/models/{org}/{name}/tag/{tag:path}")
def delete_tag(org: str, name: str, tag: str, hub: Hub = Depends(get_hub),
               caller: Caller | None = Depends(get_caller)) -> dict:
    return hub.publish.delete_ref(caller, repo_name(org, name), "tag", tag)
