"""FastAPI adapter over ``Gateway``: parse, call the library, present. Every error,
ours or the framework's, leaves in OpenAI's shape:
``{"error": {"message", "type", "code", "param"}}``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from aperto.config import Settings
from aperto.errors import ApertoError, BadInput, Stale
from aperto.gateway.backends import Backend, Chunk
from aperto.gateway.core import Gateway, UnknownModel
from aperto.gateway.metrics import install as install_metrics
from aperto.gateway.policy import InvalidApiKey, sha256
from aperto.gateway.request import body_schema
from aperto.gateway.stream import Stream
from aperto.gateway.wire import SEND_KEY, SocketWriter, sse
from aperto.limits import BodyLimit, BodyTooLarge, loads
from aperto.request_log import RequestId
from aperto.sse import line_event

TYPES = {401: "authentication_error", 403: "permission_error", 404: "invalid_request_error",
         429: "rate_limit_error", 503: "service_unavailable", 500: "server_error"}
STALE_RETRY_S = 5  # a stale policy usually comes back with the hub's next answer
log = logging.getLogger("aperto.gateway")


def openai_error(exc: ApertoError) -> dict[str, Any]:
    message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
    return {"error": {"message": message, "type": TYPES.get(exc.http_status, "invalid_request_error"),
                      "code": exc.code, "param": exc.details.get("param")}}


def retry_headers(exc: ApertoError) -> dict[str, str]:
    """Tell clients (the openai library reads both) whether to retry: only where waiting can help."""
    after = exc.details.get("retry_after")
    if after is None and isinstance(exc, Stale):
        after = STALE_RETRY_S
    if after is None:
        return {"x-should-retry": "false"}
    return {"x-should-retry": "true", "retry-after": str(after)}


def error_response(exc: ApertoError) -> JSONResponse:
    return JSONResponse(openai_error(exc), status_code=exc.http_status, headers=retry_headers(exc))


def too_large_body(status: int, message: str) -> dict[str, Any]:
    """BodyLimit's answer in OpenAI's shape."""
    err = BodyTooLarge(message) if status == 413 else BadInput(message)
    return openai_error(err)


def body_limit(settings: Settings) -> int:
    """Room for the longest prompt accepted even if every character is JSON-escaped, plus the rest."""
    return (1 << 20) + 8 * settings.max_prompt_chars


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def read_json(request: Request) -> Any:
    return loads(await request.body())


async def until_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStream(Response):
    """The SSE answer: each batch of chunks in one write, a kill or other stop as a final error
    event, then [DONE]. Leaner than StreamingResponse (no generator and task group between a
    chunk and the socket), and the client going away closes the stream, which stops the backend.
    Where it can, it lets the backend's thread write the chunks itself (gateway/wire.py)."""

    media_type = "text/event-stream"

    def __init__(self, first: list[Chunk] | None, chunks: Stream, gateway: Gateway) -> None:
        self.first, self.chunks, self.gateway = first, chunks, gateway
        self.status_code, self.background = 200, None
        self.init_headers({"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        gone = False

        def on_disconnect(watch: asyncio.Future[None]) -> None:
            nonlocal gone
            if not watch.cancelled():  # http.disconnect: stop waiting for the next chunk at once
                gone = True
                task.cancel()

        def unwatch() -> None:  # before the last write too: completing the response ends receive()
            watch.remove_done_callback(on_disconnect)
            watch.cancel()

        watch = asyncio.ensure_future(until_disconnect(receive))
        watch.add_done_callback(on_disconnect)
        chunks = self.chunks
        writer = SocketWriter.attach(scope) if self.gateway.direct_write else None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            try:
                batch = self.first
                while batch is not None:
                    await send({"type": "http.response.body", "body": b"".join(map(sse, batch)), "more_body": True})
                    if writer is not None:  # until it succeeds; a writer that gave up stays off (wire.py)
                        writer.divert(chunks)
                    batch = await anext(chunks, None)
                tail = line_event(b"[DONE]")
            except ApertoError as exc:  # kill, revocation, staleness, backend error mid-stream
                tail = sse(openai_error(exc)) + line_event(b"[DONE]")
            unwatch()
            if writer is not None:
                writer.close(chunks)  # the backend's thread has written its last: the tail goes after
            await send({"type": "http.response.body", "body": tail, "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            task.uncancel()  # our own cancel, for the client that left: this request is over, not the server
        finally:
            unwatch()
            if writer is not None:
                writer.close(chunks)
                self.gateway.direct_chunks += writer.sent
            await chunks.aclose()  # on disconnect too: the backend stops working for this client


class GatewayApp(FastAPI):
    """FastAPI that notes the server's own ``send`` in the scope before any middleware wraps it,
    so a stream can find its socket (gateway/wire.py)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope[SEND_KEY] = send
        await super().__call__(scope, receive, send)


def create_app(settings: Settings | None = None, backends: dict[str, Backend] | None = None) -> FastAPI:
    """Nothing happens until the app starts: then kill state is loaded, models too, and the feed begins."""
    gateway = Gateway(settings or Settings(), backends)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.close()

    app = GatewayApp(title="aperto gateway", lifespan=lifespan)
    app.state.gateway = gateway
    # outermost last: the id is on every answer, the size limit's 413 too
    app.add_middleware(BodyLimit, limit=body_limit(gateway.settings), error=too_large_body)
    install_metrics(app, gateway)  # inside RequestId: every answer is counted, with its id
    app.add_middleware(RequestId, logger="aperto.gateway")

    @app.exception_handler(ApertoError)
    async def on_aperto_error(request: Request, exc: ApertoError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(HTTPException)
    async def on_http_error(request: Request, exc: HTTPException) -> JSONResponse:
        err = ApertoError(str(exc.detail))
        err.http_status, err.code = exc.status_code, "not_found" if exc.status_code == 404 else "http_error"
        return error_response(err)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(BadInput(f"invalid request: {exc.errors()}"))

    @app.exception_handler(Exception)
    async def on_bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s: internal error", request.state.request_id)
        err = ApertoError(f"internal error: {type(exc).__name__} (request {request.state.request_id})")
        return error_response(err)

    @app.get("/healthz")
    async def healthz() -> dict[str, Any]:
        return {"status": "alive", "halted": gateway.status()["halted"]}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        status = gateway.status()
        return JSONResponse(status, status_code=200 if status["ready"] else 503)

    def usable_models(request: Request) -> list[str]:
        """The served models this caller may use (a halted one too: it is theirs when it resumes)."""
        stale = gateway.policy.stale()
        if stale:
            raise Stale(stale, hint="check the gateway's link to the hub (GET /readyz)")
        sha = sha256(bearer(request) or "")
        if gateway.policy.user(sha) is None:
            raise InvalidApiKey("invalid or missing API key", hint="present a hub token: Authorization: Bearer aperto_...")
        return [name for name in gateway.backends if gateway.policy.may_use(sha, name)]

    def model_card(name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": name.split("/")[0],
                "backend": gateway.backends[name].name}

    @app.get("/v1/models")
    async def models(request: Request) -> dict[str, Any]:
        return {"object": "list", "data": [model_card(name) for name in usable_models(request)]}

    @app.get("/v1/models/{model:path}")
    async def model(model: str, request: Request) -> dict[str, Any]:
        if model not in usable_models(request):
            raise UnknownModel(f"the model {model!r} does not exist or you have no access to it",
                               hint="GET /v1/models lists the ones you may use", param="model")
        return model_card(model)

    async def serve(route: str, request: Request) -> Response:
        body = await read_json(request)
        token = bearer(request)
        if not isinstance(body, dict):
            raise BadInput("the request body must be a JSON object")
        if body.get("stream"):
            chunks = gateway.open_stream(route, body, token)
            try:  # the first chunk decides the status code: errors before it are plain JSON errors
                first = await anext(chunks)
            except StopAsyncIteration:
                first = None
            return EventStream(first, chunks, gateway)
        work = asyncio.ensure_future(gateway.complete(route, body, token))
        gone = asyncio.ensure_future(until_disconnect(request.receive))
        try:
            await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not work.done():  # the client left: cancelling stops the backend for it
            work.cancel()
            return Response(status_code=499)
        return JSONResponse(work.result())

    @app.post("/v1/chat/completions", openapi_extra=body_schema("messages"))
    async def chat(request: Request) -> Response:
        return await serve("chat", request)

    @app.post("/v1/completions", openapi_extra=body_schema("prompt"))
    async def completions(request: Request) -> Response:
        return await serve("completions", request)

    async def admin_body(request: Request) -> tuple[str | None, dict[str, Any]]:
        """An admin call's body: an object whose 'repo' is a model's name, or null for everything."""
        gateway.admin(bearer(request))
        body = await read_json(request)
        if not isinstance(body, dict):
            raise BadInput("the request body must be a JSON object like {\"repo\": null}")
        repo = body.get("repo")
        if repo is not None and (not isinstance(repo, str) or not repo):
            raise BadInput("'repo' must be a model's name, or null for everything", param="repo")
        return repo, body

    @app.post("/admin/kill", openapi_extra=body_schema("reason"))
    async def admin_kill(request: Request) -> dict[str, Any]:
        repo, body = await admin_body(request)
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise BadInput("a non-empty 'reason' is required", param="reason")
        gateway.kill(repo, reason.strip())
        return {"halted": True, "repo": repo, "reason": reason.strip()}

    @app.post("/admin/resume", openapi_extra=body_schema())
    async def admin_resume(request: Request) -> dict[str, Any]:
        repo, _ = await admin_body(request)
        gateway.resume(repo)
        return {"halted": False, "repo": repo, "kills": gateway.status()["kills"]}

    return app
