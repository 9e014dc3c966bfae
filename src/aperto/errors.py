"""Typed errors, raised from one place and presented by the adapters.

Every error has a stable ``code`` (for JSON and HTTP bodies), an ``exit_code``
(for the CLI) and an ``http_status`` (for the services). ``hint`` tells the
user what to do about it.

Message and hint are English (the API, the CLI and logs show them). Given ``values``, they are
templates filled with them ("%(repo)s is gated"): ``msgid``, ``hint_msgid`` and ``values`` let the
web pages say them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ApertoError(Exception):
    code = "aperto_error"
    exit_code = 1
    http_status = 500

    def __init__(self, message: str, *, hint: str | None = None, values: Mapping[str, Any] | None = None,
                 **details: Any) -> None:
        self.msgid, self.hint_msgid, self.values = message, hint, dict(values or {})
        if self.values:
            message = message % self.values
            hint = hint % self.values if hint else hint
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = details

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            body["hint"] = self.hint
        if self.details:
            body["details"] = self.details
        return body


class BadInput(ApertoError):
    """The input could not be read: binary junk, empty file, broken GGUF, invalid YAML..."""

    code = "bad_input"
    exit_code = 3
    http_status = 400


class InvalidRequest(BadInput):
    """A request whose fields do not have the documented shape (HTTP 422, as FastAPI answers)."""

    code = "invalid_request"
    http_status = 422


class TooLarge(BadInput):
    code = "too_large"
    http_status = 413


class NotFound(ApertoError):
    code = "not_found"
    exit_code = 4
    http_status = 404


class UnknownLicense(NotFound):
    code = "unknown_license"


class InvalidData(ApertoError):
    """Data shipped with aperto (e.g. a licence data file) is malformed: a bug to fix, not user input."""

    code = "invalid_data"


class Unauthorized(ApertoError):
    code = "unauthorized"
    exit_code = 5
    http_status = 401


class Forbidden(ApertoError):
    code = "forbidden"
    exit_code = 5
    http_status = 403


class GatedAccess(Forbidden):
    code = "gated"


class TakenDown(Forbidden):
    code = "taken_down"


class PolicyDenied(Forbidden):
    code = "policy_denied"


class Conflict(ApertoError):
    code = "conflict"
    exit_code = 6
    http_status = 409


class Halted(ApertoError):
    """The kill switch is engaged for this model (or for everything)."""

    code = "model_halted"
    exit_code = 7
    http_status = 503


class Stale(ApertoError):
    """The gateway has not heard from its source of truth recently enough: fail closed."""

    code = "policy_stale"
    exit_code = 7
    http_status = 503


class Unavailable(ApertoError):
    code = "unavailable"
    exit_code = 8
    http_status = 503


# The huggingface_hub client reads these codes from the X-Error-Code header.
class RepoNotFound(NotFound):
    code = "repo_not_found"


class RevisionNotFound(NotFound):
    code = "revision_not_found"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class InvalidToken(Unauthorized):
    code = "invalid_token"
