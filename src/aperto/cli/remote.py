"""Talking to an aperto server (the hub or a gateway) from the CLI.

Every command that calls a server goes through here, so a closed port, a timeout or
an error body all become one typed error: one line naming the URL and what to do,
and the exit code errors.py gives that kind of failure. The hub answers errors as
``{"error", "code", "message", "hint"}``, a gateway in OpenAI's shape
``{"error": {"message", "type", "code"}}``; both are read here.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import httpx

from aperto import errors
from aperto.errors import ApertoError, Unavailable

BY_STATUS: dict[int, type[ApertoError]] = {
    400: errors.BadInput, 401: errors.Unauthorized, 403: errors.Forbidden, 404: errors.NotFound,
    409: errors.Conflict, 413: errors.TooLarge, 422: errors.BadInput, 503: errors.Unavailable,
}
HINT_BY_STATUS = {
    401: "pass --token, set APERTO_TOKEN or HF_TOKEN, or run `aperto login`",
    403: "use a token with the needed scope (see `aperto token create --scopes`)",
}


def _by_code() -> dict[str, type[ApertoError]]:
    found: dict[str, type[ApertoError]] = {}
    pending: list[type[ApertoError]] = [ApertoError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def _read_body(response: httpx.Response) -> tuple[str | None, str, str | None]:
    """(code, message, hint) from either server's error body, or from the raw text."""
    try:
        body = response.json()
    except ValueError:
        text = " ".join(response.text.split())[:300]
        return None, text or response.reason_phrase, None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):  # a gateway: OpenAI's shape
            return err.get("code"), str(err.get("message") or err), None
        if "message" in body or "code" in body:  # the hub
            return body.get("code"), str(body.get("message") or err or ""), body.get("hint")
        if "detail" in body:  # a framework error with no aperto body
            return None, str(body["detail"])[:300], None
    return None, str(body)[:300], None


# the hub's words when a token lacks a scope (aperto.hub.auth.need)
LACKS_SCOPE = re.compile(r"lacks the '([a-z_]+)' scope")


def scope_hint(message: str) -> str | None:
    """What to do about a missing scope: the command that makes a token with it."""
    found = LACKS_SCOPE.search(message)
    if found is None:
        return None
    scope = found.group(1)
    return (f"an operator can make one with `aperto token create USER --scopes {scope}`; "
            f"then pass it with --token or `aperto login`")


def error_from(response: httpx.Response) -> ApertoError:
    """The typed error an HTTP error answer stands for."""
    code, message, hint = _read_body(response)
    if response.status_code == 403:
        hint = scope_hint(message) or hint
    cls = _by_code().get(code or "") or BY_STATUS.get(response.status_code, ApertoError)
    url = str(response.request.url) if response.request else "the server"
    return cls(f"{url} answered {response.status_code}: {message}",
               hint=hint or HINT_BY_STATUS.get(response.status_code))


def check(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise error_from(response)
    return response


@contextlib.contextmanager
def reaching(url: str, what: str, hint: str) -> Iterator[None]:
    """Turn transport failures while talking to ``url`` into Unavailable, naming it and what to do."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise Unavailable(f"{what} at {url} did not answer in time ({type(exc).__name__})", hint=hint) from exc
    except httpx.TransportError as exc:
        raise Unavailable(f"cannot reach {what} at {url}: {exc or type(exc).__name__}", hint=hint) from exc
    except httpx.InvalidURL as exc:
        raise errors.BadInput(f"{url} is not a usable URL: {exc}", hint=hint) from exc


def hub_hint(option: str) -> str:
    return f"is the hub running? start it with `aperto up` or `aperto hub`, or pass {option}"


GATEWAY_HINT = "is the gateway running? start it with `aperto up` or `aperto gateway`, or pass --base-url"


def request(method: str, url: str, *, what: str, hint: str, timeout: float = 30.0, **kwargs: Any) -> httpx.Response:
    """One request; any failure becomes a typed error."""
    with reaching(url, what, hint):
        return check(httpx.request(method, url, timeout=timeout, **kwargs))
