"""The hub's FastAPI app. ``create_app(settings)`` builds it; nothing happens at import.

Errors are raised as typed ``ApertoError``s by the ``Hub`` and turned into HTTP
here, in one handler, with the X-Error-Code / X-Error-Message headers that the
huggingface_hub client understands.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from aperto.config import Settings
from aperto.errors import (
    ApertoError,
    EntryNotFound,
    GatedAccess,
    InvalidRequest,
    InvalidToken,
    RepoNotFound,
    RevisionNotFound,
    TakenDown,
    Unauthorized,
)
from aperto.hub.metrics import install as install_metrics
from aperto.hub.relay import lifespan
from aperto.hub.routes.cached import CachedReads
from aperto.hub.routes.guards import HubBodyLimit, JsonDepth, hub_error
from aperto.hub.routes.security import WebSecurity
from aperto.hub.routes.web_base import error_page, wants_html
from aperto.hub.service import Hub
from aperto.request_log import RequestId

HF_CODES = {RepoNotFound: "RepoNotFound", RevisionNotFound: "RevisionNotFound", EntryNotFound: "EntryNotFound",
            GatedAccess: "GatedRepo"}


def error_response(request: Request, exc: ApertoError) -> Response:
    headers: dict[str, str] = {}
    for cls, code in HF_CODES.items():
        if isinstance(exc, cls):
            headers["X-Error-Code"] = code
    if isinstance(exc, TakenDown):
        headers["X-Error-Message"] = "Access to this resource is disabled."
    elif isinstance(exc, InvalidToken):
        headers["X-Error-Message"] = "Invalid credentials in Authorization header"
    else:
        # header values must be latin-1 and single-line; user input may be neither
        headers["X-Error-Message"] = exc.message.encode("ascii", "backslashreplace").decode()[:300] \
            .replace("\r", " ").replace("\n", " ")
    if isinstance(exc, EntryNotFound) and exc.details.get("commit"):
        headers["X-Repo-Commit"] = exc.details["commit"]
    # browsers get the login page instead of a bare 401
    if isinstance(exc, Unauthorized) and "text/html" in request.headers.get("accept", "") \
            and not request.url.path.startswith("/api/"):
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    if wants_html(request):  # a person in a browser reads a page, not JSON
        response = error_page(request, request.app.state.hub, exc)
        response.headers.update(headers)
        return response
    body = {"error": exc.message, **exc.to_dict()}
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def invalid_request(exc: RequestValidationError) -> InvalidRequest:
    """FastAPI's validation errors in the hub's shape, naming each field."""
    problems = [f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}" for e in exc.errors()]
    return InvalidRequest("; ".join(problems)[:1000] or "the request is malformed",
                    hint="see the API docs at /docs for the expected fields")


def create_app(settings: Settings | None = None, hub: Hub | None = None) -> FastAPI:
    settings = settings or Settings()
    hub = hub or Hub(settings)
    relay = lifespan(hub.core, settings.nats_url, settings.nats_heartbeat_s) if settings.nats_url else None
    app = FastAPI(title="aperto hub", version="0.1.0", lifespan=relay,
                  description="A gated, Hugging-Face-compatible model hub. Weights already downloaded "
                              "cannot be recalled: takedowns and revocations stop future downloads only.")
    app.state.hub = hub
    app.state.settings = settings

    @app.exception_handler(ApertoError)
    async def _aperto_error(request: Request, exc: ApertoError):  # noqa: ANN202
        return error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):  # noqa: ANN202
        return error_response(request, invalid_request(exc))

    from aperto.hub.routes import access, admin, events, files, hf_api, hf_commit, usage, web, webhooks

    # the feed first: routes are matched in this order, and after a kill every gateway polls again at once
    for module in (events, hf_api, hf_commit, files, access, admin, usage, webhooks, web):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    metrics = install_metrics(app, hub)  # GET /metrics, requests and latency by route
    app.add_middleware(WebSecurity)  # CSRF for cookie sessions, CSP and friends on every answer
    # added last, so they run first: nothing parses a body before its size and depth are checked
    app.add_middleware(JsonDepth)
    app.add_middleware(HubBodyLimit, limit=settings.max_body_bytes, error=hub_error)
    app.add_middleware(CachedReads, hub=hub, metrics=metrics)  # cached model_info before all of it
    # outermost: an x-request-id on every answer, one log line each (successful reads at DEBUG)
    app.add_middleware(RequestId, logger="aperto.hub.requests", quiet_reads=True)
    return app
