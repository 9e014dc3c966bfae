"""Browser protections, applied to every request in one ASGI middleware.

* A state change (any method but GET/HEAD/OPTIONS) authenticated by the session cookie
  needs the session's CSRF token (``X-CSRF-Token`` header or ``csrf`` form field) and an
  Origin (else Referer) naming this host. Cookies are not port-scoped, so SameSite alone
  would let a page on another port of the same host act as the signed-in user.
* Bearer-token calls (CLI, huggingface_hub, openai) are untouched: another site cannot
  make a browser send an Authorization header.
* Every response carries a CSP without inline script and framing, nosniff and a
  same-origin Referrer-Policy; a legacy cookie that held a raw token is erased.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aperto.errors import Forbidden, TooLarge
from aperto.hub.sessions import csrf_for

SESSION_COOKIE = "aperto_session"
LOGIN_COOKIE = "aperto_login"
LEGACY_COOKIE = "aperto_token"  # held the raw API token before sessions existed
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_FORM = 1024 * 1024  # a form read here to find its csrf field; larger bodies send the header
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def has_bearer(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return auth.lower().startswith("bearer ") and bool(auth[7:].strip())


def same_origin(request: Request) -> bool:
    """Origin, else Referer, names the host this request was sent to (port included)."""
    host = request.headers.get("host", "").lower()
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    if not host or not source or source == "null":
        return False
    return urlsplit(source).netloc.lower() == host


def refuse(message: str, hint: str, status: int = 403) -> JSONResponse:
    exc = TooLarge(message, hint=hint) if status == 413 else Forbidden(message, hint=hint)
    return JSONResponse({"error": exc.message, **exc.to_dict()}, status_code=exc.http_status,
                        headers={"X-Error-Message": message})


class WebSecurity:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        legacy = LEGACY_COOKIE in request.cookies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in present]
                if legacy:
                    headers.append((b"set-cookie", f"{LEGACY_COOKIE}=; Max-Age=0; Path=/; HttpOnly".encode()))
                message = {**message, "headers": headers}
            await send(message)

        session = request.cookies.get(SESSION_COOKIE)
        # /login checks its own pre-session token; bearer calls and anonymous ones pass
        if scope["method"] in SAFE_METHODS or has_bearer(request) or not session or scope["path"] == "/login":
            await self.app(scope, receive, send_with_headers)
            return
        if not same_origin(request):
            await refuse("refused: this request came from another site (its Origin is not this hub)",
                         "use the hub's own pages, or call the API with Authorization: Bearer <token>"
                         )(scope, receive, send_with_headers)
            return
        given = request.headers.get("x-csrf-token", "")
        downstream = receive
        if not given and request.headers.get("content-type", "").startswith(FORM_TYPES):
            body, too_big = await read_body(receive)
            if too_big:
                await refuse("this form is too large to check for its CSRF token",
                             "send the token in the X-CSRF-Token header", 413)(scope, receive, send_with_headers)
                return
            given = await form_field(scope, body)
            downstream = replay(body, receive)
        if not hmac.compare_digest(given.encode(), csrf_for(session).encode()):
            await refuse("refused: missing or wrong CSRF token for this signed-in session",
                         "reload the page and try again; scripts send the X-CSRF-Token header, forms a csrf field"
                         )(scope, receive, send_with_headers)
            return
        await self.app(scope, downstream, send_with_headers)


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_FORM:
            return b"", True
        if not message.get("more_body"):
            return b"".join(chunks), False


async def form_field(scope: Scope, body: bytes) -> str:
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, once).form()
    except Exception:  # an unreadable form has no token: refused below, never a 500
        return ""
    value = form.get("csrf")
    return value if isinstance(value, str) else ""


def replay(body: bytes, receive: Receive) -> Receive:
    """The route reads the same body again; after it, the real channel (disconnects)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
